"""Turning cited spans into quotes, each one found verbatim in the document's source text.

The model is never trusted: a span becomes a :class:`Quote` only when its text is located in
the document's clean text (``quotes.locate``) AND that passage stands as one contiguous span of
the source text, the text as extracted from the file (``assistant/index/source.py``), so that a
cleaning defect can never pass for a quote. Otherwise it is recorded as a
:class:`RejectedQuote` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assistant.documents import PinnedTexts
from assistant.quotes import locate, snap_to_words
from assistant.types import Quote, RejectedQuote

if TYPE_CHECKING:
    # Only a type here: citations pulls in llama-index, which `python -m assistant verify`
    # (checking an export, no model) should not wait for.
    from assistant.citations import Evidence

_NO_SOURCE = (
    "cannot be checked against the source: the document was indexed by an older version "
    "(run `python -m ingest` to index it again)"
)
_NOT_IN_SOURCE = "not one contiguous passage of the source document"


def verify_quotes(
    evidence: Iterable[Evidence], texts: PinnedTexts
) -> tuple[list[Quote], list[RejectedQuote]]:
    """Turn cited spans into quotes, each verified against the stored document text."""
    quotes: list[Quote] = []
    rejected: list[RejectedQuote] = []
    for document_id, start, end in _merged(evidence):
        candidate = texts.get(document_id).text.text[start:end].strip()
        result = prove(candidate, document_id, texts, near=start)
        if isinstance(result, Quote):
            quotes.append(result)
        else:
            rejected.append(result)
    return quotes, rejected


def prove(
    candidate: str, document_id: str, texts: PinnedTexts, *, near: int
) -> Quote | RejectedQuote:
    """``candidate`` as a verified quote of the document (the occurrence nearest ``near``), or
    the reason it is not one. Re-checking an export (``reverify.py``) goes through here too, so
    a quote "still stands" by exactly the rules that admitted it."""
    stored = texts.get(document_id)
    span = locate(candidate, texts.normalized(document_id), near=near)
    if span is not None:
        span = snap_to_words(stored.text.text, span)
    if span is None:
        return RejectedQuote(candidate, "not found verbatim in the document", document_id)
    alignment = texts.alignment(document_id)
    if alignment is None:
        return RejectedQuote(candidate, _NO_SOURCE, document_id)
    in_source = alignment.span(span.start, span.end)
    if in_source is None:
        return RejectedQuote(candidate, _NOT_IN_SOURCE, document_id)
    return Quote(
        text=stored.text.text[span.start : span.end],
        document=document_id,
        title=stored.title,
        page=stored.text.page_at(span.start),
        start=span.start,
        end=span.end,
        source=stored.source,
        heading=stored.text.heading_at(span.start),
        source_start=in_source.start,
        source_end=in_source.end,
        footnote=stored.text.in_footnote(span.start),
        machine_read=stored.text.is_machine_read(span.start),
        details=stored.text.details,
        document_sha256=texts.sha256(document_id),
    )


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
