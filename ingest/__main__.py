"""Command line: ``python -m ingest [PATH ...] [--prune] [--rebuild] [--status]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import load_settings
from assistant.index.layout import IndexLayout
from assistant.index.manifest import Manifest
from ingest.load import supported_suffixes
from ingest.pipeline import ingest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add documents to the index (incremental: unchanged files are skipped). "
        f"Supported: {', '.join(supported_suffixes())}.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="Files or folders to ingest (default: the corpus folder; then removed files are "
        "pruned too).",
    )
    parser.add_argument(
        "--prune", action="store_true", help="Remove documents whose file no longer exists."
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="Delete the index and build it anew (needed after changing embedding or chunking).",
    )
    parser.add_argument("--status", action="store_true", help="List the indexed documents.")
    parser.add_argument("--quiet", action="store_true", help="No progress bars.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        settings = load_settings()
        if args.status:
            return _print_status(Manifest.load(IndexLayout(settings.index_dir).manifest))
        report = ingest(
            args.paths or None,
            settings=settings,
            prune=args.prune,
            rebuild=args.rebuild,
            progress=not args.quiet,
        )
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted: run the same command again to finish (nothing is lost).", file=sys.stderr
        )
        return 130
    print(report.summary())
    return 0 if report.ok else 1


def _print_status(manifest: Manifest) -> int:
    if not manifest.documents:
        print("The index is empty. Run `python -m ingest` to add the corpus.")
        return 0
    print(f"{len(manifest.documents)} documents, {len(manifest.chunk_ids())} chunks")
    for record in sorted(manifest.documents.values(), key=lambda r: r.title.lower()):
        pages = f", {record.pages} pages" if record.pages else ""
        print(
            f"- {record.title} ({Path(record.source).name}; {len(record.chunk_ids)} chunks"
            f"{pages}; ingested {record.ingested_at})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
