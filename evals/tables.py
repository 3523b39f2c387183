"""The tables report.md, report.html and the console share: one way to lay out and format them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def format_value(value: object, missing: str = "–") -> str:
    """A metric as shown in a report: floats to three decimals, ``missing`` for None."""
    if value is None:
        return missing
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


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
        [metric, *(format_value(values.get(metric)) for values in columns.values())]
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
    return "| " + " | ".join(cells) + " |"
