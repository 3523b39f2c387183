"""The tables report.md, report.html and the console share: one way to lay out and format them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Numbers, with decimals and a percent sign: "holds 20% (< 25%)" and "holds 33% (< 25%)" are
# the same reason for a refusal, measured on another question.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\s?%)?")


def format_value(value: object, missing: str = "–") -> str:
    """A metric as shown in a report: floats to three decimals, ``missing`` for None."""
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_with_interval(values: dict[str, Any], metric: str) -> str:
    """A metric with its confidence interval when the summary has one: ``0.452 [0.38–0.52]``.

    The bounds get two decimals: on tens of items the third would be noise.
    """
    value, interval = values.get(metric), values.get(f"{metric}_ci")
    if value is None or not interval:
        return format_value(value)
    low, high = interval
    return f"{format_value(value)} [{low:.2f}–{high:.2f}]"


def summary_columns(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The columns of the summary table: overall, each split (when there are several), each
    kind; every column maps metric names to values."""
    columns = {"overall": summary["overall"]}
    splits = summary.get("per_split", {})
    if len(splits) > 1:
        columns.update({f"split {name}": values for name, values in splits.items()})
    columns.update(summary["per_kind"])
    return columns


def summary_table(
    summary: dict[str, Any], metrics: Iterable[str]
) -> tuple[list[str], list[list[str]]]:
    """The summary table as text: the header (``metric`` and the column names) and one row a
    metric (its name and its formatted value in each column)."""
    columns = summary_columns(summary)
    header = ["metric", *columns]
    rows = [
        [metric, *(format_with_interval(values, metric) for values in columns.values())]
        for metric in metrics
    ]
    return header, rows


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return [
        _markdown_row(header),
        _markdown_row(["---"] * len(header)),
        *(_markdown_row(row) for row in rows),
    ]


def _markdown_row(cells: Iterable[str]) -> str:
    # A "|" in a cell (a refusal reason, say) would start a new column.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def normalise_reason(reason: str | None) -> str:
    """A refusal reason with its numbers as ``N``, so that the same reason groups together."""
    if not reason:
        return "(no reason recorded)"
    return _NUMBER.sub("N", " ".join(reason.split()))


def refusal_reason_table(
    items: Sequence[dict[str, Any]], top: int = 10
) -> tuple[list[str], list[list[str]]]:
    """Why answerable items were refused: the ``top`` most frequent reasons (numbers grouped),
    each with its count, its share of the answerable items and up to three example ids."""
    answerable = [i for i in items if i["answerable"]]
    groups: dict[str, list[str]] = {}
    for item in sorted(answerable, key=_item_id):
        if item["metrics"].get("refused"):
            groups.setdefault(normalise_reason(item.get("refusal_reason")), []).append(item["id"])
    ranked = sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))[:top]
    header = ["reason", "count", "share of answerable items", "example items"]
    rows = [
        [reason, str(len(ids)), format_value(len(ids) / len(answerable)), ", ".join(ids[:3])]
        for reason, ids in ranked
    ]
    return header, rows


@dataclass(frozen=True)
class FailureClass:
    """A kind of failure, how many items fell in it, and the first few of them by id."""

    name: str
    count: int
    examples: list[dict[str, Any]]

    @property
    def heading(self) -> str:
        """``answered, not grounded (12 items; the first 3 by id)``."""
        items = f"{self.count} item{'' if self.count == 1 else 's'}"
        if self.count > len(self.examples):
            items += f"; the first {len(self.examples)} by id"
        return f"{self.name} ({items})"


def _wrongly_refused(item: dict[str, Any]) -> bool:
    return bool(item["answerable"] and item["metrics"].get("wrongly_refused"))


def _not_grounded(item: dict[str, Any]) -> bool:
    metrics = item["metrics"]
    return bool(item["answerable"] and not metrics["refused"] and metrics.get("grounded") is False)


def _facts_missing(item: dict[str, Any]) -> bool:
    metrics = item["metrics"]
    recall = metrics.get("key_fact_recall")
    answered = item["answerable"] and not metrics["refused"]
    return bool(answered and recall is not None and recall < 0.5)


def _answered_anyway(item: dict[str, Any]) -> bool:
    return not item["answerable"] and item["metrics"].get("correctly_refused") is False


#: The failure classes of the worked examples, in the order they are shown.
FAILURE_CLASSES: tuple[tuple[str, Callable[[dict[str, Any]], bool]], ...] = (
    ("answerable, wrongly refused", _wrongly_refused),
    ("answered, not grounded", _not_grounded),
    ("answered, key facts missing", _facts_missing),
    ("unanswerable, answered anyway", _answered_anyway),
)


def failure_examples(items: Sequence[dict[str, Any]], per_class: int = 3) -> list[FailureClass]:
    """Every failure class with its first ``per_class`` items (by id): what to read first."""
    ordered = sorted(items, key=_item_id)
    classes = []
    for name, belongs in FAILURE_CLASSES:
        members = [i for i in ordered if belongs(i)]
        classes.append(FailureClass(name, len(members), members[:per_class]))
    return classes


def assistant_said(item: dict[str, Any]) -> str:
    """The answer on one line, or why it was refused."""
    if item["metrics"].get("refused"):
        return f"refused: {normalise_text(item.get('refusal_reason') or 'no reason recorded')}"
    return normalise_text(item.get("answer") or "")


def first_quote(item: dict[str, Any], limit: int = 200) -> str | None:
    """The first shown quote on one line, cut at ``limit`` characters; None without quotes."""
    quotes = item.get("quotes") or []
    if not quotes:
        return None
    text = normalise_text(quotes[0]["text"])
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def normalise_text(text: str) -> str:
    """``text`` on one line: a newline in an answer would break a Markdown list item."""
    return " ".join(text.split())


def _item_id(item: dict[str, Any]) -> str:
    return str(item["id"])
