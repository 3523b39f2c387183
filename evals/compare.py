"""Compare a run with an earlier one, and check it against the thresholds in a config file."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.metrics import HEADLINE_METRICS, LOWER_IS_BETTER
from evals.tables import markdown_table

#: Changes smaller than this are noise (rates); latencies may vary by this fraction.
RATE_TOLERANCE = 0.02
LATENCY_TOLERANCE = 0.10


@dataclass(frozen=True)
class Delta:
    """One metric of one scope (``overall`` or a kind) in two runs."""

    scope: str
    metric: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def regression(self) -> bool:
        change = self.change
        if change is None or self.before is None:
            return False
        if self.metric.endswith("_s"):
            return change > LATENCY_TOLERANCE * self.before
        if self.metric in LOWER_IS_BETTER:
            return change > RATE_TOLERANCE
        return change < -RATE_TOLERANCE


def load_run(path: Path) -> dict[str, Any]:
    """A run's ``results.json`` (give the file or its run folder)."""
    file = path / "results.json" if path.is_dir() else path
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file} is not a run's results.json ({exc})") from exc
    return data


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[Delta]:
    """Deltas of every compared metric, overall and for each kind present in both runs."""
    scopes = [("overall", before["overall"], after["overall"])]
    for kind, values in after.get("per_kind", {}).items():
        if kind in before.get("per_kind", {}):
            scopes.append((kind, before["per_kind"][kind], values))
    return [
        Delta(scope, metric, old.get(metric), new.get(metric))
        for scope, old, new in scopes
        for metric in HEADLINE_METRICS
    ]


def load_thresholds(path: Path) -> dict[str, float]:
    """``[overall]`` minima/maxima from a TOML file: ``<metric>_min = x`` / ``<metric>_max = y``."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {str(k): float(v) for k, v in data.get("overall", {}).items()}


def violations(summary: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """Human-readable threshold violations of a run's overall metrics (empty: all fine)."""
    problems = []
    overall = summary["overall"]
    for key, limit in sorted(thresholds.items()):
        metric, _, bound = key.rpartition("_")
        value = overall.get(metric)
        if value is None or bound not in ("min", "max"):
            continue
        if (bound == "min" and value < limit) or (bound == "max" and value > limit):
            problems.append(
                f"{metric} = {value} ({'below' if bound == 'min' else 'above'} {limit})"
            )
    return problems


def markdown_comparison(deltas: list[Delta], label: str, before: str = "before") -> str:
    """A table of ``deltas``; ``before`` names the earlier column (``after`` is this run)."""
    after = "assistant" if before == "baseline" else "after"
    rows = [
        [
            delta.scope,
            delta.metric,
            f"{delta.before:.3f}",
            f"{delta.after:.3f}",
            f"{delta.change:+.3f}" + (" **regression**" if delta.regression else ""),
        ]
        for delta in deltas
        if delta.change is not None
    ]
    lines = [
        f"## Compared with {label}",
        "",
        *markdown_table(["scope", "metric", before, after, "change"], rows),
    ]
    return "\n".join(lines) + "\n"
