"""Repair text-extraction defects without changing, moving or inventing a word.

The source is the text as extracted (``SourceText``: Unicode NFC, ``\\n`` line ends). The clean
text keeps the source's words in the source's order; the cleaner only

- normalises spaces (non-breaking and odd spaces become plain ones, runs collapse) and removes
  soft hyphens and zero-width characters;
- leaves out page furniture: lines that are only a page number (``12``, ``- 3 -``, ``pagina 2
  van 9``) and, in PDFs, header/footer lines that repeat on most pages;
- leaves out a line a faulty extraction repeated right after itself;
- rejoins lines broken mid-sentence, also across the blank lines PDF extractions put between
  every line. A line-end hyphen is kept (``bestuurlijk-`` + ``financieel``: Dutch compounds
  are hyphenated) unless the joined word occurs elsewhere in the same text;
- cuts footnote blocks out of the body. A line is a footnote only with evidence: its number
  continues the document's footnote numbering (1, 2, 3 ...), the same number stands as a marker
  glued to a word or a closing mark earlier in the body (``gelanceerd1``, ``(2022)'.4``), and the
  block stands at a page foot: in a PDF it reaches the end of its page; in a text dump it opens
  after a blank line and the next page (an indented line, or one after the page number)
  follows. A body sentence that a footnote block interrupted is rejoined, and each footnote
  becomes a paragraph of its own after the body (indexed and quotable, marked as a footnote),
  never re-inserted into the body.

Every region of the clean text records where it starts in the source (``Anchor``) and every
left-out line is recorded (``SkipSpan``), so ``assistant/index/source.py`` can prove each quote
against the source, and :func:`audit` can prove each sentence of the clean text.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from assistant.core.text import sentence_spans
from assistant.index.records import (
    Anchor,
    CleanDocument,
    HeadingSpan,
    PageSpan,
    ReadPage,
    SourceText,
)
from assistant.index.source import Alignment
from ingest.document import LoadedDocument, Segment
from ingest.lines import (
    SourceLine,
    mark_duplicates,
    mark_footnotes,
    mark_furniture,
    normal_line,
    repeated_lines,
    skips,
    source_lines,
)

#: Bump when cleaning changes; documents are then re-ingested (it is part of their content key).
CLEANER_VERSION = "2"  # 2: never moves text; footnotes cut out with evidence; source map

_LIST_ITEM = re.compile(r"^(?:[-•*▪●◦–]\s|\(?\d{1,3}[.)]\s|\(?[a-zA-Z][.)]\s|\(\d{1,3}\)\s)")
_HYPHEN_END = re.compile(r"([^\W\d_]+)-$")
_WORD_START = re.compile(r"^([^\W\d_]+)")
_CLAUSE_END = ".!?:;"


def normalize(text: str) -> str:
    """Unicode and whitespace normalisation, line by line (line breaks are kept)."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\f", "\n").replace("\v", "\n")
    return "\n".join(normal_line(line) for line in text.split("\n"))


def source_form(text: str) -> str:
    """A segment as it stands in the source text: NFC, with ``\\n`` for every line end."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\f", "\n").replace("\v", "\n")


def vocabulary_of(text: str) -> frozenset[str]:
    """Lower-cased words of a text, to decide whether a line-end hyphen was a soft one."""
    words = re.findall(r"[^\W\d_]{3,}(?:-[^\W\d_]+)*", text)
    parts = (part for word in words for part in word.split("-"))
    return frozenset(w.lower() for w in (*words, *parts))


def drop_repeated_page_lines(pages: list[str], *, edge: int = 3) -> list[str]:
    """Remove header/footer lines: lines near a page edge that recur on most pages."""
    split = [page.split("\n") for page in pages]
    drop = repeated_lines(split, edge=edge)
    return [
        "\n".join(line for i, line in enumerate(lines) if (n, i) not in drop)
        for n, lines in enumerate(split)
    ]


def clean_block(text: str, *, vocabulary: frozenset[str] = frozenset()) -> str:
    """Clean one block of extracted text into paragraphs separated by blank lines (footnotes
    with evidence follow the body)."""
    document = LoadedDocument(
        path=Path("(text)"), format="text", title="", segments=(Segment(text),)
    )
    return _clean(document, vocabulary).text


def clean_document(document: LoadedDocument) -> CleanDocument:
    """Clean all segments of a loaded document and assemble its full text with page offsets,
    the footnotes after the body, and the map back to the source text."""
    vocabulary = vocabulary_of(" ".join(normalize(s.text) for s in document.segments))
    return _clean(document, vocabulary)


def audit(document: CleanDocument) -> list[tuple[int | None, str]]:
    """Sentences of the clean text that do not stand in the source as one contiguous span
    (page, text); empty when every sentence maps back."""
    alignment = Alignment(document)
    failures: list[tuple[int | None, str]] = []
    for paragraph_start, paragraph in _paragraphs(document.text):
        for start, end in sentence_spans(paragraph):
            a, b = paragraph_start + start, paragraph_start + end
            if document.text[a:b].strip() and alignment.span(a, b) is None:
                failures.append((document.page_at(a), document.text[a:b]))
    return failures


# --- the steps -----------------------------------------------------------------------------------
def _clean(document: LoadedDocument, vocabulary: frozenset[str]) -> CleanDocument:
    forms = [source_form(s.text) for s in document.segments]
    lines, source_pages = source_lines(document.segments, forms)
    mark_furniture(lines, document)
    mark_duplicates(lines, document.segments)
    mark_footnotes(lines, document)
    source = "\n\n".join(forms)

    parts: list[str] = []
    anchors: list[Anchor] = []
    pages: list[PageSpan] = []
    headings: list[HeadingSpan] = []
    length = 0
    previous_is_heading = True
    by_segment: dict[int, list[SourceLine]] = {}
    for line in lines:
        by_segment.setdefault(line.segment, []).append(line)
    for number, segment in enumerate(document.segments):
        own = by_segment.get(number, [])
        if segment.heading_level is not None:
            words = " ".join(line.text for line in own if line.kind == "body").split()
            paragraphs = [(" ".join(words), own[0].start)] if words and own else []
        else:
            paragraphs = [
                (_join_lines([line.text for line in p], vocabulary), p[0].start)
                for p in _body_paragraphs(own)
            ]
        if not paragraphs:
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
                and _starts_lower(paragraphs[0][0])
            )
            separator = " " if joins else "\n\n"
            parts.append(separator)
            length += len(separator)
        start = length
        for index, (text, source_start) in enumerate(paragraphs):
            if index:
                parts.append("\n\n")
                length += 2
            anchors.append(Anchor(length, length + len(text), source_start, "body"))
            parts.append(text)
            length += len(text)
        if segment.page is not None:
            pages.append(PageSpan(segment.page, start, length))
        if segment.heading_level is not None:
            headings.append(HeadingSpan(segment.heading_level, paragraphs[0][0], start, length))
        previous_is_heading = segment.heading_level is not None
    body_end = length
    footnotes: list[PageSpan] = []
    for note in _footnote_paragraphs(lines):
        text = _join_lines([line.text for line in note], vocabulary)
        separator = "\n\n" if parts else ""
        parts.append(separator)
        length += len(separator)
        page = document.segments[note[0].segment].page or 0
        anchors.append(Anchor(length, length + len(text), note[0].start, "footnote"))
        footnotes.append(PageSpan(page, length, length + len(text)))
        parts.append(text)
        length += len(text)
    text = "".join(parts)
    # Extend each page to the start of the next, so every offset of the body belongs to a page.
    extended = [
        PageSpan(p.page, p.start, pages[i + 1].start if i + 1 < len(pages) else body_end)
        for i, p in enumerate(pages)
    ]
    return CleanDocument(
        text=text,
        pages=tuple(extended),
        headings=tuple(headings),
        footnotes=tuple(footnotes),
        source=SourceText(source, tuple(source_pages), skips(lines), tuple(anchors)),
        machine_read=tuple(
            ReadPage(s.page, s.confidence or 0.0)
            for s in document.segments
            if s.machine_read and s.page is not None
        ),
        details=document.details,
    )


def _body_paragraphs(lines: list[SourceLine]) -> list[list[SourceLine]]:
    """Body lines grouped into paragraphs; left-out lines are passed over."""
    body = [line for line in lines if line.kind == "body"]
    wrap = _wrap_width([line.text for line in body])
    paragraphs: list[list[SourceLine]] = []
    blank = False
    for line in lines:
        if line.kind == "blank":
            blank = True
            continue
        if line.kind != "body":
            continue
        if paragraphs and _continues(paragraphs[-1][-1].text, line.text, blank, wrap):
            paragraphs[-1].append(line)
        else:
            paragraphs.append([line])
        blank = False
    return paragraphs


def _footnote_paragraphs(lines: list[SourceLine]) -> list[list[SourceLine]]:
    notes: dict[int, list[SourceLine]] = {}
    for line in lines:
        if line.kind == "footnote":
            notes.setdefault(line.footnote, []).append(line)
    return [notes[index] for index in sorted(notes)]


def _paragraphs(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    offset = 0
    for part in text.split("\n\n"):
        found.append((offset, part))
        offset += len(part) + 2
    return found


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
        return wrapped and previous[-1] not in _CLAUSE_END
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
