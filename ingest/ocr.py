"""OCR for scanned pages and images: Tesseract with its Dutch and English models.

Engine: Tesseract in-process through ``tesserocr`` (its wheel carries Tesseract 5.5 and Leptonica,
so no compiler and no system library is needed); the language data comes from the operating
system's packages (Debian/Ubuntu: ``tesseract-ocr-nld``, ``tesseract-ocr-eng``), so it is
installed and updated like any other package. Measured in ``benchmarks/ocr.py`` against the
system's ``tesseract`` 5.3 program through ``pytesseract``, on 20 pages at 300 DPI: about the same
error rate (CER 0.15% against 0.11%, the difference one condensed-font page), and 1.2 s a page
against 5.7 s with the program's default OpenMP threads (they fight over 2 busy cores) or 1.7 s
with one thread (a process, a PNG and the models' load for every page).

Every page's text is cached by content (the file's SHA-256, the page, the resolution, the
languages and the engine's version) under the data folder, so an unchanged scanned file is never
read twice: not after a re-index with a new cleaner, not after a run killed halfway through.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from assistant.core.errors import DocumentError
from assistant.core.i18n import _

if TYPE_CHECKING:
    from PIL import Image

#: What to run when Tesseract's language data is missing (Debian, Ubuntu).
INSTALL_COMMAND = "sudo apt install tesseract-ocr-nld tesseract-ocr-eng"
#: Where the operating systems put Tesseract's language data (``TESSDATA_PREFIX`` goes first).
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)
_CACHE_VERSION = 2


@dataclass(frozen=True)
class OcrSettings:
    """How pages are read; from :class:`assistant.core.settings.Settings` (``ocr_*``)."""

    language: str = "nld+eng"
    dpi: int = 300
    #: Pages of one document that may be OCR'd; a larger scan is refused, not half read.
    max_pages: int = 500
    #: Pixels of one page image; a larger image (a decompression bomb, a poster) is refused.
    max_pixels: int = 60_000_000
    #: Pages whose mean word confidence is under this are named in the ingest summary.
    min_confidence: float = 70.0
    cache_dir: Path | None = None
    #: Tesseract's language data folder; None: ``TESSDATA_PREFIX``, then ``TESSDATA_DIRS``.
    tessdata_dir: Path | None = None
    #: Show a progress bar per page.
    progress: bool = False


@dataclass(frozen=True)
class PageText:
    """The text Tesseract read from one page image."""

    text: str
    #: Mean word confidence, 0-100 (0 when no word was found).
    confidence: float
    seconds: float
    cached: bool = False


@dataclass(frozen=True)
class OcrWork:
    """What OCR cost one document: pages Tesseract read (not from the cache), and seconds."""

    read: int = 0
    seconds: float = 0.0

    def __add__(self, page: PageText) -> OcrWork:
        if page.cached:
            return self
        return OcrWork(self.read + 1, self.seconds + page.seconds)


def tessdata(settings: OcrSettings) -> Path | None:
    """The language data folder that holds every language of ``settings.language``."""
    wanted = set(settings.language.split("+"))
    if settings.tessdata_dir is not None:
        folders = [settings.tessdata_dir]
    else:
        prefix = os.environ.get("TESSDATA_PREFIX")
        folders = [Path(p) for p in ([prefix] if prefix else []) + list(TESSDATA_DIRS)]
    for folder in folders:
        if wanted <= _languages(str(folder)):
            return folder
    return None


def unavailable_reason(settings: OcrSettings) -> str | None:
    """Why OCR in ``settings.language`` (``nld+eng``) cannot run here, or None when it can."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return _("the OCR engine (the Python package tesserocr) is not installed")
    if tessdata(settings) is None:
        where = settings.tessdata_dir or _("the usual folders")
        names = ", ".join(settings.language.split("+"))
        return _(
            "Tesseract's language data for {names} is not installed (looked in {where})"
        ).format(names=names, where=where)
    return None


def install_hint(settings: OcrSettings) -> str:
    """The install command for the data of ``settings.language``."""
    extra = [
        f"tesseract-ocr-{code}"
        for code in settings.language.split("+")
        if code not in ("nld", "eng")
    ]
    command = " ".join([INSTALL_COMMAND, *extra])
    return _(
        "Install it: `{command}` (or point ASSISTANT_OCR_TESSDATA_DIR at a tessdata folder), "
        "then ingest again. Other files are not affected."
    ).format(command=command)


def require(path: Path, settings: OcrSettings, pages: int) -> None:
    """Raise DocumentError when the scanned ``path`` cannot be OCR'd here (engine, limits)."""
    reason = unavailable_reason(settings)
    if reason is not None:
        raise DocumentError(
            path,
            _("{pages} page(s) need OCR (no text layer), but {reason}").format(
                pages=pages, reason=reason
            ),
            hint=install_hint(settings),
        )
    if pages > settings.max_pages:
        raise DocumentError(
            path,
            _("{pages} pages need OCR, over the limit of {limit} per document").format(
                pages=pages, limit=settings.max_pages
            ),
            hint=_("Split the scan into smaller files, or raise ASSISTANT_OCR_MAX_PAGES."),
        )


def check_pixels(path: Path, size: tuple[int, int], settings: OcrSettings, page: int) -> None:
    """Refuse an image too large to read safely (decompression bombs decode to gigabytes)."""
    pixels = size[0] * size[1]
    if pixels > settings.max_pixels:
        raise DocumentError(
            path,
            _(
                "page {page} is {width}x{height} pixels ({megapixels:.0f} megapixels), "
                "over the limit of {limit:.0f}"
            ).format(
                page=page,
                width=size[0],
                height=size[1],
                megapixels=pixels / 1e6,
                limit=settings.max_pixels / 1e6,
            ),
            hint=_("Check where the file came from; scan it again at 300 DPI."),
        )


def page_key(digest: str, page: int, settings: OcrSettings) -> str:
    """The cache key of one page of a file (``digest``: the file's SHA-256)."""
    parts = f"{_CACHE_VERSION}|{engine_version()}|{settings.language}|{settings.dpi}|{page}|"
    return hashlib.sha256(parts.encode() + digest.encode()).hexdigest()


def cached(key: str, settings: OcrSettings) -> PageText | None:
    path = _cache_file(key, settings)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PageText(data["text"], float(data["confidence"]), 0.0, cached=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or cut off by a kill: read the page again


class Reader:
    """Tesseract, loaded once for the pages of one document (loading the models takes a tenth
    of a second; one instance is not safe for several threads at once)."""

    def __init__(self, settings: OcrSettings) -> None:
        self._settings = settings
        self._api: Any = None

    def read(self, image: Image.Image, *, key: str | None = None) -> PageText:
        """OCR one page image (and cache its text under ``key``)."""
        started = time.perf_counter()
        try:
            api = self._started()
            api.SetImage(_prepared(image))
            text = api.GetUTF8Text()
            confidences = api.AllWordConfidences()
        except (RuntimeError, ValueError, OSError) as exc:
            raise OcrFailed(str(exc).strip() or type(exc).__name__) from exc
        mean = round(sum(confidences) / len(confidences), 1) if confidences else 0.0
        page = PageText(_tidy(text), mean, time.perf_counter() - started)
        if key is not None:
            _store(key, page, self._settings)
        return page

    def _started(self) -> Any:
        if self._api is None:
            import tesserocr

            folder = tessdata(self._settings)
            if folder is None:
                raise OcrFailed(unavailable_reason(self._settings) or _("no language data"))
            # psm AUTO: page segmentation without orientation detection (scans come upright).
            self._api = tesserocr.PyTessBaseAPI(
                path=f"{folder}/", lang=self._settings.language, psm=tesserocr.PSM.AUTO
            )
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.End()
            self._api = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class OcrFailed(Exception):
    """Tesseract failed on a page image (the caller names the file and page)."""


@functools.cache
def engine_version() -> str:
    """Tesseract's version (part of the cache key: a new engine reads pages again)."""
    try:
        import tesserocr
    except ImportError:
        return "unknown"
    return str(tesserocr.tesseract_version()).splitlines()[0].strip()


def _languages(folder: str) -> frozenset[str]:
    path = Path(folder)
    if not path.is_dir():
        return frozenset()
    return frozenset(p.stem for p in path.glob("*.traineddata"))


def _prepared(image: Image.Image) -> Image.Image:
    """Grey, on white: transparent areas of a PNG would otherwise read as black."""
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = PILImage.new("RGBA", image.size, "white")
        image = PILImage.alpha_composite(background, image)
    return image.convert("L")


def _tidy(text: str) -> str:
    """Tesseract's text: lines, a blank line between blocks, a form feed at the page's end."""
    return text.replace("\f", "").strip()


def _cache_file(key: str, settings: OcrSettings) -> Path | None:
    if settings.cache_dir is None:
        return None
    return settings.cache_dir / key[:2] / f"{key}.json"


def _store(key: str, page: PageText, settings: OcrSettings) -> None:
    from assistant.index.manifest import atomic_write_text

    path = _cache_file(key, settings)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"text": page.text, "confidence": page.confidence}))
    except OSError:
        pass  # a cache that cannot be written costs time on the next run, nothing else
