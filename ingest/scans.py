"""Scanned documents: the pages of a PDF without a usable text layer, and image files.

PDF pages are rendered with pypdfium2 (PDFium, the renderer of Chrome: fast, and a wheel without
system libraries); images are opened with Pillow, multi-page TIFFs frame by frame. Each page is
read by :mod:`ingest.ocr` and becomes a :class:`~ingest.document.Segment` with its page
number, marked machine-read, with Tesseract's confidence. Limits (pages, pixels) are checked
before anything is decoded, so a 5,000-page scan or a decompression bomb is refused with a
message, not with an out-of-memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tqdm import tqdm

from assistant.core.errors import DocumentError
from assistant.core.i18n import _
from ingest import ocr
from ingest.document import Segment, title_from_filename

if TYPE_CHECKING:
    from PIL import Image

T = TypeVar("T")


def ocr_pdf_pages(
    path: Path, pages: Sequence[int], settings: ocr.OcrSettings
) -> dict[int, ocr.PageText]:
    """OCR the given 1-based pages of a PDF; the others keep their text layer."""
    import pypdfium2 as pdfium

    ocr.require(path, settings, len(pages))
    digest = _digest(path)
    results: dict[int, ocr.PageText] = {}
    todo = []
    for number in pages:
        hit = ocr.cached(ocr.page_key(digest, number, settings), settings)
        if hit is not None:
            results[number] = hit
        else:
            todo.append(number)
    if not todo:
        return results
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise DocumentError(
            path,
            _("the scanned PDF cannot be rendered for OCR ({error})").format(error=exc),
            hint=_("The file may be damaged; export or scan it again."),
        ) from exc
    try:
        with ocr.Reader(settings) as reader:
            for number in _progress(todo, path, settings):
                page = document[number - 1]
                try:
                    width, height = page.get_size()  # in points, 1/72 inch
                    scale = settings.dpi / 72
                    size = (int(width * scale), int(height * scale))
                    ocr.check_pixels(path, size, settings, number)
                    image = page.render(scale=scale, grayscale=True).to_pil()
                finally:
                    page.close()
                results[number] = _read(reader, path, number, image, digest, settings)
    finally:
        document.close()
    return results


def load_image(path: Path, settings: ocr.OcrSettings) -> tuple[str, list[Segment], ocr.OcrWork]:
    """OCR an image file (each frame of a multi-page TIFF is a page): title, segments, cost."""
    from PIL import Image as PILImage

    digest = _digest(path)
    segments: list[Segment] = []
    work = ocr.OcrWork()
    with _opened(path) as image, ocr.Reader(settings) as reader:
        frames = getattr(image, "n_frames", 1)
        ocr.require(path, settings, frames)
        for number in _progress(range(1, frames + 1), path, settings):
            hit = ocr.cached(ocr.page_key(digest, number, settings), settings)
            if hit is None:
                try:
                    image.seek(number - 1)
                    ocr.check_pixels(path, image.size, settings, number)
                    frame = image.copy()  # decodes this frame only
                except (OSError, ValueError, EOFError, PILImage.DecompressionBombError) as exc:
                    raise _unreadable(path, exc) from exc
                hit = _read(reader, path, number, frame, digest, settings)
            work += hit
            segments.append(_segment(number, hit))
    return title_from_filename(path), segments, work


def pdf_segment(number: int, page: ocr.PageText) -> Segment:
    """The segment of an OCR'd PDF page."""
    return _segment(number, page)


def _segment(number: int, page: ocr.PageText) -> Segment:
    return Segment(text=page.text, page=number, machine_read=True, confidence=page.confidence)


def _read(
    reader: ocr.Reader,
    path: Path,
    number: int,
    image: Image.Image,
    digest: str,
    settings: ocr.OcrSettings,
) -> ocr.PageText:
    try:
        return reader.read(image, key=ocr.page_key(digest, number, settings))
    except ocr.OcrFailed as exc:
        raise DocumentError(
            path,
            _("OCR failed on page {page}: {error}").format(page=number, error=exc),
            hint=_("Check that the file opens in an image viewer; scan it again if not."),
        ) from exc


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    # ``open`` reads only the header; our own limit is checked per frame before decoding
    # (``ocr.check_pixels``). Pillow's bomb check stays on as a second line.
    try:
        image = PILImage.open(path)
    except PILImage.DecompressionBombError as exc:
        limit = 2 * (PILImage.MAX_IMAGE_PIXELS or 0) / 1e6
        raise DocumentError(
            path,
            _("the image is over {limit:.0f} megapixels (a decompression bomb or a poster)").format(
                limit=limit
            ),
            hint=_("Check where the file came from; scan it again at 300 DPI."),
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    try:
        yield image
    finally:
        image.close()


def _unreadable(path: Path, exc: BaseException) -> DocumentError:
    return DocumentError(
        path,
        _("not a readable image ({kind}: {error})").format(
            kind=type(exc).__name__, error=str(exc)[:120]
        ),
        hint=_("The file may be truncated or damaged; scan or export it again."),
    )


def _progress(items: Sequence[T], path: Path, settings: ocr.OcrSettings) -> Iterator[T]:
    bar: Callable[..., Iterator[T]] = tqdm
    yield from bar(
        items,
        desc=_("OCR {name}").format(name=path.name[:40]),
        unit=_("page"),
        leave=False,
        disable=not settings.progress,
    )


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
