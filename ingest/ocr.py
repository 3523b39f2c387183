"""OCR for scanned pages and images: Tesseract with its Dutch and English models.

Engine: the ``tesseract`` program from the operating system's packages (Debian/Ubuntu:
``tesseract-ocr``, ``tesseract-ocr-nld``, ``tesseract-ocr-eng``), called through ``pytesseract``.
The language data comes from the same packages, so it is installed, updated and checked like any
other system package, and a missing engine shows up as a missing program on ``PATH`` - which is
what the error below names, with the exact install command. ``tesserocr`` (the in-process
binding) was measured against it in ``benchmarks/ocr.py``: the same engine, and the process start
is small beside the seconds a page takes (see the README).

Every page's text is cached by content (the file's SHA-256, the page, the resolution, the
languages and the engine's version) under the data folder, so an unchanged scanned file is never
read twice: not after a re-index with a new cleaner, not after a run killed halfway through.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.errors import DocumentError

if TYPE_CHECKING:
    from PIL import Image

#: What to run when Tesseract or its language data is missing (Debian, Ubuntu).
INSTALL_COMMAND = "sudo apt install tesseract-ocr tesseract-ocr-nld tesseract-ocr-eng"
#: Debian's package name of each language's data.
_PACKAGES = {"nld": "tesseract-ocr-nld", "eng": "tesseract-ocr-eng"}
_CACHE_VERSION = 1


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


def unavailable_reason(language: str) -> str | None:
    """Why OCR in ``language`` (``nld+eng``) cannot run here, or None when it can."""
    if shutil.which("tesseract") is None:
        return "Tesseract (the OCR program) is not installed"
    installed = _languages()
    missing = [code for code in language.split("+") if code not in installed]
    if missing:
        names = ", ".join(missing)
        return f"Tesseract has no language data for {names}"
    return None


def install_hint(language: str) -> str:
    """The install command for Tesseract and the data of ``language``."""
    extra = [
        _PACKAGES.get(code, f"tesseract-ocr-{code}")
        for code in language.split("+")
        if code not in _PACKAGES
    ]
    command = " ".join([INSTALL_COMMAND, *extra])
    return f"Install it: `{command}`, then ingest again. Other files are not affected."


def require(path: Path, settings: OcrSettings, pages: int) -> None:
    """Raise DocumentError when the scanned ``path`` cannot be OCR'd here (engine, limits)."""
    reason = unavailable_reason(settings.language)
    if reason is not None:
        raise DocumentError(
            path,
            f"{pages} page(s) need OCR (no text layer), but {reason}",
            hint=install_hint(settings.language),
        )
    if pages > settings.max_pages:
        raise DocumentError(
            path,
            f"{pages} pages need OCR, over the limit of {settings.max_pages} per document",
            hint="Split the scan into smaller files, or raise ASSISTANT_OCR_MAX_PAGES.",
        )


def check_pixels(path: Path, size: tuple[int, int], settings: OcrSettings, page: int) -> None:
    """Refuse an image too large to read safely (decompression bombs decode to gigabytes)."""
    pixels = size[0] * size[1]
    if pixels > settings.max_pixels:
        raise DocumentError(
            path,
            f"page {page} is {size[0]}x{size[1]} pixels ({pixels / 1e6:.0f} megapixels), "
            f"over the limit of {settings.max_pixels / 1e6:.0f}",
            hint="Check where the file came from; scan it again at 300 DPI.",
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


def read_page(image: Image.Image, settings: OcrSettings, *, key: str | None = None) -> PageText:
    """OCR one page image (and cache the text under ``key``)."""
    import pytesseract

    started = time.perf_counter()
    try:
        data = pytesseract.image_to_data(
            _prepared(image),
            lang=settings.language,
            config="--psm 3",
            output_type=pytesseract.Output.DICT,
        )
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
        raise OcrFailed(str(exc).strip() or type(exc).__name__) from exc
    text, confidence = _text_and_confidence(data)
    page = PageText(text, confidence, time.perf_counter() - started)
    if key is not None:
        _store(key, page, settings)
    return page


class OcrFailed(Exception):
    """Tesseract failed on a page image (the caller names the file and page)."""


@functools.cache
def engine_version() -> str:
    """Tesseract's version (part of the cache key: a new engine reads pages again)."""
    try:
        result = subprocess.run(
            ["tesseract", "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = (result.stdout or result.stderr).splitlines()
    return first[0].strip() if first else "unknown"


@functools.cache
def _languages() -> frozenset[str]:
    try:
        result = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    lines = (result.stdout + result.stderr).splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and " " not in line.strip())


def _prepared(image: Image.Image) -> Image.Image:
    """Grey, on white: transparent areas of a PNG would otherwise read as black."""
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = PILImage.new("RGBA", image.size, "white")
        image = PILImage.alpha_composite(background, image)
    return image.convert("L")


def _text_and_confidence(data: dict[str, list[Any]]) -> tuple[str, float]:
    """Lines of words in reading order, a blank line between paragraphs; mean word confidence.

    Tesseract's own text output is the same, but asking for the words' data as well would read
    the page twice.
    """
    paragraphs: list[list[str]] = []
    lines: dict[tuple[int, int, int], list[str]] = {}
    order: list[tuple[int, int, int]] = []
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        word = (word or "").strip()
        conf = float(data["conf"][i])
        if not word or conf < 0:
            continue
        confidences.append(conf)
        line = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        if line not in lines:
            lines[line] = []
            order.append(line)
        lines[line].append(word)
    previous: tuple[int, int] | None = None
    for line in order:
        if line[:2] != previous:
            paragraphs.append([])
            previous = line[:2]
        paragraphs[-1].append(" ".join(lines[line]))
    text = "\n\n".join("\n".join(p) for p in paragraphs)
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return text, round(mean, 1)


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
