"""Entry point for staff: ``python app.py``.

The Gradio chat UI is the next step; until it lands this entry point checks the configuration
and the index and points to the command-line interface, ``python -m assistant ask``.
"""

from __future__ import annotations

import sys

from assistant import _runtime_env  # noqa: F401  (environment before heavy imports)
from assistant.errors import AssistantError
from assistant.settings import load_settings
from ingest.manifest import Manifest


def main() -> int:
    try:
        settings = load_settings()
        manifest = Manifest.load(settings.index_dir / "manifest.json")
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Index in {settings.index_dir}: {len(manifest.documents)} documents, "
        f"{len(manifest.chunk_ids())} chunks (settings {settings.hash()})."
    )
    print(
        "The chat interface is not available yet; ask on the command line with\n"
        '  python -m assistant ask "uw vraag"'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
