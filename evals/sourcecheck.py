"""Quote validity for the eval: does a shown quote stand in the original file?

Measured against the file's own text as its format's reader extracts it (``ingest.load``), never
against the index's clean text, so that the metric cannot agree with a defect of the cleaner.
This is a second, deliberately plain implementation, written apart from
``assistant/index/source.py`` (which uses the cleaner's record of what it left out): a quote is
valid when its characters follow each other in the file with nothing between them but

- whitespace, line breaks and invisible characters, or a hyphen at a line end;
- a line that repeats the line before it (an extraction that wrote a line twice), and a PDF's
  running header at the top of a page;
- a page foot: from a line that starts like a footnote, a link or a page number, up to the first
  line of the next page (a PDF page's end; in a text dump the line after the page number, or an
  indented line), where the sentence goes on.

A line that merely starts with a number in the middle of a page can never be passed over.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ingest.load import load_document

_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
_FOOT_LINE = re.compile(
    r"^\s*(?:\d{1,3}\s+\S|https?://|file:///|www\.|(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?\s*$)",
    re.IGNORECASE,
)
_PAGE_NUMBER = re.compile(r"^\s*(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?\s*$")
#: A page foot is at most this many lines (footnotes of one page).
_FOOT_LINES = 40


@dataclass(frozen=True)
class _File:
    text: str
    line_starts: tuple[int, ...]
    #: Where each PDF page (or other segment) begins; the text has no page marks otherwise.
    segment_starts: frozenset[int]
    paged: bool
    #: The text without blanks, and where each of its characters stands in ``text``.
    squeezed: str
    positions: tuple[int, ...]
    #: Running headers of a PDF: lines at the top of most pages (digits aside).
    headers: frozenset[str]


@cache
def _file(path: Path) -> _File:
    loaded = load_document(path, max_bytes=2**28)
    forms = [
        unicodedata.normalize("NFC", s.text).replace("\r\n", "\n").replace("\r", "\n")
        for s in loaded.segments
    ]
    text = "\n\n".join(forms)
    starts, offset = [], 0
    for form in forms:
        starts.append(offset)
        offset += len(form) + 2
    lines = [0] + [m.end() for m in re.finditer("\n", text)]
    kept = [(i, c) for i, c in enumerate(text) if not _blank(c)]
    paged = loaded.format == "pdf"
    return _File(
        text,
        tuple(lines),
        frozenset(starts),
        paged,
        "".join(c for _i, c in kept),
        tuple(i for i, _c in kept),
        _running_headers(forms) if paged else frozenset(),
    )


def _header_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _running_headers(pages: list[str]) -> frozenset[str]:
    counts: dict[str, int] = {}
    for page in pages:
        tops = [line for line in page.split("\n") if line.strip()][:3]
        for key in {_header_key(line) for line in tops}:
            counts[key] = counts.get(key, 0) + 1
    needed = max(3, len(pages) // 2)
    return frozenset(k for k, n in counts.items() if n >= needed and k.strip("# "))


def stands_in_file(quote: str, path: Path) -> bool:
    """Does ``quote`` stand in the file at ``path`` (see the module docstring)?"""
    wanted = [c for c in unicodedata.normalize("NFC", quote) if not _blank(c)]
    if not wanted:
        return False
    source = _file(path)
    head = "".join(wanted[:8])
    at = source.squeezed.find(head)
    while at >= 0:
        if _matches(wanted, source.positions[at], source):
            return True
        at = source.squeezed.find(head, at + 1)
    return False


def _blank(char: str) -> bool:
    return char.isspace() or char in _INVISIBLE


def _matches(wanted: list[str], start: int, source: _File) -> bool:
    text = source.text
    at = start
    for index, char in enumerate(wanted):
        while True:
            if at >= len(text):
                return False
            found = text[at]
            if index and (at == 0 or text[at - 1] == "\n"):
                repeated = _past_repeat(at, source)
                if repeated is not None:  # a repeated line is passed over, not matched
                    at = repeated
                    continue
            if found == char:
                break
            if _blank(found) or _line_end_hyphen(text, at):
                at += 1
                continue
            if index == 0:
                return False
            resumed = (
                _past_repeat(at, source) or _past_header(at, source) or _past_page_foot(at, source)
            )
            if resumed is None or resumed <= at:
                return False
            at = resumed
        at += 1
    return True


def _line_end_hyphen(text: str, index: int) -> bool:
    if text[index] != "-" or index == 0 or not text[index - 1].isalpha():
        return False
    rest = text[index + 1 :].lstrip(" \t")
    return not rest or rest[0] == "\n"


def _line_of(offset: int, source: _File) -> int:
    low, high = 0, len(source.line_starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if source.line_starts[middle] <= offset:
            low = middle
        else:
            high = middle - 1
    return low


def _line(number: int, source: _File) -> str:
    start = source.line_starts[number]
    end = source.line_starts[number + 1] - 1 if number + 1 < len(source.line_starts) else None
    return source.text[start:end]


def _past_repeat(offset: int, source: _File) -> int | None:
    """Past a line that starts at ``offset`` and repeats the line before it, else None."""
    number = _line_of(offset, source)
    start = source.line_starts[number]
    if source.text[start:offset].strip():
        return None
    line = _line(number, source).strip()
    previous = number - 1
    while previous >= 0 and not _line(previous, source).strip():
        previous -= 1
    if previous < 0 or _line(previous, source).strip() != line:
        return None
    return start + len(_line(number, source))


def _past_header(offset: int, source: _File) -> int | None:
    """Past a running header line that starts at ``offset`` (PDF), else None."""
    number = _line_of(offset, source)
    line = _line(number, source)
    start = source.line_starts[number]
    if source.text[start:offset].strip() or _header_key(line) not in source.headers:
        return None
    return start + len(line)


def _past_page_foot(offset: int, source: _File) -> int | None:
    """Where the body goes on when a page foot starts at ``offset`` (None: it does not)."""
    first = _line_of(offset, source)
    if source.text[source.line_starts[first] : offset].strip() or not _FOOT_LINE.match(
        _line(first, source)
    ):
        return None  # not at the start of a line that opens a page foot
    after_number = False
    begins = source.line_starts[first]
    next_page = min((s for s in source.segment_starts if s > begins), default=len(source.text))
    for number in range(first, min(first + _FOOT_LINES, len(source.line_starts))):
        line = _line(number, source)
        start = source.line_starts[number]
        if number > first and line.strip():
            if source.paged:
                if start >= next_page:
                    return start
            elif after_number or line[:1] in " \t":
                return start
        if line.strip():
            after_number = bool(_PAGE_NUMBER.match(line))
    return None
