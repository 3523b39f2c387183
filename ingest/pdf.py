"""PDF: pypdf for the text layer (llama-index's ``PDFReader`` is a thin wrapper over it that
retries corrupt files three times and cannot decrypt or report a missing text layer), and OCR for
the pages that have none (``ingest/scans.py``)."""

from __future__ import annotations

from pathlib import Path

from assistant.core.errors import DocumentError
from assistant.core.i18n import _
from ingest.document import Segment, title_from_filename
from ingest.ocr import OcrSettings, OcrWork

#: A page with fewer visible characters than this in its text layer is treated as scanned.
_MIN_TEXT_CHARACTERS = 20


def load_pdf(path: Path, ocr: OcrSettings) -> tuple[str, list[Segment], OcrWork]:
    """The pages of a PDF: the text layer where it is usable, OCR where it is not (scans)."""
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to restrict printing.
            try:
                unlocked = reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for unsupported ciphers
                raise _encrypted(path) from exc
            if not unlocked:
                raise _encrypted(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        scanned = [
            number
            for number, (page, text) in enumerate(zip(reader.pages, pages, strict=True), start=1)
            if _needs_ocr(text) and _has_images(page)
        ]
        meta_title = reader.metadata.title if reader.metadata else None
    except DocumentError:
        raise
    except FileNotDecryptedError as exc:
        raise _encrypted(path) from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise DocumentError(
            path,
            _("not a readable PDF ({kind}: {error})").format(kind=type(exc).__name__, error=exc),
            hint=_("The file may be truncated or damaged; export it again from the source."),
        ) from exc
    segments = [Segment(text=text, page=number) for number, text in enumerate(pages, start=1)]
    work = OcrWork()
    if scanned:
        # Only the pages without a usable text layer are read by OCR: a typed page's own text
        # is exact, OCR's is a reading of it.
        from ingest.scans import ocr_pdf_pages, pdf_segment

        for number, page in ocr_pdf_pages(path, scanned, ocr).items():
            segments[number - 1] = pdf_segment(number, page)
            work += page
    title = str(meta_title).strip() if meta_title and str(meta_title).strip() else None
    return title or title_from_filename(path), segments, work


def _needs_ocr(text: str) -> bool:
    """Has a PDF page no usable text layer (blank, or a scan with at most a stray mark)?"""
    return sum(1 for ch in text if not ch.isspace()) < _MIN_TEXT_CHARACTERS


def _has_images(page: object) -> bool:
    """Does the page hold an image (a scan)? A page of only vector graphics has nothing to OCR."""
    try:
        return len(page.images) > 0  # type: ignore[attr-defined]
    except Exception:  # pypdf raises many types on odd image streams: then try OCR anyway
        return True


def _encrypted(path: Path) -> DocumentError:
    return DocumentError(
        path,
        _("the PDF is encrypted (password protected)"),
        hint=_(
            "Remove the password (open it and print or export to a new PDF), then ingest again."
        ),
    )
