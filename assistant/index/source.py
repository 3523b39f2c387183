"""From the clean text back to the source: does a quote stand in the document as extracted?

The clean text is what chunks, prompts and quotes are cut from; the source text is what the
file says (``SourceText``). A quote counts as verbatim only when its characters are ONE
contiguous span of the source, apart from what may stand between two of its characters:

- whitespace and line breaks, invisible characters (soft hyphens, zero-width spaces);
- a hyphen at a line end (``verant-`` / ``woordelijkheid``);
- within the body: page furniture (page numbers, running headers and footers) and a footnote
  block at a page foot, where a sentence continues on the next page; lines a faulty extraction
  repeated. Within a footnote: furniture and repeated lines only.

Nothing else may be skipped, so a quote that joins words the source does not join (text moved
by a cleaner, a footnote glued into a sentence) is rejected. The alignment that finds the span
is computed here from the stored anchors (where each clean region starts in the source), and
every character and every gap is checked again, so a wrong alignment can only reject a quote,
never pass one.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from assistant.index.records import Anchor, CleanDocument, SourceText

_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
#: What a region of each kind may pass over in the source.
SKIPPABLE = {
    "body": frozenset({"furniture", "footnote", "duplicate"}),
    "footnote": frozenset({"furniture", "duplicate"}),
}


@dataclass(frozen=True)
class SourceSpan:
    """Where a quote stands in the source text: ``[start, end)`` and the page (PDF)."""

    start: int
    end: int
    page: int | None


class Unmapped(ValueError):
    """A character of the clean text that does not stand in the source where it should."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"clean offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


def line_end_hyphen(text: str, index: int) -> bool:
    """Is ``text[index]`` a hyphen that ends a line after a letter (a word broken in two)?"""
    if text[index] != "-" or index == 0 or not text[index - 1].isalpha():
        return False
    rest = index + 1
    while rest < len(text) and text[rest] in " \t":
        rest += 1
    return rest >= len(text) or text[rest] == "\n"


class _Skips:
    """The source's skipped spans of the kinds one region may pass over, for quick lookup."""

    def __init__(self, source: SourceText, kind: str) -> None:
        allowed = SKIPPABLE[kind]
        spans = sorted((s.start, s.end) for s in source.skips if s.kind in allowed)
        self._starts = [start for start, _end in spans]
        self._spans = spans

    def end_of(self, offset: int) -> int | None:
        """The end of the skipped span that contains ``offset``, if any."""
        index = bisect.bisect_right(self._starts, offset) - 1
        if index >= 0 and offset < self._spans[index][1]:
            return self._spans[index][1]
        return None


def _gap_allowed(text: str, start: int, end: int, skips: _Skips) -> bool:
    """May ``text[start:end]`` stand between two characters of one quote?"""
    index = start
    while index < end:
        skipped = skips.end_of(index)
        if skipped is not None:
            index = skipped
            continue
        char = text[index]
        if not (char.isspace() or char in _INVISIBLE or line_end_hyphen(text, index)):
            return False
        index += 1
    return True


class Alignment:
    """Where each non-space character of a document's clean text stands in its source."""

    def __init__(self, document: CleanDocument) -> None:
        if document.source is None:
            raise ValueError("the document was indexed without its source text")
        self.document = document
        self.source = document.source
        self._skips = {kind: _Skips(self.source, kind) for kind in SKIPPABLE}
        self.positions: list[int] = [-1] * len(document.text)
        self.kinds: list[str | None] = [None] * len(document.text)
        self.errors: list[Unmapped] = []
        for anchor in self.source.anchors:
            try:
                self._walk(anchor)
            except Unmapped as exc:
                self.errors.append(exc)

    def _walk(self, anchor: Anchor) -> None:
        clean, source = self.document.text, self.source.text
        skips = self._skips[anchor.kind]
        at = anchor.source_start
        for offset in range(anchor.clean_start, anchor.clean_end):
            char = clean[offset]
            self.kinds[offset] = anchor.kind
            if char.isspace():
                continue
            while True:
                if at >= len(source):
                    raise Unmapped(offset, "the source ends before the clean text")
                skipped = skips.end_of(at)
                if skipped is not None:
                    at = skipped
                    continue
                found = source[at]
                if found == char:
                    break
                if found.isspace() or found in _INVISIBLE or line_end_hyphen(source, at):
                    at += 1
                    continue
                raise Unmapped(offset, f"{char!r} where the source has {found!r}")
            self.positions[offset] = at
            at += 1

    def span(self, start: int, end: int) -> SourceSpan | None:
        """The one contiguous source span that clean text ``[start, end)`` stands for, or None
        when there is none (a character not in the source, two regions, a forbidden gap)."""
        clean, source = self.document.text, self.source.text
        offsets = [i for i in range(max(0, start), min(end, len(clean))) if not clean[i].isspace()]
        if not offsets:
            return None
        kinds = {self.kinds[i] for i in offsets}
        if len(kinds) != 1 or None in kinds:
            return None
        kind = kinds.pop()
        assert kind is not None
        skips = self._skips[kind]
        previous = -1
        for offset in offsets:
            position = self.positions[offset]
            if position < 0 or position <= previous or source[position] != clean[offset]:
                return None
            if previous >= 0 and not _gap_allowed(source, previous + 1, position, skips):
                return None
            previous = position
        first = self.positions[offsets[0]]
        return SourceSpan(first, previous + 1, self.source.page_at(first))
