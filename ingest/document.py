"""A file as read from disk, before cleaning: its segments (pages, paragraphs, headings), and
what every format's loader shares (the title from a file name, the size check)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import DocumentError
from assistant.core.i18n import _

#: A zip container (DOCX, OpenDocument) may expand to at most this many times the size limit.
ZIP_EXPANSION_LIMIT = 20
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[-_ ]+")


@dataclass(frozen=True)
class Segment:
    """A piece of a document: a page of a PDF, or a block (paragraph, heading) of other formats."""

    text: str
    page: int | None = None
    heading_level: int | None = None
    #: The text was read by OCR from an image of the page, not taken from a text layer.
    machine_read: bool = False
    #: Tesseract's mean word confidence (0-100) for a machine-read page.
    confidence: float | None = None


@dataclass(frozen=True)
class Attachment:
    """A file attached to an e-mail: ingested as a document of its own, linked to the message."""

    name: str
    data: bytes


@dataclass(frozen=True)
class LoadedDocument:
    """A file as read from disk, before cleaning."""

    path: Path
    format: str
    title: str
    segments: tuple[Segment, ...]
    #: Labelled facts about the document shown with its quotes, such as an e-mail's
    #: ("Van", "A <a@x.nl>"), ("Aan", ...), ("Datum", "12 maart 2024").
    details: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    #: Pages Tesseract read in this load (not taken from the OCR cache), and its seconds.
    ocr_read: int = 0
    ocr_seconds: float = 0.0

    @property
    def machine_read_pages(self) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.machine_read)


def title_from_filename(path: Path) -> str:
    """A readable title from a file name: ``2024-06-12-brief-x.txt`` -> ``Brief x``."""
    stem = _DATE_PREFIX.sub("", path.stem)
    words = re.sub(r"[-_]+", " ", stem).strip() or path.stem
    return words[:1].upper() + words[1:]


def check_size(path: Path, max_bytes: int) -> int:
    """The file's size; DocumentError when it is empty, unreadable or over the limit."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        reason = _("cannot read the file ({reason})").format(reason=exc.strerror)
        raise DocumentError(path, reason) from exc
    if size == 0:
        raise DocumentError(
            path, _("the file is empty (0 bytes)"), hint=_("Check the export or copy.")
        )
    if size > max_bytes:
        raise DocumentError(
            path,
            _("the file is {size:.1f} MiB, over the limit of {limit:.1f} MiB").format(
                size=size / 2**20, limit=max_bytes / 2**20
            ),
            hint=_("Split the file, or raise ASSISTANT_MAX_FILE_MB."),
        )
    return size
