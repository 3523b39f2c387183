"""The records the index stores and both wings read: a document's clean text with its page and
heading positions, and the chunks cut from it."""

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
class CleanDocument:
    """The cleaned full text of a document, with page and heading positions in it."""

    text: str
    pages: tuple[PageSpan, ...]
    headings: tuple[HeadingSpan, ...]

    def page_at(self, offset: int) -> int | None:
        """The page that character ``offset`` came from, if the format has pages."""
        for span in self.pages:
            if span.start <= offset < span.end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].start else None

    def heading_at(self, offset: int) -> str | None:
        """The nearest heading at or before ``offset``."""
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
