"""The records the index stores and both wings read: a document's clean text with its page,
heading and footnote positions, the extracted source text it was cleaned from (with what the
cleaner left out of the body, and where each clean region starts in the source), and the chunks
cut from the clean text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpan:
    """Characters ``[start, end)`` of the clean text came from page ``page``."""

    page: int
    start: int
    end: int


@dataclass(frozen=True)
class HeadingSpan:
    """A heading of the document and where it stands in the clean text."""

    level: int
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class SkipSpan:
    """Characters ``[start, end)`` of the source text that the cleaner left out of the body.

    ``kind``: ``furniture`` (a page number, a running header or footer), ``footnote`` (a footnote
    block at a page foot, indexed apart as a footnote) or ``duplicate`` (a line repeated by a
    faulty extraction). Quotes may pass over such spans only where ``assistant/index/source.py``
    allows it.
    """

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Anchor:
    """A region ``[clean_start, clean_end)`` of the clean text cleaned, in order, from the source
    text starting at ``source_start``: the body, or one footnote (``kind`` ``body``/``footnote``).
    Within a region the clean text's characters stand in the source in the same order."""

    clean_start: int
    clean_end: int
    source_start: int
    kind: str


@dataclass(frozen=True)
class SourceText:
    """The document's text as extracted from the file (Unicode NFC, ``\\n`` line ends; the
    segments of the file, pages of a PDF, joined by blank lines): what a reader finds when they
    open the original, and what every quote is verified against."""

    text: str
    #: Source offsets of the pages (PDF), empty for formats without pages.
    pages: tuple[PageSpan, ...] = ()
    skips: tuple[SkipSpan, ...] = ()
    anchors: tuple[Anchor, ...] = ()

    def page_at(self, offset: int) -> int | None:
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return None


@dataclass(frozen=True)
class ReadPage:
    """A page whose text was read by OCR from an image, with Tesseract's mean word confidence."""

    page: int
    confidence: float


@dataclass(frozen=True)
class CleanDocument:
    """The cleaned full text of a document, with page, heading and footnote positions in it,
    and the source text it was cleaned from."""

    text: str
    pages: tuple[PageSpan, ...]
    headings: tuple[HeadingSpan, ...]
    #: Footnotes, cut out of the body and placed after it, one span each (page: where it stood).
    footnotes: tuple[PageSpan, ...] = ()
    source: SourceText | None = None
    #: Pages read by OCR (a scan): their quotes are marked machine-read.
    machine_read: tuple[ReadPage, ...] = ()
    #: Labelled facts shown with the document's quotes (an e-mail's sender, recipients, date).
    details: tuple[tuple[str, str], ...] = ()

    def is_machine_read(self, offset: int) -> bool:
        """Was the text at ``offset`` read by OCR?"""
        if not self.machine_read:
            return False
        page = self.page_at(offset)
        return any(read.page == page for read in self.machine_read)

    def in_footnote(self, offset: int) -> bool:
        return any(span.start <= offset < span.end for span in self.footnotes)

    def page_at(self, offset: int) -> int | None:
        """The page that character ``offset`` came from, if the format has pages."""
        for span in self.footnotes:
            if span.start <= offset < span.end and span.page:
                return span.page
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].start else None

    def heading_at(self, offset: int) -> str | None:
        """The nearest heading at or before ``offset`` (none for a footnote)."""
        if self.in_footnote(offset):
            return None
        current = None
        for heading in self.headings:
            if heading.start > offset:
                break
            current = heading.title
        return current


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, with where it stands in the document's clean text."""

    id: str
    document_id: str
    index: int
    text: str
    start: int
    end: int
    page: int | None
    heading: str | None
    content_hash: str
