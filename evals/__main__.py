"""Command line: ``python -m evals [--kind K ...] [--split dev|holdout|all] [--out DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.commandline import activate_interface_language
from assistant.core.commandline import parser as command_parser
from assistant.core.errors import AssistantError
from assistant.core.i18n import _, ngettext
from assistant.core.settings import Settings, load_settings
from evals.compare import compare, load_run, load_thresholds, markdown_comparison, violations
from evals.html_report import html_report
from evals.metrics import CONSOLE_METRICS
from evals.reference import KINDS, Item, load_items, runs_folder, select
from evals.runner import RunResult, evaluate, write_run
from evals.tables import format_value

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


def main(argv: list[str] | None = None, *, prog: str = "python -m evals") -> int:
    # First, so that the help texts below are already in the configured language (.env too).
    activate_interface_language()
    parser = command_parser(
        prog,
        _("Answer the reference questions and write a report (results.json, report.md)."),
        _(
            "examples:\n"
            "  {prog}                                  the dev split (tune on this)\n"
            "  {prog} --split holdout --baseline       the final measurement, with the baseline\n"
            "  {prog} --ids sou-015 un-001 --model qwen2.5-coder-0.5b   a few items, quickly\n"
            "  {prog} --compare evals/runs/<time>      deltas against an earlier run\n"
            "\n"
            "Run from a checkout of the source (the reference set is evals/reference.jsonl);\n"
            "index the corpus first. Reports land in evals/runs/<time>/."
        ).format(prog=prog),
    )
    parser.add_argument("--kind", action="append", choices=KINDS, help=_("Only these kinds."))
    parser.add_argument("--ids", nargs="+", help=_("Only these item ids."))
    parser.add_argument(
        "--split",
        default="dev",
        choices=["dev", "holdout", "all"],
        help=_("dev (default; tune on this), holdout (run at the end), or all."),
    )
    parser.add_argument("--limit", type=int, help=_("At most this many items."))
    parser.add_argument(
        "--backend",
        choices=["auto", "ollama", "embedded"],
        help=_("Language-model backend (default: settings)."),
    )
    parser.add_argument("--model", help=_("Ollama model, or embedded qwen2.5-coder-1.5b/-0.5b."))
    parser.add_argument("--out", type=Path, help=_("Run folder (default: evals/runs/<time>)."))
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="RUN",
        help=_("An earlier run (folder or results.json): report the deltas."),
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help=_(
            "Also run plain llama-index defaults (VectorStoreIndex + CitationQueryEngine) with "
            "the same embedder and model; the report puts both side by side."
        ),
    )
    parser.add_argument(
        "--baseline-only",
        action="store_true",
        help=_(
            "Run only the baseline, into --out/baseline, beside the assistant's run already in "
            "--out (the baseline takes about twice as long; this way it can run on its own)."
        ),
    )
    parser.add_argument(
        "--judge",
        metavar="MODEL",
        help=_(
            "Also score answers with llama-index's CorrectnessEvaluator using this Ollama model "
            "(at OLLAMA_HOST); reported separately: small local judges are unreliable."
        ),
    )
    parser.add_argument(
        "--retrieval-only",
        action="store_true",
        help=_(
            "Score retrieval only, without asking the model (seconds instead of an hour; for "
            "tuning chunking, top-k and fusion)."
        ),
    )
    parser.add_argument(
        "--rescore-baseline",
        type=Path,
        metavar="RUN",
        help=_(
            "Score the baseline answers saved in RUN again (after a change to the scoring), "
            "without asking the model, and rewrite RUN's reports."
        ),
    )
    parser.add_argument(
        "--thresholds",
        type=Path,
        default=THRESHOLDS,
        help=_("TOML with metric limits; crossing one makes the exit code 1."),
    )
    args = parser.parse_args(argv)
    if (args.baseline or args.baseline_only or args.judge) and args.retrieval_only:
        parser.error(_("--baseline and --judge need answers; leave out --retrieval-only."))
    if args.baseline_only and not (args.out and (args.out / "results.json").exists()):
        parser.error(
            _("--baseline-only needs --out: the folder of an assistant run (results.json).")
        )
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
            print(_("error: no reference items match these options."), file=sys.stderr)
            return 2
        earlier = load_run(args.compare) if args.compare else None
        baseline: RunResult | None
        if args.rescore_baseline:
            out = args.rescore_baseline
            run, baseline = _rescore_baseline(out, settings)
        else:
            out = args.out or runs_folder() / datetime.now().strftime("%Y%m%d-%H%M%S")
            run, baseline = _run(args, items, settings, out)
    except AssistantError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 2
    except ValueError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 2
    return _report(args, out, run, baseline, earlier)


def _run(
    args: argparse.Namespace, items: list[Item], settings: Settings, out: Path
) -> tuple[RunResult, RunResult | None]:
    judge = None
    if args.judge:
        from evals.judge import Judge

        judge = Judge(settings, args.judge)
    # Each answer is kept as it comes (``partial.jsonl``): a run stopped halfway goes on where
    # it stopped when started again with the same --out.
    if args.baseline_only:
        saved = load_run(out)
        run = RunResult(items=saved["items"], summary=saved["summary"], meta=saved["meta"])
        items = [item for item in items if item.id in {i["id"] for i in saved["items"]}]
    else:
        run = evaluate(
            items,
            settings,
            retrieval_only=args.retrieval_only,
            judge=judge,
            checkpoint=out / "partial.jsonl",
        )
        write_run(run, out)  # kept even if the baseline below fails
    baseline = None
    if args.baseline or args.baseline_only:
        from evals.baseline import LABEL, Baseline

        baseline = evaluate(
            items,
            settings,
            system=Baseline(settings),
            label=LABEL,
            judge=judge,
            checkpoint=out / "baseline" / "partial.jsonl",
        )
        write_run(baseline, out / "baseline")
    return run, baseline


def _rescore_baseline(folder: Path, settings: Settings) -> tuple[RunResult, RunResult]:
    from evals.baseline import LABEL, Baseline

    ours, theirs = load_run(folder), load_run(folder / "baseline")
    if ours["meta"]["settings_hash"] != settings.hash():
        raise ValueError(
            _(
                "{folder} was run with settings {then}, these are {now}; rescore with the same "
                "ASSISTANT_* settings."
            ).format(folder=folder, then=ours["meta"]["settings_hash"], now=settings.hash())
        )
    run = RunResult(items=ours["items"], summary=ours["summary"], meta=ours["meta"])
    saved = {item["id"]: item for item in theirs["items"]}
    items = select(load_items(), ids=list(saved), split="all")
    baseline_system = Baseline(settings)
    baseline = evaluate(
        items,
        settings,
        system=lambda item: baseline_system.rescore(item, saved[item.id]),
        label=LABEL,
    )
    baseline.meta.update(
        rescored_from=str(folder / "baseline" / "results.json"),
        seconds=theirs["meta"]["seconds"],
        created_at=theirs["meta"]["created_at"],
    )
    write_run(baseline, folder / "baseline")
    return run, baseline


def _report(
    args: argparse.Namespace,
    out: Path,
    run: RunResult,
    baseline: RunResult | None,
    earlier: dict[str, Any] | None,
) -> int:
    extra = []
    side_by_side = compare(baseline.summary, run.summary) if baseline else None
    if side_by_side:
        extra.append(markdown_comparison(side_by_side, "the llama-index baseline", "baseline"))
    deltas = compare(earlier["summary"], run.summary) if earlier else []
    if earlier:
        extra.append(markdown_comparison(deltas, str(args.compare)))
    problems = violations(run.summary, load_thresholds(args.thresholds))
    if problems:
        extra.append("## Threshold violations\n\n" + "\n".join(f"- {p}" for p in problems) + "\n")
    write_run(run, out, "\n".join(extra))
    (out / "report.html").write_text(
        html_report(
            run,
            baseline=baseline,
            side_by_side=side_by_side,
            earlier_label=str(args.compare) if earlier else None,
            deltas=deltas if earlier else None,
            violations=problems,
        ),
        encoding="utf-8",
    )
    overall = run.summary["overall"]
    count = len(run.items)
    print(
        ngettext("{n} item -> {report}", "{n} items -> {report}", count).format(
            n=count, report=f"{out}/report.html"
        )
    )
    if baseline:
        print(f"  {'metric':<28} {'assistant':>10} {'baseline':>10}")
    for key in CONSOLE_METRICS:
        ours = _show(overall.get(key))
        if baseline:
            print(f"  {key:<28} {ours:>10} {_show(baseline.summary['overall'].get(key)):>10}")
        else:
            print(f"  {key:<28} {ours}")
    for delta in deltas:
        if delta.regression:
            regression = _("REGRESSION {scope} {metric}: {before} -> {after}").format(
                scope=delta.scope, metric=delta.metric, before=delta.before, after=delta.after
            )
            print(f"  {regression}")
    for problem in problems:
        print("  " + _("THRESHOLD {problem}").format(problem=problem))
    return 1 if problems else 0


def _show(value: object) -> str:
    return format_value(value, missing="None")


if __name__ == "__main__":
    sys.exit(main())
