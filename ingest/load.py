"""Load a file into text segments: PDF (OCR for scanned pages), DOCX, HTML, Markdown, plain
text, OpenDocument, e-mail and images (OCR).

Each loader returns the document as a sequence of :class:`Segment` s (a PDF page, a paragraph, a
heading), so that later stages can keep page numbers and headings. Every failure is translated
into a :class:`~assistant.core.errors.DocumentError` that names the file, the reason and what to do.

Parsers: pypdf for PDF (llama-index's ``PDFReader`` is a thin wrapper over it that retries corrupt
files three times and cannot decrypt or report a missing text layer), python-docx for DOCX (it
exposes heading styles, which llama-index's docx2txt-based reader drops), BeautifulSoup for HTML,
markdown-it-py for Markdown, and charset-normalizer for text in an unknown encoding.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import DocumentError, UnsupportedFormatError
from ingest.ocr import OcrSettings, OcrWork

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
    ".doc": "Save it as .docx (Word: File > Save As) and ingest that file.",
    ".rtf": "Save it as .docx or .txt and ingest that file.",
    ".xlsx": "Save it as .ods or .pdf and ingest that file.",
    ".pptx": "Save it as .odp or .pdf and ingest that file.",
}
#: A DOCX is a zip; refuse archives that would expand past this many times the size limit.
_ZIP_EXPANSION_LIMIT = 20
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


def supported_suffixes() -> list[str]:
    """File suffixes ingestion accepts, for messages and file pickers."""
    return sorted(FORMATS)


def title_from_filename(path: Path) -> str:
    """A readable title from a file name: ``2024-06-12-brief-x.txt`` -> ``Brief x``."""
    stem = _DATE_PREFIX.sub("", path.stem)
    words = re.sub(r"[-_]+", " ", stem).strip() or path.stem
    return words[:1].upper() + words[1:]


def load_document(path: Path, *, max_bytes: int, ocr: OcrSettings | None = None) -> LoadedDocument:
    """Read ``path`` into segments; raise DocumentError with the reason when it cannot be read.

    ``ocr``: how scanned pages and images are read (default: ``OcrSettings()``, no cache).
    """
    ocr = ocr or OcrSettings()
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise UnsupportedFormatError(
            path,
            f"unsupported file type {suffix or '(no suffix)'!r}",
            hint=_HINTS.get(suffix, f"Supported types: {', '.join(supported_suffixes())}."),
        )
    check_size(path, max_bytes)
    if fmt == "email":
        from ingest.mail import load_eml, load_msg

        loaded = (load_msg if suffix == ".msg" else load_eml)(path, max_bytes)
        _require_text(path, loaded.segments, fmt)
        return loaded
    work = OcrWork()
    if fmt == "pdf":
        from ingest.pdf import load_pdf

        title, segments, work = load_pdf(path, ocr)
    elif fmt == "image":
        from ingest.scans import load_image

        title, segments, work = load_image(path, ocr)
    else:
        loader = {
            "docx": _load_docx,
            "html": _load_html,
            "markdown": _load_markdown,
            "text": _load_text,
            "odf": _load_odf,
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
            "OCR found no text on the page(s): a photo, a drawing or a blank scan",
            hint="Nothing to index; if it does hold text, scan it again at 300 DPI.",
        )
    raise DocumentError(path, "no text found in the file", hint="Check that it is not blank.")


def _load_odf(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    from ingest.odf import load_odf

    return load_odf(path, max_bytes)


def check_size(path: Path, max_bytes: int) -> int:
    """The file's size; DocumentError when it is empty, unreadable or over the limit."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(path, f"cannot read the file ({exc.strerror})") from exc
    if size == 0:
        raise DocumentError(path, "the file is empty (0 bytes)", hint="Check the export or copy.")
    if size > max_bytes:
        raise DocumentError(
            path,
            f"the file is {size / 2**20:.1f} MiB, over the limit of {max_bytes / 2**20:.1f} MiB",
            hint="Split the file, or raise ASSISTANT_MAX_FILE_MB.",
        )
    return size


# --- DOCX ----------------------------------------------------------------------------------------
_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.IGNORECASE)


def _load_docx(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError, ValueError, PackageNotFoundError...
        raise DocumentError(
            path,
            f"not a readable Word (.docx) file ({type(exc).__name__})",
            hint="Open it in Word or LibreOffice and save it again as .docx.",
        ) from exc

    segments: list[Segment] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text
            if not text.strip():
                continue
            style = (block.style.name if block.style is not None else "") or ""
            match = _HEADING_STYLE.match(style.strip())
            level = 1 if style.strip().lower() == "title" else (int(match[1]) if match else None)
            segments.append(Segment(text=text, heading_level=level))
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                # Merged cells repeat their text in python-docx; keep each once.
                unique = [c for i, c in enumerate(cells) if c and c not in cells[:i]]
                if unique:
                    segments.append(Segment(text=" | ".join(unique)))
    core_title = (document.core_properties.title or "").strip()
    first_heading = next((s.text for s in segments if s.heading_level == 1), None)
    return core_title or first_heading or title_from_filename(path), segments


def _check_zip(path: Path, max_bytes: int) -> None:
    """Refuse broken zips and zip bombs before a parser expands them into memory."""
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(
            path,
            "not a readable Word (.docx) file: the zip container is broken",
            hint="Open it in Word or LibreOffice and save it again as .docx.",
        ) from exc
    if expanded > _ZIP_EXPANSION_LIMIT * max_bytes:
        raise DocumentError(
            path,
            f"the .docx expands to {expanded / 2**20:.0f} MiB (a zip bomb or a huge document)",
            hint="Check where the file came from; split a genuinely large document.",
        )


# --- HTML ----------------------------------------------------------------------------------------
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption dd details div dl dt fieldset figcaption "
    "figure footer form header hr li main nav ol p pre section summary table tbody td tfoot th "
    "thead tr ul".split()
)
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")


def _load_html(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    from bs4 import BeautifulSoup

    text = _decode(path, path.read_bytes())
    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    segments = list(_html_blocks(soup))
    if not title:
        title = next((s.text for s in segments if s.heading_level == 1), "")
    return title or title_from_filename(path), segments


def _html_blocks(root: object) -> Iterator[Segment]:
    from bs4.element import Comment, NavigableString, Tag

    buffer: list[str] = []

    def flush() -> Iterator[Segment]:
        text = "".join(buffer)
        buffer.clear()
        if text.strip():
            yield Segment(text=text)

    def walk(node: Tag) -> Iterator[Segment]:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                buffer.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if re.fullmatch(r"h[1-6]", name):
                    yield from flush()
                    heading = child.get_text(" ", strip=True)
                    if heading:
                        yield Segment(text=heading, heading_level=int(name[1]))
                elif name in _BLOCK_TAGS:
                    yield from flush()
                    yield from walk(child)
                    yield from flush()
                else:
                    yield from walk(child)

    if isinstance(root, Tag):
        yield from walk(root)
        yield from flush()


# --- Markdown ------------------------------------------------------------------------------------
def _load_markdown(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    from markdown_it import MarkdownIt

    source = _decode(path, path.read_bytes())
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    segments: list[Segment] = []
    heading_level: int | None = None
    row: list[str] = []
    in_cell = False
    for token in tokens:
        if token.type == "heading_open":
            heading_level = int(token.tag[1])
        elif token.type == "heading_close":
            heading_level = None
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and any(row):
            segments.append(Segment(text=" | ".join(c for c in row if c)))
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline":
            text = _inline_text(token.children or [])
            if in_cell:
                row.append(text.strip())
            elif text.strip():
                segments.append(Segment(text=text, heading_level=heading_level))
        elif token.type in ("fence", "code_block"):
            segments.append(Segment(text=token.content))
        elif token.type == "html_block":
            segments.extend(_html_blocks_from_fragment(token.content))
    title = next((s.text for s in segments if s.heading_level == 1), None)
    return title or title_from_filename(path), segments


def _inline_text(children: Sequence[object]) -> str:
    parts: list[str] = []
    for child in children:
        kind = getattr(child, "type", "")
        if kind in ("text", "code_inline"):
            parts.append(getattr(child, "content", ""))
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        # html_inline (<sup>, <br>...) and images are dropped: their text children are kept.
    return "".join(parts)


def _html_blocks_from_fragment(fragment: str) -> list[Segment]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    return list(_html_blocks(soup))


# --- plain text ----------------------------------------------------------------------------------
def _load_text(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    return title_from_filename(path), [Segment(text=_decode(path, path.read_bytes()))]


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _decode(path: Path, data: bytes) -> str:
    """Decode text in UTF-8, UTF-16/32 (with BOM) or a detected legacy encoding such as cp1252."""
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DocumentError(path, f"invalid {encoding} text ({exc.reason})") from exc
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(path, data)
    if _looks_binary(text):
        raise DocumentError(
            path,
            "the file is binary, not text (control characters throughout)",
            hint="Check the file type: rename it to its real extension or export it as text.",
        )
    return text


def _detect(path: Path, data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise DocumentError(
            path,
            "the file is binary or in an unknown text encoding",
            hint="Save it as UTF-8 text, or check that it is really a text file.",
        )
    try:
        return data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DocumentError(path, f"cannot decode the text as {best.encoding}") from exc


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:100_000]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f\v") or ch == "\ufffd")
    return control / len(sample) > 0.01
