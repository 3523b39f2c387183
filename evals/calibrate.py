"""Fit the answer-or-refuse decision on the dev split: ``python -m evals.calibrate RUN``.

RUN is an eval run made with ``ASSISTANT_ANSWER_DECISION=none`` (every question that has a
verifiable sentence is answered, and each answer records its signals, ``assistant/decision.py``).
On the run's dev items this fits a logistic regression (scikit-learn) from the signals to "the
reference set says the documents answer this", and picks the threshold for a stated
false-refusal rate on dev (default 0.10). It writes

- ``assistant/decisions/<answer mode>-<model>.json`` (``extractive.json``): the weights the
  assistant applies at run time, with that model;
- ``RUN/calibrated/``: the same run with that decision applied to every item (an answer whose
  probability is under the threshold becomes a refusal), scored and reported like any run.

The holdout items are never used for fitting or for the threshold: their scores in
``RUN/calibrated`` are the honest estimate. Applying the decision to recorded answers gives what
the assistant answers with it (the model's reply does not depend on the decision).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.settings import load_settings
from assistant.decision import SIGNAL_NAMES, Decision, Signals, decision_file
from assistant.index.embed import build_embedder
from assistant.prompting import refusal_text
from evals.html_report import html_report
from evals.reference import Item, load_items
from evals.runner import Outcome, RunResult, _score, summarize, write_run

#: Signals the fit may use. ``type_asked`` only says what kind of question it is; it is kept so
#: ``type_found`` means "asked and found" against "asked and not found".
FEATURES = SIGNAL_NAMES
#: The direction each signal's meaning implies (+1: more of it, more likely answerable; 0: either
#: way). With ~120 dev items and correlated signals (best and cited overlap are often the same
#: sentence) a free fit gives some a weight against their meaning, which would refuse an answer
#: for holding *all* the question's terms; such a signal is left out and the fit repeated.
SIGNS = {
    "retrieval_similarity": 1,
    "best_dense": 1,
    "best_overlap": 1,
    "cited_overlap": 1,
    "focus_found": 1,
    "type_asked": 0,
    "type_found": 1,
    "english": 0,
    "model_answerable": 1,
    "cited_rank": 1,
    "unsupported_figures": -1,
}


def fit(rows: Sequence[dict[str, Any]], mode: str, target: float) -> tuple[Decision, list[float]]:
    """The decision fitted on ``rows`` (dev items with signals), and its dev probabilities."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.array([[row["signals"].get(name, 0.0) for name in FEATURES] for row in rows])
    y = np.array([row["answerable"] for row in rows], dtype=int)
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    # A signal that does not vary on dev (model_answerable in extractive mode) carries nothing.
    used = [i for i, name in enumerate(FEATURES) if scaler.scale_[i] > 1e-9]
    while True:
        model = LogisticRegression(C=1.0, max_iter=1000).fit(z[:, used], y)
        wrong = [
            i
            for i, weight in zip(used, model.coef_[0], strict=True)
            if SIGNS.get(FEATURES[i], 0) * weight < 0
        ]
        if not wrong:
            break
        used = [
            i for i in used if i != max(wrong, key=lambda i: abs(model.coef_[0][used.index(i)]))
        ]
    coef = [0.0] * len(FEATURES)
    for i, weight in zip(used, model.coef_[0], strict=True):
        coef[i] = float(weight)
    probabilities = [float(p) for p in model.predict_proba(z[:, used])[:, 1]]
    threshold = choose_threshold(probabilities, [bool(v) for v in y], target)
    decision = Decision(
        mode=mode,
        features=FEATURES,
        mean=tuple(round(float(v), 6) for v in scaler.mean_),
        scale=tuple(round(float(v), 6) if v > 1e-9 else 1.0 for v in scaler.scale_),
        coef=tuple(round(v, 6) for v in coef),
        intercept=round(float(model.intercept_[0]), 6),
        threshold=round(threshold, 4),
    )
    return decision, probabilities


def choose_threshold(
    probabilities: Sequence[float], answerable: Sequence[bool], target: float
) -> float:
    """The highest threshold that refuses at most ``target`` of the answerable items (the
    stricter the threshold, the more unanswerable questions are refused)."""
    scores = sorted(p for p, a in zip(probabilities, answerable, strict=True) if a)
    if not scores:
        return 0.5
    allowed = int(target * len(scores))  # answerable items that may fall under the threshold
    return scores[allowed] if allowed < len(scores) else scores[-1]


def apply(
    run: dict[str, Any], decision: Decision, items: dict[str, Item], settings: Any
) -> RunResult:
    """The run re-scored as if the assistant had applied ``decision``."""
    embedder = build_embedder(settings)
    scored = []
    for record in run["items"]:
        item = items[record["id"]]
        outcome = _outcome(record)
        if record["signals"] and not record["metrics"]["refused"]:
            values = {name: record["signals"].get(name, 0.0) for name in SIGNAL_NAMES}
            verdict = decision.judge(Signals(**values))
            outcome = replace(outcome, answer_probability=round(verdict.probability, 4))
            if verdict.reason is not None:
                language = "en" if values["english"] else "nl"
                outcome = replace(
                    outcome,
                    answer=refusal_text(language),
                    refused=True,
                    refusal_reason=verdict.reason,
                    quotes=(),
                    quotes_valid=0,
                    grounded=False,
                )
        scored.append(_score(item, outcome, embedder))
    meta = {**run["meta"], "calibrated": decision.to_json()}
    return RunResult(items=scored, summary=summarize(scored), meta=meta)


def _outcome(record: dict[str, Any]) -> Outcome:
    metrics = record["metrics"]
    return Outcome(
        rank=metrics.get("rank"),
        answer=record["answer"],
        refused=metrics["refused"],
        refusal_reason=record["refusal_reason"],
        quotes=tuple(record["quotes"]),
        quotes_valid=metrics.get("quotes_valid", 0),
        grounded=bool(metrics.get("grounded")),
        rejected_quotes=tuple(record["rejected_quotes"]),
        timings=record["timings"],
        prompt_tokens=record["prompt_tokens"],
        completion_tokens=record["completion_tokens"],
        model=record["model"],
        backend=record["backend"],
        settings_hash=record["settings_hash"],
        prompt_version=record["prompt_version"],
        signals=record.get("signals") or {},
        answer_probability=record.get("answer_probability"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate", description=__doc__)
    parser.add_argument("run", type=Path, help="Run folder (or its results.json).")
    parser.add_argument(
        "--false-refusal",
        type=float,
        default=0.10,
        help="Share of answerable dev items the decision may refuse (default 0.10).",
    )
    parser.add_argument("--out", type=Path, help="Decision file (default assistant/decisions/).")
    args = parser.parse_args(argv)
    path = args.run / "results.json" if args.run.is_dir() else args.run
    run = json.loads(path.read_text(encoding="utf-8"))
    settings = run["meta"]["settings"]
    if settings.get("answer_decision") != "none":
        print(
            f"error: {path} was not run with ASSISTANT_ANSWER_DECISION=none, so its refusals "
            "hide the answers a decision must be fitted on; run the eval again with it.",
            file=sys.stderr,
        )
        return 2
    mode = settings["answer_mode"]
    rows = [
        r
        for r in run["items"]
        if r["split"] == "dev" and r["signals"] and not r["metrics"]["refused"]
    ]
    if len({r["answerable"] for r in rows}) < 2:
        print("error: the dev items need both answerable and unanswerable ones.", file=sys.stderr)
        return 2
    decision, _ = fit(rows, mode, args.false_refusal)
    out = args.out or decision_file(mode, str(run["meta"].get("model") or ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        **decision.to_json(),
        "fitted_on": {
            "run": str(path),
            "dev_items": len(rows),
            "false_refusal_target": args.false_refusal,
            "model": run["meta"].get("model"),
        },
    }
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    calibrated = apply(
        run, decision, {i.id: i for i in load_items()}, load_settings(**_same(settings))
    )
    folder = path.parent / "calibrated"
    write_run(calibrated, folder)
    (folder / "report.html").write_text(html_report(calibrated), encoding="utf-8")
    for split, values in calibrated.summary["per_split"].items():
        print(
            f"{split}: grounding {values['grounding']}, key facts {values['key_fact_recall']}, "
            f"unanswerable refused {values['unanswerable_refused']}, answerable wrongly refused "
            f"{values['answerable_wrongly_refused']}"
        )
    print(f"decision: {out} (threshold {decision.threshold}); report: {folder / 'report.md'}")
    return 0


def _same(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide the embedder (for the answer-vs-reference similarity)."""
    return {k: v for k, v in settings.items() if k.startswith("embed")}


if __name__ == "__main__":
    raise SystemExit(main())
