"""Quote verification: is this text really in the document, and where?

Deterministic code, never the model's word. A quote is accepted only when it occurs in the
document's clean text, tolerating nothing but differences in whitespace (runs, line breaks) and
in quote marks (typographic vs straight). The match is mapped back to character offsets in the
original clean text, so ``text[start:end]`` is what the user is shown and can check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Typographic quote marks and primes folded onto their ASCII forms before matching.
_QUOTE_MARKS = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "´": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
    }
)
_WHITESPACE = re.compile(r"\s+")
#: Shorter quotes prove nothing (``de``, ``het kabinet``) and are refused.
MIN_QUOTE_CHARS = 12


@dataclass(frozen=True)
class Span:
    """Characters ``[start, end)`` of the document text."""

    start: int
    end: int


class NormalizedText:
    """A text with whitespace runs collapsed and quote marks folded, mapped back to the original.

    ``positions[i]`` is the offset in the original text of normalized character ``i``.
    """

    def __init__(self, text: str) -> None:
        self.original = text
        chars: list[str] = []
        positions: list[int] = []
        pending_space = False
        for offset, char in enumerate(text):
            if char.isspace():
                pending_space = bool(chars)
                continue
            if pending_space:
                chars.append(" ")
                positions.append(offset - 1)
                pending_space = False
            chars.append(char.translate(_QUOTE_MARKS))
            positions.append(offset)
        self.text = "".join(chars)
        self.positions = positions

    def find(self, normalized_quote: str, near: int | None = None) -> Span | None:
        """The original span of ``normalized_quote``; the occurrence nearest ``near`` if several."""
        if not normalized_quote:
            return None
        hits: list[int] = []
        index = self.text.find(normalized_quote)
        while index >= 0:
            hits.append(index)
            index = self.text.find(normalized_quote, index + 1)
        if not hits:
            return None
        anchor = hits[0] if near is None else near
        best = min(hits, key=lambda i: abs(self.positions[i] - anchor))
        last = best + len(normalized_quote) - 1
        return Span(self.positions[best], self.positions[last] + 1)


def snap_to_words(text: str, span: Span) -> Span:
    """Widen a span so it neither starts nor ends in the middle of a word ("in ac" -> "in acht")."""
    start, end = span.start, span.end
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return Span(start, end)


def normalize_quote(text: str) -> str:
    """The form in which quotes are compared: whitespace collapsed, quote marks folded."""
    return _WHITESPACE.sub(" ", text.translate(_QUOTE_MARKS)).strip()


def strip_wrapping_quotes(text: str) -> str:
    """Models often wrap a quote in quote marks that are not part of the source; drop them."""
    stripped = text.strip()
    while len(stripped) >= 2 and stripped[0] in "\"'“”‘’„«»" and stripped[-1] in "\"'“”‘’»«":
        stripped = stripped[1:-1].strip()
    return stripped


def locate(quote: str, document: NormalizedText, *, near: int | None = None) -> Span | None:
    """Where ``quote`` stands verbatim in ``document`` (modulo whitespace and quote marks).

    Returns None when it does not occur, or is too short to count as evidence.
    """
    wanted = normalize_quote(quote)
    if len(wanted) < MIN_QUOTE_CHARS:
        return None
    span = document.find(wanted, near)
    if span is None:
        unwrapped = normalize_quote(strip_wrapping_quotes(quote))
        if unwrapped != wanted and len(unwrapped) >= MIN_QUOTE_CHARS:
            span = document.find(unwrapped, near)
    return span
