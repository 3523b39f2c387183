from __future__ import annotations

import json
from pathlib import Path

from evals.compare import compare, load_run, load_thresholds, markdown_comparison, violations

BEFORE = {
    "overall": {
        "hit@5": 0.80,
        "answerable_wrongly_refused": 0.30,
        "total_p50_s": 40.0,
        "quote_validity": 1.0,
    },
    "per_kind": {"fact": {"hit@5": 0.9}},
}
AFTER = {
    "overall": {
        "hit@5": 0.70,
        "answerable_wrongly_refused": 0.20,
        "total_p50_s": 50.0,
        "quote_validity": 1.0,
    },
    "per_kind": {"fact": {"hit@5": 0.91}, "list": {"hit@5": 0.5}},
}


def test_regressions_are_flagged_in_the_right_direction() -> None:
    deltas = {(d.scope, d.metric): d for d in compare(BEFORE, AFTER)}
    assert deltas[("overall", "hit@5")].regression  # fell by 0.10
    assert not deltas[("overall", "answerable_wrongly_refused")].regression  # fewer: better
    assert deltas[("overall", "total_p50_s")].regression  # 25% slower
    assert not deltas[("fact", "hit@5")].regression
    assert ("list", "hit@5") not in deltas  # no earlier value to compare with
    table = markdown_comparison(list(deltas.values()), "run A")
    assert "| overall | hit@5 | 0.800 | 0.700 | -0.100 **regression** |" in table


def test_thresholds_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[overall]\n"hit@5_min" = 0.75\nquote_validity_min = 1.0\ntotal_p50_s_max = 45\n',
        encoding="utf-8",
    )
    limits = load_thresholds(path)
    assert violations(AFTER, limits) == [
        "hit@5 = 0.7 (below 0.75)",
        "total_p50_s = 50.0 (above 45.0)",
    ]
    assert violations(BEFORE, limits) == []


def test_the_shipped_thresholds_parse() -> None:
    limits = load_thresholds(Path(__file__).parents[1] / "evals" / "thresholds.toml")
    assert limits["quote_validity_min"] == 1.0


def test_load_run_accepts_folder_or_file(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps({"summary": BEFORE}), encoding="utf-8")
    assert load_run(tmp_path) == load_run(tmp_path / "results.json")
