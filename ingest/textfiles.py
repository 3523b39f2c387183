"""Text formats: DOCX, HTML, Markdown and plain text, each into segments with headings.

Parsers: python-docx for DOCX (it exposes heading styles, which llama-index's docx2txt-based
reader drops), BeautifulSoup for HTML, markdown-it-py for Markdown, and charset-normalizer for
text in an unknown encoding.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from assistant.core.errors import DocumentError
from assistant.core.i18n import _
from ingest.document import ZIP_EXPANSION_LIMIT, Segment, title_from_filename

# --- DOCX ----------------------------------------------------------------------------------------
_HEADING_STYLE = re.compile(r"^(?:heading|kop)\s*(\d)$", re.IGNORECASE)


def load_docx(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_zip(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError, ValueError, PackageNotFoundError...
        raise DocumentError(
            path,
            _("not a readable Word (.docx) file ({kind})").format(kind=type(exc).__name__),
            hint=_("Open it in Word or LibreOffice and save it again as .docx."),
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
            _("not a readable Word (.docx) file: the zip container is broken"),
            hint=_("Open it in Word or LibreOffice and save it again as .docx."),
        ) from exc
    if expanded > ZIP_EXPANSION_LIMIT * max_bytes:
        raise DocumentError(
            path,
            _("the .docx expands to {size:.0f} MiB (a zip bomb or a huge document)").format(
                size=expanded / 2**20
            ),
            hint=_("Check where the file came from; split a genuinely large document."),
        )


# --- HTML ----------------------------------------------------------------------------------------
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption dd details div dl dt fieldset figcaption "
    "figure footer form header hr li main nav ol p pre section summary table tbody td tfoot th "
    "thead tr ul".split()
)
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")


def load_html(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    from bs4 import BeautifulSoup

    text = decode(path, path.read_bytes())
    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup(DROP_TAGS):
        tag.decompose()
    segments = list(html_blocks(soup))
    if not title:
        title = next((s.text for s in segments if s.heading_level == 1), "")
    return title or title_from_filename(path), segments


def html_blocks(root: object) -> Iterator[Segment]:
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
def load_markdown(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    from markdown_it import MarkdownIt

    source = decode(path, path.read_bytes())
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
    for tag in soup(DROP_TAGS):
        tag.decompose()
    return list(html_blocks(soup))


# --- plain text ----------------------------------------------------------------------------------
def load_text(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    return title_from_filename(path), [Segment(text=decode(path, path.read_bytes()))]


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(path: Path, data: bytes) -> str:
    """Decode text in UTF-8, UTF-16/32 (with BOM) or a detected legacy encoding such as cp1252."""
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                reason = _("invalid {encoding} text ({reason})").format(
                    encoding=encoding, reason=exc.reason
                )
                raise DocumentError(path, reason) from exc
            break
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _detect(path, data)
    if _looks_binary(text):
        raise DocumentError(
            path,
            _("the file is binary, not text (control characters throughout)"),
            hint=_("Check the file type: rename it to its real extension or export it as text."),
        )
    return text


def _detect(path: Path, data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise DocumentError(
            path,
            _("the file is binary or in an unknown text encoding"),
            hint=_("Save it as UTF-8 text, or check that it is really a text file."),
        )
    try:
        return data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = _("cannot decode the text as {encoding}").format(encoding=best.encoding)
        raise DocumentError(path, reason) from exc


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:100_000]
    control = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f\v") or ch == "\ufffd")
    return control / len(sample) > 0.01
