"""Command line: ``python -m evals [--kind K ...] [--split dev|holdout|all] [--out DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path

from assistant import _runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.errors import AssistantError
from assistant.settings import load_settings
from evals.compare import compare, load_run, load_thresholds, markdown_comparison, violations
from evals.reference import KINDS, load_items, select
from evals.runner import evaluate, write_run

RUNS = Path(__file__).resolve().parent / "runs"
THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Answer the reference questions and write a report (results.json, report.md).",
    )
    parser.add_argument("--kind", action="append", choices=KINDS, help="Only these kinds.")
    parser.add_argument("--ids", nargs="+", help="Only these item ids.")
    parser.add_argument(
        "--split",
        default="dev",
        choices=["dev", "holdout", "all"],
        help="dev (default; tune on this), holdout (run at the end), or all.",
    )
    parser.add_argument("--limit", type=int, help="At most this many items.")
    parser.add_argument(
        "--backend",
        choices=["auto", "ollama", "embedded"],
        help="Language-model backend (default: settings).",
    )
    parser.add_argument("--model", help="Ollama model, or embedded qwen2.5-coder-1.5b/-0.5b.")
    parser.add_argument("--out", type=Path, help="Run folder (default: evals/runs/<time>).")
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="RUN",
        help="An earlier run (folder or results.json): report the deltas.",
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=THRESHOLDS,
        help="TOML with metric limits; crossing one makes the exit code 1.",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    overrides: dict[str, object] = {}
    if args.backend:
        overrides["llm_backend"] = args.backend
    if args.model:
        key = "llm_embedded_model" if args.model.startswith("qwen2.5-coder") else "llm_model"
        overrides[key] = args.model
    try:
        settings = load_settings(**overrides)
        items = select(
            load_items(), kinds=args.kind, ids=args.ids, split=args.split, limit=args.limit
        )
        if not items:
            print("error: no reference items match these options.", file=sys.stderr)
            return 2
        run = evaluate(items, settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    extra = []
    deltas = []
    if args.compare:
        earlier = load_run(args.compare)
        deltas = compare(earlier["summary"], run.summary)
        extra.append(markdown_comparison(deltas, str(args.compare)))
    problems = violations(run.summary, load_thresholds(args.thresholds))
    if problems:
        extra.append("## Threshold violations\n\n" + "\n".join(f"- {p}" for p in problems) + "\n")
    out = args.out or RUNS / datetime.now().strftime("%Y%m%d-%H%M%S")
    write_run(run, out, "\n".join(extra))
    overall = run.summary["overall"]
    print(f"{len(items)} items -> {out}")
    for key in (
        "hit@5",
        "mrr@10",
        "quote_validity",
        "grounding",
        "key_fact_recall",
        "unanswerable_refused",
        "answerable_wrongly_refused",
        "total_p50_s",
    ):
        print(f"  {key:<28} {overall.get(key)}")
    for delta in deltas:
        if delta.regression:
            print(f"  REGRESSION {delta.scope} {delta.metric}: {delta.before} -> {delta.after}")
    for problem in problems:
        print(f"  THRESHOLD {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
