"""Follow-up questions: the hand-written conversations (``evals/conversations.jsonl``), asked
turn by turn with the conversation so far, scored with the reference set's metrics plus "the
standalone question keeps the subject"; llama-index's ``CondensePlusContextChatEngine`` is the
baseline, with the same embedder and model.

    python -m evals.conversations [--split holdout] [--baseline] [--out RUN]

Every turn is scored; the report's ``per_kind`` rows separate the first turns (``first``) from
the follow-ups (``refer_back``, ``switch_topic``, ``unanswerable``, ``english``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import runtime_env  # noqa: F401  (environment before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings, load_settings
from assistant.types import Answer
from evals.reference import Item, Source, runs_folder
from evals.runner import (
    Outcome,
    RunResult,
    answer_outcome,
    evaluate,
    retrieval_rank,
    summarize,
    write_run,
)

CONVERSATIONS_FILE = Path(__file__).resolve().parent / "conversations.jsonl"
KINDS = ("refer_back", "switch_topic", "unanswerable", "english")
BASELINE_LABEL = "llama-index CondensePlusContextChatEngine"


@dataclass(frozen=True)
class Turn:
    item: Item  # id "<conversation>/<n>"; kind "first" for the opening question
    subject_terms: tuple[str, ...]


def load_conversations(path: Path = CONVERSATIONS_FILE) -> list[list[Turn]]:
    """The conversations, each a list of turns in the order asked."""
    conversations = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            turns = []
            for position, turn in enumerate(data["turns"], start=1):
                item = Item(
                    id=f"{data['id']}/{position}",
                    question=turn["question"],
                    answerable=bool(turn["answerable"]),
                    reference_answer=turn["reference_answer"],
                    sources=tuple(Source(s["document"], s["quote"]) for s in turn["sources"]),
                    key_facts=tuple(turn["key_facts"]),
                    kind="first" if position == 1 else data["kind"],
                    split=data["split"],
                )
                turns.append(Turn(item, tuple(turn["subject_terms"])))
            conversations.append(turns)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {number}: not a valid conversation ({exc})") from exc
    return conversations


def keeps_subject(standalone: str | None, typed: str, terms: tuple[str, ...]) -> float | None:
    """1.0 when every subject term stands in the question as understood (the standalone
    rewrite, or the typed question when none was made); None when the turn names none."""
    if not terms:
        return None
    understood = (standalone or typed).casefold()
    return float(all(term.casefold() in understood for term in terms))


class _Conversing:
    """Answers the turns in order, each with the conversation so far (reset at a first turn)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._history: list[Answer] = []

    def __call__(self, item: Item) -> Outcome:
        import assistant

        if item.kind == "first":
            self._history = []
        answer = assistant.answer(item.question, history=self._history, settings=self._settings)
        self._history.append(answer)
        understood = answer.standalone_question or item.question
        rank = retrieval_rank(item, understood, self._settings)
        return answer_outcome(item, answer, self._settings, rank)


class _ChatBaseline:
    """``CondensePlusContextChatEngine.from_defaults`` over the plain llama-index index of the
    reference-set baseline; its context nodes are what a chat UI would list as sources."""

    def __init__(self, settings: Settings) -> None:
        from llama_index.core.chat_engine import CondensePlusContextChatEngine

        from evals.baseline import Baseline

        self._plain = Baseline(settings)
        self._engine = CondensePlusContextChatEngine.from_defaults(
            retriever=self._plain.index.as_retriever(), llm=self._plain.llm
        )

    def __call__(self, item: Item) -> Outcome:
        if item.kind == "first":
            self._engine.reset()
        self._plain.tokens.reset_counts()
        started = time.perf_counter()
        response = self._engine.chat(item.question)
        seconds = time.perf_counter() - started
        nodes = list(response.source_nodes)
        outcome = self._plain.outcome(
            item,
            nodes,
            str(response.response or "").strip(),
            nodes,
            timings={"llm": seconds, "total": seconds},
            tokens=(
                self._plain.tokens.prompt_llm_token_count,
                self._plain.tokens.completion_llm_token_count,
            ),
            cited=list(range(1, len(nodes) + 1)),
        )
        condensed = response.sources[0].raw_input.get("message") if response.sources else None
        standalone = str(condensed) if condensed and condensed != item.question else None
        return dataclasses.replace(outcome, standalone_question=standalone)


def run(turns: list[Turn], settings: Settings, *, system: str = "assistant") -> RunResult:
    """Every turn answered and scored; follow-ups also on keeping the subject."""
    items = [turn.item for turn in turns]
    if system == "assistant":
        result = evaluate(items, settings, system=_Conversing(settings), label="conversations")
    else:
        result = evaluate(items, settings, system=_ChatBaseline(settings), label=BASELINE_LABEL)
    terms = {turn.item.id: turn.subject_terms for turn in turns}
    for row in result.items:
        kept = keeps_subject(row.get("standalone_question"), row["question"], terms[row["id"]])
        if kept is not None:
            row["metrics"]["keeps_subject"] = kept
    return RunResult(items=result.items, summary=summarize(result.items), meta=result.meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.conversations", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--split", default="dev", choices=["dev", "holdout", "all"])
    parser.add_argument("--ids", nargs="+", help="Only these conversation ids.")
    parser.add_argument(
        "--baseline", action="store_true", help="Also run CondensePlusContextChatEngine."
    )
    parser.add_argument(
        "--baseline-only",
        action="store_true",
        help="Run only the baseline, into --out/baseline; an assistant run already in --out "
        "goes beside it in the table (and a later assistant run into --out finds it there).",
    )
    parser.add_argument("--out", type=Path, help="Run folder (default: evals/runs/<time>-conv).")
    args = parser.parse_args(argv)
    if args.baseline_only and not args.out:
        parser.error("--baseline-only needs --out (the run folder of the assistant's run).")
    try:
        settings = load_settings()
        turns = [
            turn
            for conversation in load_conversations()
            if (args.split == "all" or conversation[0].item.split == args.split)
            and (not args.ids or conversation[0].item.id.split("/")[0] in args.ids)
            for turn in conversation
        ]
        if not turns:
            print("error: no conversations match these options.", file=sys.stderr)
            return 2
        out = args.out or runs_folder() / (time.strftime("%Y%m%d-%H%M%S") + "-conv")
        rows = []
        if not args.baseline_only:
            ours = run(turns, settings)
            write_run(ours, out)
            rows.append(("assistant", ours))
        elif (out / "results.json").exists():
            rows.append(("assistant", _loaded(out / "results.json")))
        if args.baseline or args.baseline_only:
            theirs = run(turns, settings, system="baseline")
            write_run(theirs, out / "baseline")
            rows.append((BASELINE_LABEL, theirs))
        elif (out / "baseline" / "results.json").exists():  # a --baseline-only run before
            rows.append((BASELINE_LABEL, _loaded(out / "baseline" / "results.json")))
    except (AssistantError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = follow_up_table(rows)
    (out / "follow-ups.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"\nreports: {out}")
    return 0


def _loaded(path: Path) -> RunResult:
    data = json.loads(path.read_text(encoding="utf-8"))
    return RunResult(items=data["items"], summary=data["summary"], meta=data["meta"])


def follow_up_table(rows: list[tuple[str, RunResult]]) -> str:
    """The follow-up turns' metrics, one column per system, with 95% intervals."""
    metrics = [
        ("grounding", "grounding"),
        ("key-fact recall", "key_fact_recall"),
        ("unanswerable refused", "unanswerable_refused"),
        ("answerable wrongly refused", "answerable_wrongly_refused"),
        ("standalone keeps the subject", "keeps_subject"),
        ("quote validity", "quote_validity"),
        ("rewrite s p50", "rewrite_p50_s"),
        ("seconds p50", "total_p50_s"),
    ]
    summaries = [(name, _follow_ups(result)) for name, result in rows]
    lines = [
        "| follow-up turns | " + " | ".join(name for name, _ in summaries) + " |",
        "| --- |" + " --- |" * len(summaries),
    ]
    for label, key in metrics:
        cells = []
        for _name, summary in summaries:
            value, interval = summary.get(key), summary.get(f"{key}_ci")
            cell = "n/a" if value is None else f"{value:.3f}"
            if interval:
                cell += f" [{interval[0]:.2f}–{interval[1]:.2f}]"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    counts = summaries[0][1].get("items", 0) if summaries else 0
    return "\n".join(lines) + f"\n\n{counts} follow-up turns."


def _follow_ups(result: RunResult) -> dict[str, Any]:
    rows = [row for row in result.items if row["kind"] != "first"]
    summary: dict[str, Any] = summarize(rows)["overall"] if rows else {}
    rewrites = [row["timings"].get("rewrite") for row in rows if row.get("standalone_question")]
    values = sorted(v for v in rewrites if v)
    summary["rewrite_p50_s"] = values[len(values) // 2] if values else None
    return summary


if __name__ == "__main__":
    sys.exit(main())
