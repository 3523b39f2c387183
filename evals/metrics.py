"""Eval metrics as pure functions over reference items and answers (no model, no index).

Spans are compared in the clean text of the corpus documents, the same text quotes are verified
against. A retrieved passage or a shown quote "hits" a reference source when it lies in the same
document and overlaps the reference quote's span.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Metric:
    """A headline metric of the summary, and where it is shown besides report.md and --compare."""

    name: str
    #: A rate between 0 and 1 drawn as a bar per kind (and side by side) in report.html.
    bar: bool = False
    #: Printed on the console after a run.
    console: bool = False
    #: Lower is better (a rise is the regression); every other rate is better when higher.
    #: Latencies (``*_s``) are lower-is-better by their own rule, with a relative tolerance.
    lower_is_better: bool = False


#: The headline metrics, in the order of the rows of report.md and report.html.
METRICS = (
    Metric("hit@1"),
    Metric("hit@3"),
    Metric("hit@5", bar=True, console=True),
    Metric("mrr@10", bar=True, console=True),
    Metric("quote_validity", console=True),
    Metric("grounding", bar=True, console=True),
    Metric("key_fact_recall", bar=True, console=True),
    Metric("similarity", bar=True),
    Metric("unanswerable_refused", bar=True, console=True),
    Metric("answerable_wrongly_refused", bar=True, console=True, lower_is_better=True),
    Metric("total_p50_s", console=True),
    Metric("total_p95_s"),
)
#: The headline metrics: the rows of report.md and what --compare compares.
HEADLINE_METRICS = tuple(m.name for m in METRICS)
#: Rows of report.html's summary table after the headline metrics.
TOKEN_METRICS = ("prompt_tokens_mean", "completion_tokens_mean")
#: Rates shown as bars per kind in report.html.
BAR_METRICS = tuple(m.name for m in METRICS if m.bar)
#: The overall bars of report.html, the assistant beside the baseline.
COMPARISON_BAR_METRICS = tuple(dict.fromkeys(("hit@1", "hit@3", *BAR_METRICS, "quote_validity")))
#: What the console shows after a run.
CONSOLE_METRICS = tuple(m.name for m in METRICS if m.console)
#: Metrics where lower is better; every other numeric metric is better when higher.
LOWER_IS_BETTER = tuple(m.name for m in METRICS if m.lower_is_better)


@dataclass(frozen=True)
class SourceSpan:
    """Where a reference quote (or a passage, or a shown quote) stands: file name + offsets."""

    document: str
    start: int
    end: int

    def overlaps(self, other: SourceSpan) -> bool:
        return self.document == other.document and self.start < other.end and other.start < self.end


def first_hit_rank(retrieved: Sequence[SourceSpan], references: Sequence[SourceSpan]) -> int | None:
    """1-based rank of the first retrieved span that overlaps a reference span, or None."""
    for rank, span in enumerate(retrieved, start=1):
        if any(span.overlaps(reference) for reference in references):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def key_fact_recall(answer: str, key_facts: Sequence[str]) -> float | None:
    """Share of key facts that occur in the answer (case and whitespace insensitive)."""
    if not key_facts:
        return None
    text = _SPACE.sub(" ", answer).lower()
    found = sum(_SPACE.sub(" ", fact).lower().strip() in text for fact in key_facts)
    return found / len(key_facts)


def grounded(quotes: Sequence[SourceSpan], references: Sequence[SourceSpan]) -> bool:
    """Does any shown quote overlap a reference passage?"""
    return any(q.overlaps(r) for q in quotes for r in references)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    position = (len(data) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None
