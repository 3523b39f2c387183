"""Turning cited spans into quotes, each one found verbatim in the stored document text.

The model is never trusted: a span becomes a :class:`Quote` only when its text is located in
the document (``quotes.locate``); otherwise it is recorded as a :class:`RejectedQuote`.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant.citations import Evidence
from assistant.documents import PinnedTexts
from assistant.quotes import locate, snap_to_words
from assistant.types import Quote, RejectedQuote


def verify_quotes(
    evidence: Iterable[Evidence], texts: PinnedTexts
) -> tuple[list[Quote], list[RejectedQuote]]:
    """Turn cited spans into quotes, each verified against the stored document text."""
    quotes: list[Quote] = []
    rejected: list[RejectedQuote] = []
    for document_id, start, end in _merged(evidence):
        stored = texts.get(document_id)
        candidate = stored.text.text[start:end].strip()
        span = locate(candidate, texts.normalized(document_id), near=start)
        if span is not None:
            span = snap_to_words(stored.text.text, span)
        if span is None:
            rejected.append(
                RejectedQuote(candidate, "not found verbatim in the document", document_id)
            )
            continue
        quotes.append(
            Quote(
                text=stored.text.text[span.start : span.end],
                document=document_id,
                title=stored.title,
                page=stored.text.page_at(span.start),
                start=span.start,
                end=span.end,
                source=stored.source,
                heading=stored.text.heading_at(span.start),
            )
        )
    return quotes, rejected


def _merged(evidence: Iterable[Evidence]) -> list[tuple[str, int, int]]:
    """The cited spans in document order; adjacent or overlapping spans make one quote."""
    spans: list[tuple[str, int, int]] = []
    for item in sorted(set(evidence), key=lambda e: (e.document, e.start)):
        if spans and spans[-1][0] == item.document:
            document, start, end = spans[-1]
            if item.start - end <= 2:
                spans[-1] = (document, start, max(end, item.end))
                continue
        spans.append((item.document, item.start, item.end))
    return spans
