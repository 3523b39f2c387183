"""Command line: ``python -m ingest [PATH ...] [--prune] [--rebuild] [--status]``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.commandline import activate_interface_language
from assistant.core.commandline import parser as command_parser
from assistant.core.errors import AssistantError
from assistant.core.i18n import _, ngettext
from assistant.core.settings import load_settings
from assistant.index.layout import IndexLayout
from assistant.index.manifest import Manifest
from ingest.load import supported_suffixes
from ingest.pipeline import ingest


def main(argv: list[str] | None = None, *, prog: str = "python -m ingest") -> int:
    # First, so that the help texts below are already in the configured language (.env too).
    activate_interface_language()
    parser = command_parser(
        prog,
        _(
            "Add documents to the index (incremental: unchanged files are skipped).\n"
            "Supported: {suffixes}."
        ).format(suffixes=", ".join(supported_suffixes())),
        _(
            "examples:\n"
            "  {prog}                         the corpus folder; removed files are pruned\n"
            "  {prog} ~/Documenten/nota.pdf   add single files or folders\n"
            "  {prog} --prune                 also drop documents whose file is gone\n"
            "  {prog} --rebuild               start over (after changing embedding/chunking)\n"
            "  {prog} --status                what is in the index\n"
            "\n"
            "Interrupting is safe: run the same command again to finish."
        ).format(prog=prog),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar=_("path"),
        help=_(
            "Files or folders to ingest (default: the corpus folder; then removed files are "
            "pruned too)."
        ),
    )
    parser.add_argument(
        "--prune", action="store_true", help=_("Remove documents whose file no longer exists.")
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help=_("Delete the index and build it anew (needed after changing embedding or chunking)."),
    )
    parser.add_argument("--status", action="store_true", help=_("List the indexed documents."))
    parser.add_argument("--quiet", action="store_true", help=_("No progress bars."))
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
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            _("interrupted: run the same command again to finish (nothing is lost)."),
            file=sys.stderr,
        )
        return 130
    print(report.summary())
    return 0 if report.ok else 1


def _print_status(manifest: Manifest) -> int:
    if not manifest.documents:
        print(_("The index is empty. Run `python -m ingest` to add the corpus."))
        return 0
    documents, chunks = len(manifest.documents), len(manifest.chunk_ids())
    print(
        _("{documents}, {chunks}").format(
            documents=ngettext("{n} document", "{n} documents", documents).format(n=documents),
            chunks=ngettext("{n} chunk", "{n} chunks", chunks).format(n=chunks),
        )
    )
    for record in sorted(manifest.documents.values(), key=lambda r: r.title.lower()):
        count = len(record.chunk_ids)
        fields = {
            "title": record.title,
            "file": Path(record.source).name,
            "chunks": ngettext("{n} chunk", "{n} chunks", count).format(n=count),
            "ingested_at": record.ingested_at,
        }
        if record.pages:
            pages = ngettext("{n} page", "{n} pages", record.pages).format(n=record.pages)
            line = _("- {title} ({file}; {chunks}, {pages}; ingested {ingested_at})").format(
                pages=pages, **fields
            )
        else:
            line = _("- {title} ({file}; {chunks}; ingested {ingested_at})").format(**fields)
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
