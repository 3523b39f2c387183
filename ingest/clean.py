"""Repair text-extraction defects without changing the words.

What it does, and why each step is safe for quotes (quotes are later checked against the text
this module produces, so it may move line breaks and spaces but never alter a word):

- Unicode NFC, non-breaking and odd spaces to plain spaces, soft hyphens and zero-width
  characters removed, runs of spaces collapsed.
- Lines that are only a page number (``12``, ``- 3 -``, ``pagina 2 van 9``) are dropped, and in
  PDFs so are header/footer lines that repeat on most pages.
- Lines broken mid-sentence are rejoined, also across the blank lines PDF extractions put
  between every line. A line break after a hyphen keeps the hyphen (``bestuurlijk-`` +
  ``financieel``): Dutch compounds are hyphenated and line-end hyphens in real documents are
  mostly real; the hyphen is only removed when the joined word occurs elsewhere in the same text.
- Footnote lines that a PDF extraction dropped in the middle of a sentence are moved behind the
  paragraph they interrupted, so that sentence reads (and can be quoted) as one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from assistant.index.records import CleanDocument, HeadingSpan, PageSpan
from ingest.load import LoadedDocument

#: Bump when cleaning changes; documents are then re-ingested (it is part of their content key).
CLEANER_VERSION = "1"

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–]\s*)?\d{1,4}(?:\s*[-–])?$|^(?:pagina|page|blz\.?)\s+\d+(?:\s*(?:van|of|/)\s*\d+)?$",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^(?:[-•*▪●◦–]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s|\(\d{1,3}\)\s)")
_FOOTNOTE = re.compile(r"^\d{1,3}\s+\S")
_HYPHEN_END = re.compile(r"([^\W\d_]+)-$")
_WORD_START = re.compile(r"^([^\W\d_]+)")
_SENTENCE_END = ".!?"
_CLAUSE_END = ".!?:;"


def normalize(text: str) -> str:
    """Unicode and whitespace normalisation, line by line (line breaks are kept)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text).replace("\f", "\n").replace("\v", "\n")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def drop_repeated_page_lines(pages: list[str], *, edge: int = 3) -> list[str]:
    """Remove header/footer lines: lines near a page edge that recur on most pages."""
    if len(pages) < 3:
        return pages

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", _SPACES.sub(" ", line).strip().lower())

    def edge_indexes(lines: list[str]) -> list[int]:
        # Headers and footers are short lines at the top or bottom of a page.
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return [i for i in filled[:edge] + filled[-edge:] if len(lines[i].strip()) <= 100]

    split = [page.split("\n") for page in pages]
    counts: Counter[str] = Counter()
    for lines in split:
        counts.update({key(lines[i]) for i in edge_indexes(lines)})
    threshold = max(3, len(pages) // 2)
    repeated = {k for k, n in counts.items() if n >= threshold and k.strip("# ")}
    result = []
    for lines in split:
        drop = {i for i in edge_indexes(lines) if key(lines[i]) in repeated}
        result.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return result


def clean_block(text: str, *, vocabulary: frozenset[str] = frozenset()) -> str:
    """Clean one block of extracted text into paragraphs separated by blank lines."""
    lines = normalize(text).split("\n")
    wrap = _wrap_width([line for line in lines if line])
    paragraphs: list[list[str]] = []
    footnotes: list[list[str]] = []  # footnotes waiting for the paragraph they interrupted
    in_footnote = False
    blank = False
    for line in lines:
        if not line:
            blank = True
            continue
        if _PAGE_NUMBER.match(line):
            continue
        open_paragraph = paragraphs[-1] if paragraphs else None
        unfinished = open_paragraph is not None and open_paragraph[-1][-1] not in _CLAUSE_END
        if _FOOTNOTE.match(line) and unfinished and (blank or in_footnote):
            footnotes.append([line])
            in_footnote = True
        elif in_footnote and open_paragraph is not None and _starts_lower(line):
            open_paragraph.append(line)  # the interrupted sentence goes on after its footnote
            in_footnote = False
        elif in_footnote and _continues(footnotes[-1][-1], line, blank, wrap):
            footnotes[-1].append(line)
        elif (
            open_paragraph is not None
            and not in_footnote
            and _continues(open_paragraph[-1], line, blank, wrap)
        ):
            open_paragraph.append(line)
        else:
            paragraphs.extend(footnotes)
            footnotes = []
            in_footnote = False
            paragraphs.append([line])
        blank = False
    paragraphs.extend(footnotes)
    return "\n\n".join(_join_lines(p, vocabulary) for p in paragraphs)


def vocabulary_of(text: str) -> frozenset[str]:
    """Lower-cased words of a text, to decide whether a line-end hyphen was a soft one."""
    words = re.findall(r"[^\W\d_]{3,}(?:-[^\W\d_]+)*", text)
    parts = (part for word in words for part in word.split("-"))
    return frozenset(w.lower() for w in (*words, *parts))


def clean_document(document: LoadedDocument) -> CleanDocument:
    """Clean all segments of a loaded document and assemble its full text with page offsets."""
    texts = [s.text for s in document.segments]
    if document.format == "pdf":
        texts = drop_repeated_page_lines(texts)
    vocabulary = vocabulary_of(" ".join(texts))

    parts: list[str] = []
    pages: list[PageSpan] = []
    headings: list[HeadingSpan] = []
    length = 0
    previous_is_heading = True
    for segment, raw in zip(document.segments, texts, strict=True):
        if segment.heading_level is not None:
            cleaned = " ".join(normalize(raw).split())
        else:
            cleaned = clean_block(raw, vocabulary=vocabulary)
        if not cleaned:
            if segment.page is not None:
                pages.append(PageSpan(segment.page, length, length))
            continue
        if parts:
            # A sentence running over a PDF page break continues with a space, not a paragraph.
            joins = (
                segment.page is not None
                and segment.heading_level is None
                and not previous_is_heading
                and parts[-1][-1] not in _CLAUSE_END
                and _starts_lower(cleaned)
            )
            separator = " " if joins else "\n\n"
            parts.append(separator)
            length += len(separator)
        start = length
        parts.append(cleaned)
        length += len(cleaned)
        if segment.page is not None:
            pages.append(PageSpan(segment.page, start, length))
        if segment.heading_level is not None:
            headings.append(HeadingSpan(segment.heading_level, cleaned, start, length))
        previous_is_heading = segment.heading_level is not None
    text = "".join(parts)
    # Extend each page to the start of the next, so every offset belongs to a page.
    extended = [
        PageSpan(p.page, p.start, pages[i + 1].start if i + 1 < len(pages) else len(text))
        for i, p in enumerate(pages)
    ]
    return CleanDocument(text=text, pages=tuple(extended), headings=tuple(headings))


# --- helpers -------------------------------------------------------------------------------------
def _starts_lower(line: str) -> bool:
    return line[0].islower() or line[0] in ")]},;%"


def _wrap_width(lines: list[str]) -> tuple[int, int] | None:
    """(min, max) length of a line that was wrapped by the extraction, or None if not wrapped."""
    short = sorted(len(line) for line in lines if len(line) <= 160)
    if len(short) < 5 or len(short) < 0.3 * len(lines):
        return None
    width = short[int(0.9 * (len(short) - 1))]
    return int(0.6 * width), width + 10


def _continues(previous: str, line: str, blank: bool, wrap: tuple[int, int] | None) -> bool:
    """Does ``line`` continue the paragraph that ended with ``previous``?"""
    if _LIST_ITEM.match(line):
        return False
    if _HYPHEN_END.search(previous) and (line[0].isalpha() or line[0] in "()"):
        return True
    if _starts_lower(line):
        return True
    wrapped = wrap is not None and wrap[0] <= len(previous) <= wrap[1]
    if blank:
        return wrapped and previous[-1] not in _CLAUSE_END and not _FOOTNOTE.match(line)
    return wrapped and previous[-1] not in ":;"


def _join_lines(lines: list[str], vocabulary: frozenset[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        hyphen = _HYPHEN_END.search(text)
        if hyphen and (line[0].isalpha() or line[0] in "()"):
            start = _WORD_START.match(line)
            joined = (hyphen[1] + start[1]).lower() if start else ""
            hyphenated = f"{hyphen[1]}-{start[1]}".lower() if start else ""
            soft = bool(start) and joined in vocabulary and hyphenated not in vocabulary
            text = (text[:-1] if soft else text) + line
        else:
            text = f"{text} {line}"
    return text
