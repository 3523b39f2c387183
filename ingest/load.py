"""Load a file into text segments, by its format: PDF (OCR for scanned pages), DOCX, HTML,
Markdown, plain text, OpenDocument, e-mail and images (OCR).

Each loader (``pdf.py``, ``textfiles.py``, ``odf.py``, ``mail.py``, ``scans.py``) returns the
document as a sequence of :class:`~ingest.document.Segment` s (a PDF page, a paragraph, a
heading), so that later stages can keep page numbers and headings. Every failure is translated
into a :class:`~assistant.core.errors.DocumentError` that names the file, the reason and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assistant.core.errors import DocumentError, UnsupportedFormatError
from assistant.core.i18n import N_, _
from ingest.document import (
    Attachment,
    LoadedDocument,
    Segment,
    check_size,
    title_from_filename,
)
from ingest.mail import load_eml, load_msg
from ingest.ocr import OcrSettings, OcrWork
from ingest.odf import load_odf
from ingest.pdf import load_pdf
from ingest.scans import load_image
from ingest.textfiles import load_docx, load_html, load_markdown, load_text

__all__ = [
    "FORMATS",
    "LOADER_VERSION",
    "Attachment",
    "LoadedDocument",
    "Segment",
    "check_size",
    "load_document",
    "supported_suffixes",
    "title_from_filename",
]

#: Part of every document's content key: 2 reads scanned PDF pages by OCR (they were empty).
LOADER_VERSION = "2"
#: File suffix -> format name.
FORMATS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".odt": "odf",
    ".ods": "odf",
    ".odp": "odf",
    ".eml": "email",
    ".msg": "email",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
_HINTS: dict[str, str] = {
    ".doc": N_("Save it as .docx (Word: File > Save As) and ingest that file."),
    ".rtf": N_("Save it as .docx or .txt and ingest that file."),
    ".xlsx": N_("Save it as .ods or .pdf and ingest that file."),
    ".pptx": N_("Save it as .odp or .pdf and ingest that file."),
}


def supported_suffixes() -> list[str]:
    """File suffixes ingestion accepts, for messages and file pickers."""
    return sorted(FORMATS)


def load_document(path: Path, *, max_bytes: int, ocr: OcrSettings | None = None) -> LoadedDocument:
    """Read ``path`` into segments; raise DocumentError with the reason when it cannot be read.

    ``ocr``: how scanned pages and images are read (default: ``OcrSettings()``, no cache).
    """
    ocr = ocr or OcrSettings()
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        hint = _HINTS.get(suffix)
        raise UnsupportedFormatError(
            path,
            _("unsupported file type {suffix!r}").format(suffix=suffix or _("(no suffix)")),
            hint=_(hint)
            if hint
            else _("Supported types: {suffixes}.").format(suffixes=", ".join(supported_suffixes())),
        )
    check_size(path, max_bytes)
    if fmt == "email":
        loaded = (load_msg if suffix == ".msg" else load_eml)(path, max_bytes)
        _require_text(path, loaded.segments, fmt)
        return loaded
    work = OcrWork()
    if fmt == "pdf":
        title, segments, work = load_pdf(path, ocr)
    elif fmt == "image":
        title, segments, work = load_image(path, ocr)
    else:
        loader = {
            "docx": load_docx,
            "html": load_html,
            "markdown": load_markdown,
            "text": load_text,
            "odf": load_odf,
        }[fmt]
        title, segments = loader(path, max_bytes)
    _require_text(path, segments, fmt)
    return LoadedDocument(
        path=path,
        format=fmt,
        title=title,
        segments=tuple(segments),
        ocr_read=work.read,
        ocr_seconds=work.seconds,
    )


def _require_text(path: Path, segments: Sequence[Segment], fmt: str) -> None:
    if any(s.text.strip() for s in segments):
        return
    if fmt == "image" or any(s.machine_read for s in segments):
        raise DocumentError(
            path,
            _("OCR found no text on the page(s): a photo, a drawing or a blank scan"),
            hint=_("Nothing to index; if it does hold text, scan it again at 300 DPI."),
        )
    raise DocumentError(path, _("no text found in the file"), hint=_("Check that it is not blank."))
