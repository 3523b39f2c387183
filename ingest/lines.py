"""The source's lines, classified: which are body text, and which the cleaner leaves out of the
body and why (page furniture, a line repeated by the extraction, a footnote block).

The evidence rules for footnotes are in ``ingest/clean.py``'s docstring; every left-out line
becomes a ``SkipSpan`` of the source, so that quotes can be proved against it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from assistant.index.records import PageSpan, SkipSpan
from ingest.document import LoadedDocument, Segment

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?$|^(?:pagina|page|blz\.?)\s+\d+(?:\s*(?:van|of|/)\s*\d+)?$",
    re.IGNORECASE,
)
_FOOTNOTE_START = re.compile(r"^(\d{1,3})\s+\S")
#: A footnote marker in the body: a number glued to a word or a closing mark (``gelanceerd1``,
#: ``(2022)'.4``), after a closing quote or bracket and spaces (``vereenvoudiging.”  15``), or
#: after a word and a space before a full stop, a comma or the line end (``is laag 18.``).
_MARKER = re.compile(
    r"(?:(?<=[^\W\d_]{2})|(?<=[’”\"'.,;:)\]]))(\d{1,3})(?!\d)"
    r"|(?<=[’”\"')\]])\s+(\d{1,3})(?=\s*$)"
    r"|(?<=[^\W\d_]{2}) (\d{1,3})(?=[.,;]?(?:\s+|$))(?=[.,;]|\s*$)"
)
_URL_LINE = re.compile(r"^(?:https?://|file:///|www\.)\S+$", re.IGNORECASE)
#: A footnote number may skip this many (a footnote lost by the extraction).
_FOOTNOTE_STEP = 5
#: Lines of footnote text (not links) one footnote may have before the body is assumed again.
_FOOTNOTE_LINES = 6
#: Shorter repeated lines ("Ja", a table cell) can be real; longer ones repeated at once are not.
_DUPLICATE_MIN = 20


@dataclass
class SourceLine:
    raw: str  # as in the source
    text: str  # normalised: spaces collapsed, invisible characters out, stripped
    start: int  # source offset of the line
    end: int
    segment: int
    index: int  # position among the document's lines
    kind: str = "body"  # body | blank | furniture | duplicate | footnote
    footnote: int = -1  # index of the footnote this line belongs to

    @property
    def indented(self) -> bool:
        """Starts with a space: in the PDF dumps we meet, the first line of a new page."""
        return bool(self.text) and self.raw[:1] in (" ", "\t")


def normal_line(line: str) -> str:
    return _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()


def source_lines(
    segments: tuple[Segment, ...], forms: list[str]
) -> tuple[list[SourceLine], list[PageSpan]]:
    lines: list[SourceLine] = []
    pages: list[PageSpan] = []
    offset = 0
    for number, (segment, form) in enumerate(zip(segments, forms, strict=True)):
        if number:
            offset += 2  # the blank line that joins two segments in the source text
        if segment.page is not None:
            pages.append(PageSpan(segment.page, offset, offset + len(form)))
        for raw in form.split("\n"):
            text = normal_line(raw)
            kind = "body" if text else "blank"
            lines.append(SourceLine(raw, text, offset, offset + len(raw), number, len(lines), kind))
            offset += len(raw) + 1
        offset -= 1
    return lines, pages


def mark_furniture(lines: list[SourceLine], document: LoadedDocument) -> None:
    for line in lines:
        if line.kind == "body" and _PAGE_NUMBER.match(line.text):
            line.kind = "furniture"
    if document.format != "pdf":
        return
    split: list[list[SourceLine]] = [[] for _ in document.segments]
    for line in lines:
        split[line.segment].append(line)
    drop = repeated_lines([[line.text for line in page] for page in split])
    for page, index in drop:
        if split[page][index].kind == "body":
            split[page][index].kind = "furniture"


def repeated_lines(pages: list[list[str]], *, edge: int = 3) -> set[tuple[int, int]]:
    """(page, line) of header/footer lines: lines near a page edge that recur on most pages."""
    if len(pages) < 3:
        return set()

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", _SPACES.sub(" ", line).strip().lower())

    def edge_indexes(lines: list[str]) -> list[int]:
        # Headers and footers are short lines at the top or bottom of a page.
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return [i for i in filled[:edge] + filled[-edge:] if len(lines[i].strip()) <= 100]

    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({key(lines[i]) for i in edge_indexes(lines)})
    threshold = max(3, len(pages) // 2)
    repeated = {k for k, n in counts.items() if n >= threshold and k.strip("# ")}
    return {
        (number, i)
        for number, lines in enumerate(pages)
        for i in edge_indexes(lines)
        if key(lines[i]) in repeated
    }


def mark_duplicates(lines: list[SourceLine], segments: tuple[Segment, ...]) -> None:
    previous: SourceLine | None = None
    for line in lines:
        if line.kind == "blank" or segments[line.segment].heading_level is not None:
            continue
        if line.kind != "body":
            previous = None
            continue
        if (
            previous is not None
            and previous.segment == line.segment
            and len(line.text) >= _DUPLICATE_MIN
            and line.text == previous.text
        ):
            line.kind = "duplicate"
            continue
        previous = line


def mark_footnotes(lines: list[SourceLine], document: LoadedDocument) -> None:
    """Mark footnote blocks, with evidence (see the module docstring)."""
    markers: dict[int, int] = {}  # number -> the last line that had it as a marker
    last = 0  # the previous footnote's number
    threshold = -1  # markers must stand after this line: the end of the previous block
    count = 0  # footnotes found so far (their index)
    block: list[SourceLine] = []  # the lines of the open footnote block
    opened: list[tuple[int, int]] = []  # (position in the block, number) of its footnotes
    block_end = -1  # the index of its last line
    last_before = 0  # the footnote number before the open block
    after_furniture = False  # the last non-blank line was a page number or a running header
    text_lines = 0  # lines of text (not links) of the open footnote
    after_link = False
    after_blank = True

    def close(confirmed: bool) -> None:
        nonlocal block, threshold, last, opened
        if confirmed:
            threshold = max(threshold, block_end)
        else:  # not at a page foot after all: the lines are body text
            last = last_before
            to_body(block)
        block, opened = [], []

    def to_body(held: list[SourceLine]) -> None:
        for line in held:
            line.kind, line.footnote = "body", -1
            note_markers(line)

    def note_markers(line: SourceLine) -> None:
        for found in _MARKER.findall(line.text):
            markers[int(next(group for group in found if group))] = line.index

    # In a PDF a footnote block must reach the foot of its page; elsewhere the page foot is not
    # known, and the evidence of the numbering has to do.
    pdf = document.format == "pdf"
    for index, line in enumerate(lines):
        segment = document.segments[line.segment]
        if block and block[-1].segment != line.segment:
            close(True)
        if line.kind == "blank":
            after_blank = True
            continue
        if line.kind != "body" or segment.heading_level is not None:
            after_blank = line.kind == "furniture" or after_blank
            after_furniture = line.kind == "furniture" or after_furniture
            continue
        if block and not pdf and (line.indented or after_furniture):
            close(True)  # a new page starts: the block stood at the foot of the last one
        start = _FOOTNOTE_START.match(line.text)
        number = int(start[1]) if start else -1
        if block and start and last_before < number <= last and after_blank:
            # A later line opens a footnote the block has already: the earlier one was a body
            # line that happened to start with that number above the footnote zone, and the
            # body keeps it (with what the block took after it).
            keep = next(k for k, (_at, seen) in enumerate(opened) if seen >= number)
            to_body(block[opened[keep][0] :])
            block = block[: opened[keep][0]]
            count -= len(opened) - keep
            opened = opened[:keep]
            last = opened[-1][1] if opened else last_before
        # The marker must stand in the body after the previous footnote block.
        evidence = start and last < number <= last + _FOOTNOTE_STEP
        if evidence and markers.get(number, -1) > threshold and (after_blank or block or pdf):
            if not block:
                last_before = last
            opened.append((len(block), number))
            line.kind, line.footnote = "footnote", count
            count, last, block_end = count + 1, number, index
            block.append(line)
            text_lines, after_link = 1, False
            after_blank = after_furniture = False
            continue
        if block:
            if _URL_LINE.match(line.text):
                line.kind, line.footnote = "footnote", count - 1
                block.append(line)
                block_end = index
                after_link = True
                after_blank = after_furniture = False
                continue
            if not line.indented and not after_link and text_lines < _FOOTNOTE_LINES:
                line.kind, line.footnote = "footnote", count - 1
                block.append(line)
                block_end = index
                text_lines += 1
                after_blank = after_furniture = False
                continue
            # The body goes on: the block was at a page foot only when a new page starts here
            # (a PDF page ends with its segment; in a text dump a page starts indented or after
            # the page number).
            close(not pdf and (line.indented or after_furniture))
        note_markers(line)
        after_blank = after_furniture = False
    if block:
        close(True)
    _renumber(lines)


def _renumber(lines: list[SourceLine]) -> None:
    """Footnote indexes in order, after unconfirmed blocks went back to the body."""
    mapping: dict[int, int] = {}
    for line in lines:
        if line.kind == "footnote":
            line.footnote = mapping.setdefault(line.footnote, len(mapping))


def skips(lines: list[SourceLine]) -> tuple[SkipSpan, ...]:
    """The left-out lines as source spans, neighbours of one kind merged."""
    spans: list[SkipSpan] = []
    for line in lines:
        if line.kind in ("body", "blank"):
            continue
        if spans and spans[-1].kind == line.kind and spans[-1].end + 1 >= line.start - 1:
            spans[-1] = replace(spans[-1], end=line.end)
        else:
            spans.append(SkipSpan(line.start, line.end, line.kind))
    return tuple(spans)
