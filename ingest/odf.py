"""Load OpenDocument files (.odt, .ods, .odp and their flat XML forms) into text segments.

Parser: odfdo (Apache-2.0, maintained, typed). odfpy has had no release in years, and llama-index
has no ODF reader. odfdo reads zipped and flat ODF alike and has its own zip-bomb limits. Its
plain-text export runs headings into paragraphs, leaves "[1]" note marks in sentences and splits
table rows into cells, so this module walks odfdo's element tree itself and keeps headings, list
items, table rows and notes apart.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core.errors import DocumentError
from assistant.core.i18n import _
from ingest.document import ZIP_EXPANSION_LIMIT, Segment, title_from_filename

if TYPE_CHECKING:
    from odfdo import Document, Element

_FLAT_SUFFIXES = frozenset({".fodt", ".fods", ".fodp", ".fodg"})
_HEADING_STYLE = re.compile(r"^(?:heading|kop)(?:_20_|\s*)(\d+)$", re.IGNORECASE)
_WHITESPACE = re.compile(r"[ \t\r\n]+")
#: Elements without readable document text: tracked deletions, comments, index templates (the
#: table of contents only repeats the headings), declarations, forms and thumbnails.
_SKIP = frozenset(
    "text:tracked-changes office:annotation office:annotation-end text:table-of-content "
    "text:sequence-decls text:variable-decls text:user-field-decls office:forms "
    "table:named-expressions table:table-column table:table-columns "
    "table:table-header-columns table:table-column-group draw:page-thumbnail "
    "presentation:settings office:scripts svg:title svg:desc".split()
)
_ROW_GROUPS = frozenset({"table:table-header-rows", "table:table-rows", "table:table-row-group"})


def load_odf(path: Path, max_bytes: int) -> tuple[str, list[Segment]]:
    """Read an OpenDocument text, spreadsheet or presentation: (title, segments)."""
    from odfdo import Document

    suffix = path.suffix.lower() or ".odt"
    if zipfile.is_zipfile(path):
        _check_package(path, max_bytes, suffix)
    elif suffix not in _FLAT_SUFFIXES:
        raise _unreadable(path, suffix, _("not a zip container"))
    try:
        document = Document(path)
        body = document.body
        walker = _Walker(document, sheets=body.tag == "office:spreadsheet")
        segments = walker.blocks(body)
        meta_title = _meta_title(document)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise _unreadable(path, suffix, _("nested too deeply")) from exc
    except Exception as exc:  # odfdo and lxml raise KeyError, ValueError, XMLSyntaxError...
        if type(exc).__name__ == "SecurityError":
            detail = _("odfdo refused it as unsafe: {error}").format(error=exc)
            raise _bomb(path, suffix, detail) from exc
        raise _unreadable(path, suffix, type(exc).__name__) from exc
    first_heading = next((s.text for s in segments if s.heading_level == 1), None)
    return meta_title or first_heading or title_from_filename(path), segments


def _meta_title(document: Document) -> str:
    try:
        title = document.meta.title
    except (KeyError, ValueError):  # meta.xml is optional in a package
        return ""
    return (title or "").strip()


class _Walker:
    """Turns an ODF body into segments, in document order."""

    def __init__(self, document: Document, *, sheets: bool) -> None:
        self._document = document
        self._sheets = sheets
        self._style_levels: dict[str, int | None] = {}

    def blocks(self, element: Element) -> list[Segment]:
        segments: list[Segment] = []
        for child in element.children:
            tag = child.tag
            if tag in _SKIP or tag.endswith("-source"):
                continue
            if tag in ("text:p", "text:h"):
                level = (
                    child.get_attribute_integer("text:outline-level") or 1
                    if tag == "text:h"
                    else self._style_level(child.get_attribute_string("text:style-name"))
                )
                text, notes = self._inline(child)
                if text.strip():
                    segments.append(Segment(text=text, heading_level=level))
                # Note bodies follow their paragraph as segments of their own; the citation
                # mark ("1") is dropped, so that the paragraph's sentences stay whole.
                segments.extend(notes)
            elif tag == "table:table":
                segments.extend(self._table(child))
            elif tag == "draw:frame" and child.get_attribute_string("presentation:class") == (
                "title"
            ):
                title = " ".join(s.text.strip() for s in self.blocks(child))
                if title.strip():
                    segments.append(Segment(text=title, heading_level=2))
            else:
                # Sections, lists and list items, slides, frames, text boxes, shapes, note bodies
                # and speaker notes only hold further blocks.
                segments.extend(self.blocks(child))
        return segments

    def _inline(self, element: Element) -> tuple[str, list[Segment]]:
        """The text of a paragraph, and the blocks anchored in it (notes, text boxes)."""
        parts = [_WHITESPACE.sub(" ", element.text)]
        anchored: list[Segment] = []
        for child in element.children:
            tag = child.tag
            if tag == "text:s":
                parts.append(" " * (child.get_attribute_integer("text:c") or 1))
            elif tag == "text:tab":
                parts.append(" ")
            elif tag == "text:line-break":
                parts.append("\n")
            elif tag == "text:note":
                for part in child.children:
                    if part.tag == "text:note-body":
                        anchored.extend(self.blocks(part))
            elif tag.startswith("draw:"):
                anchored.extend(self.blocks(child))
            elif tag not in _SKIP:
                text, inner = self._inline(child)
                parts.append(text)
                anchored.extend(inner)
            parts.append(_WHITESPACE.sub(" ", child.tail or ""))
        # ODF ignores white space at the start and end of a paragraph.
        return "".join(parts).strip(" "), anchored

    def _table(self, table: Element) -> list[Segment]:
        rows: list[Segment] = []
        for row in _rows(table):
            cells: list[str] = []
            # Merged cells are table:covered-table-cell and are left out; a repeated cell
            # (table:number-columns-repeated) is one element, so it is kept once.
            for cell in row.children:
                if cell.tag != "table:table-cell":
                    continue
                text = " ".join(s.text.strip() for s in self.blocks(cell)).strip()
                if text:
                    cells.append(text)
            # A repeated row (table:number-rows-repeated) is one element too: kept once.
            if cells:
                rows.append(Segment(text=" | ".join(cells)))
        if self._sheets and rows:
            # Only sheets with text get their name, so an empty workbook stays "no text".
            name = (table.get_attribute_string("table:name") or "").strip()
            if name:
                rows.insert(0, Segment(text=name, heading_level=2))
        return rows

    def _style_level(self, name: str | None) -> int | None:
        """Level 1 for the Title style, N for a "Heading N" paragraph style, else None."""
        if not name:
            return None
        if name not in self._style_levels:
            level = _named_level(name)
            if level is None:
                # Direct formatting gives a paragraph an automatic style (P1) whose parent is
                # the style the author chose.
                style = self._document.get_style("paragraph", name)
                parent = style.get_attribute_string("style:parent-style-name") if style else None
                level = _named_level(parent or "")
            self._style_levels[name] = level
        return self._style_levels[name]


def _named_level(name: str) -> int | None:
    if name.lower() == "title":
        return 1
    match = _HEADING_STYLE.match(name)
    return int(match[1]) if match else None


def _rows(table: Element) -> list[Element]:
    rows: list[Element] = []
    for child in table.children:
        if child.tag == "table:table-row":
            rows.append(child)
        elif child.tag in _ROW_GROUPS:
            rows.extend(_rows(child))
    return rows


def _check_package(path: Path, max_bytes: int, suffix: str) -> None:
    """Refuse broken, incomplete, encrypted and zip-bomb packages before odfdo expands them."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            expanded = sum(info.file_size for info in infos)
            if expanded > ZIP_EXPANSION_LIMIT * max_bytes:
                detail = _("it expands to {size:.0f} MiB").format(size=expanded / 2**20)
                raise _bomb(path, suffix, detail)
            names = {info.filename for info in infos}
            if "content.xml" not in names:
                raise _unreadable(path, suffix, _("no content.xml in the package"))
            manifest = (
                archive.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
            )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _unreadable(path, suffix, _("the zip container is broken")) from exc
    # An encrypted package keeps its manifest readable and lists how each part is encrypted.
    if b"encryption-data" in manifest:
        raise DocumentError(
            path,
            _("the {suffix} file is encrypted (password protected)").format(suffix=suffix),
            hint=_(
                "Open it in LibreOffice with the password and save a copy without one "
                "(File > Save As, untick 'Save with password'), then ingest that copy."
            ),
        )


def _unreadable(path: Path, suffix: str, detail: str) -> DocumentError:
    return DocumentError(
        path,
        _("not a readable OpenDocument ({suffix}) file ({detail})").format(
            suffix=suffix, detail=detail
        ),
        hint=_("Open it in LibreOffice and save it again as {suffix}.").format(suffix=suffix),
    )


def _bomb(path: Path, suffix: str, detail: str) -> DocumentError:
    return DocumentError(
        path,
        _(
            "the {suffix} file is too large unpacked ({detail}: a zip bomb or a huge document)"
        ).format(suffix=suffix, detail=detail),
        hint=_("Check where the file came from; split a genuinely large document."),
    )
