"""Run reference items through the public API and score them.

Calls only ``assistant.answer`` and ``assistant.retrieve`` (what a script would call), plus our
embedder for the semantic similarity of answer and reference answer.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

import assistant
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.index.embed import build_embedder, embed_passages
from assistant.types import Answer
from evals.metrics import (
    HEADLINE_METRICS,
    SourceSpan,
    cosine,
    first_hit_rank,
    grounded,
    hit_at,
    key_fact_recall,
    mean,
    percentile,
    reciprocal_rank,
)
from evals.reference import Item, reference_spans
from evals.sourcecheck import stands_in_file
from evals.stats import bootstrap_interval, bootstrap_ratio_interval
from evals.tables import (
    assistant_said,
    failure_examples,
    first_quote,
    format_value,
    markdown_table,
    normalise_text,
    refusal_reason_table,
    summary_columns,
    summary_table,
)

log = logging.getLogger(__name__)

STAGES = ("rewrite", "retrieve", "prompt", "llm", "verify", "total")


@dataclass(frozen=True)
class RunResult:
    """Every item's result and the summary, as written to ``results.json``."""

    items: list[dict[str, Any]]
    summary: dict[str, Any]
    meta: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What one system did with one item, before scoring: the same shape for the assistant and
    for the llama-index baseline, so both are scored by the same code."""

    rank: int | None  # 1-based rank of the first retrieved passage that holds a reference quote
    answer: str | None  # None: retrieval only, no answer asked for
    refused: bool = False
    refusal_reason: str | None = None
    quotes: tuple[dict[str, Any], ...] = ()
    quotes_valid: int = 0
    grounded: bool = False
    rejected_quotes: tuple[dict[str, Any], ...] = ()
    timings: dict[str, float | None] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    backend: str | None = None
    settings_hash: str | None = None
    prompt_version: str | None = None
    # The measured signals of the answer-or-refuse decision, and its calibrated probability
    # that the question is answerable (None: no calibrated decision ran, as in the baseline).
    signals: dict[str, float] = field(default_factory=dict)
    answer_probability: float | None = None
    # A follow-up of a conversation: the question as the system understood it.
    standalone_question: str | None = None


def evaluate(
    items: list[Item],
    settings: Settings,
    *,
    progress: bool = True,
    retrieval_only: bool = False,
    system: Callable[[Item], Outcome] | None = None,
    label: str = "assistant",
    judge: Callable[[str, str, str], dict[str, Any]] | None = None,
    checkpoint: Path | None = None,
) -> RunResult:
    """Run ``system`` (default: the assistant's public API) on every item and score it, with a
    progress bar and the time left on stderr. ``retrieval_only`` skips the answers (tuning).

    With ``checkpoint`` (a JSON-lines file) every scored item is appended as it is done, and
    items already there for the same system and settings are not asked again: a run of an hour
    that is stopped (Ctrl-C, a closed laptop) goes on where it stopped."""
    embedder = build_embedder(settings)
    run_item = system or partial(
        _assistant_outcome, settings=settings, retrieval_only=retrieval_only
    )
    stamp = {"system": label, "settings_hash": settings.hash(), "retrieval_only": retrieval_only}
    done = _checkpointed(checkpoint, stamp) if checkpoint else {}
    if done:
        log.warning("%s: %d items already done, asking the other ones", checkpoint, len(done))
    results = []
    started = time.perf_counter()
    for item in tqdm(items, desc=f"Evaluatie ({label})", unit="vraag", disable=not progress):
        if item.id in done:
            results.append(done[item.id])
            continue
        try:
            outcome = run_item(item)
        except AssistantError as exc:
            # One failed question (a model server that died, say) must not throw away an hour
            # of answers: it is scored as a refusal and counted under "errors".
            log.warning("%s: %s", item.id, exc)
            outcome = Outcome(rank=None, answer="", refused=True, refusal_reason=f"error: {exc}")
        results.append(_score(item, outcome, embedder, judge))
        if checkpoint:
            with checkpoint.open("a", encoding="utf-8") as out:
                out.write(json.dumps({**stamp, "result": results[-1]}, ensure_ascii=False) + "\n")
    meta = {
        "system": label,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings_hash": settings.hash(),
        "settings": settings.model_dump(mode="json"),
        "items": len(items),
        "retrieval_only": retrieval_only,
        "judge": getattr(judge, "model", None),
        "seconds": round(time.perf_counter() - started, 1),
        "model": results[0]["model"] if results else None,
        "backend": results[0]["backend"] if results else None,
    }
    return RunResult(items=results, summary=summarize(results), meta=meta)


def _checkpointed(path: Path, stamp: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The results in the checkpoint ``path`` made by the same system and settings, by id. A
    line cut off by a kill in mid-write is skipped (that item is asked again)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return {}
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        # End the cut-off line, or the next item appended would be glued to it and lost.
        with path.open("a", encoding="utf-8") as out:
            out.write("\n")
    done = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if all(record.get(key) == value for key, value in stamp.items()):
            done[record["result"]["id"]] = record["result"]
    return done


def retrieval_rank(item: Item, question: str, settings: Settings) -> int | None:
    """Rank of the first of the assistant's passages for ``question`` that holds a reference
    quote of ``item`` (None: none in the top 10, or nothing to find)."""
    if not item.answerable:
        return None
    passages = assistant.retrieve(question, k=10, settings=settings)
    retrieved = [SourceSpan(Path(p.source).name, p.start, p.end) for p in passages]
    return first_hit_rank(retrieved, reference_spans(item, settings.corpus_dir))


def _assistant_outcome(item: Item, *, settings: Settings, retrieval_only: bool) -> Outcome:
    rank = retrieval_rank(item, item.question, settings)
    if retrieval_only:
        return Outcome(rank=rank, answer=None)
    return answer_outcome(item, assistant.answer(item.question, settings=settings), settings, rank)


def answer_outcome(item: Item, answer: Answer, settings: Settings, rank: int | None) -> Outcome:
    """Score-ready outcome of one of the assistant's answers to ``item``."""
    corpus = settings.corpus_dir
    references = reference_spans(item, corpus)
    quote_spans = [SourceSpan(Path(q.source).name, q.start, q.end) for q in answer.quotes]
    # Against the original file, not the index's clean text (evals/sourcecheck.py).
    valid = sum(stands_in_file(q.text, corpus / Path(q.source).name) for q in answer.quotes)
    return Outcome(
        rank=rank,
        answer=answer.text,
        refused=answer.refused,
        refusal_reason=answer.refusal_reason,
        quotes=tuple(
            {
                "text": q.text,
                "document": Path(q.source).name,
                "page": q.page,
                "start": q.start,
                "end": q.end,
            }
            for q in answer.quotes
        ),
        quotes_valid=valid,
        grounded=(not answer.refused) and grounded(quote_spans, references),
        rejected_quotes=tuple({"text": r.text, "reason": r.reason} for r in answer.rejected_quotes),
        timings={stage: getattr(answer.timings, stage, None) for stage in STAGES},
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
        model=answer.model,
        backend=answer.backend,
        settings_hash=answer.settings_hash,
        prompt_version=answer.prompt_version,
        # getattr: the fields are new in assistant.answer(); runs against an older one still work.
        signals=dict(getattr(answer, "signals", ())),
        answer_probability=getattr(answer, "answer_probability", None),
        standalone_question=getattr(answer, "standalone_question", None),
    )


def _score(
    item: Item,
    outcome: Outcome,
    embedder: Any,
    judge: Callable[[str, str, str], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    metrics: dict[str, Any] = {"refused": outcome.refused}
    if item.answerable:
        metrics.update(
            {
                "rank": outcome.rank,
                "hit@1": hit_at(outcome.rank, 1),
                "hit@3": hit_at(outcome.rank, 3),
                "hit@5": hit_at(outcome.rank, 5),
                "mrr@10": reciprocal_rank(outcome.rank, 10),
            }
        )
    if outcome.answer is not None:
        vectors = embed_passages(embedder, [outcome.answer, item.reference_answer])
        metrics.update(
            {
                "quotes_shown": len(outcome.quotes),
                "quotes_valid": outcome.quotes_valid,
                "quotes_rejected": len(outcome.rejected_quotes),
                "similarity": round(cosine(vectors[0], vectors[1]), 4),
            }
        )
        if item.answerable:
            metrics.update(
                {
                    "grounded": outcome.grounded,
                    "key_fact_recall": 0.0
                    if outcome.refused
                    else key_fact_recall(outcome.answer, item.key_facts),
                    "wrongly_refused": outcome.refused,
                }
            )
            if judge is not None and not outcome.refused:
                metrics.update(judge(item.question, outcome.answer, item.reference_answer))
        else:
            metrics["correctly_refused"] = outcome.refused
    return {
        "id": item.id,
        "kind": item.kind,
        "split": item.split,
        "question": item.question,
        "answerable": item.answerable,
        "reference_answer": item.reference_answer,
        "answer": outcome.answer,
        "refusal_reason": outcome.refusal_reason,
        "quotes": list(outcome.quotes),
        "rejected_quotes": list(outcome.rejected_quotes),
        "metrics": metrics,
        "timings": {stage: outcome.timings.get(stage) for stage in STAGES},
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "model": outcome.model,
        "backend": outcome.backend,
        "settings_hash": outcome.settings_hash,
        "prompt_version": outcome.prompt_version,
        "signals": dict(outcome.signals),
        "answer_probability": outcome.answer_probability,
        "standalone_question": outcome.standalone_question,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics overall, per kind and per split (dev / holdout)."""
    summary: dict[str, Any] = {"overall": _aggregate(results), "per_kind": {}, "per_split": {}}
    for kind in sorted({r["kind"] for r in results}):
        summary["per_kind"][kind] = _aggregate([r for r in results if r["kind"] == kind])
    # dev is what the settings were tuned on; a held-out score far below it means overfitting.
    for split in sorted({r["split"] for r in results}):
        summary["per_split"][split] = _aggregate([r for r in results if r["split"] == split])
    return summary


def _aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    shown_per_item = [r["metrics"].get("quotes_shown", 0) for r in results]
    valid_per_item = [r["metrics"].get("quotes_valid", 0) for r in results]
    shown, valid = sum(shown_per_item), sum(valid_per_item)

    def measured(rows: Iterable[dict[str, Any]], key: str) -> list[float]:
        return [float(r["metrics"][key]) for r in rows if r["metrics"].get(key) is not None]

    def avg(rows: Iterable[dict[str, Any]], key: str) -> float | None:
        value = mean(measured(rows, key))
        return None if value is None else round(value, 4)

    def interval(rows: Iterable[dict[str, Any]], key: str) -> list[float] | None:
        return _rounded(bootstrap_interval(measured(rows, key)))

    aggregate: dict[str, Any] = {
        "items": len(results),
        "errors": sum(str(r["refusal_reason"] or "").startswith("error: ") for r in results),
        "hit@1": avg(answerable, "hit@1"),
        "hit@3": avg(answerable, "hit@3"),
        "hit@5": avg(answerable, "hit@5"),
        "mrr@10": avg(answerable, "mrr@10"),
        "quote_validity": round(valid / shown, 4) if shown else None,
        "quotes_shown": shown,
        "grounding": avg(answerable, "grounded"),
        "key_fact_recall": avg(answerable, "key_fact_recall"),
        "similarity": avg(answerable, "similarity"),
        # Follow-up turns of a conversation: the standalone question keeps the subject.
        "keeps_subject": avg(results, "keeps_subject"),
        "unanswerable_refused": avg(unanswerable, "correctly_refused"),
        "answerable_wrongly_refused": avg(answerable, "wrongly_refused"),
        # The optional LLM judge, over the answered answerable items (None: not run).
        "judge_score": avg(answerable, "judge_score"),
        "judge_passing": avg(answerable, "judge_passing"),
        "prompt_tokens_mean": _round(mean(r["prompt_tokens"] or None for r in results)),
        "completion_tokens_mean": _round(mean(r["completion_tokens"] or None for r in results)),
        # 95% bootstrap intervals over the same items as the rates above (None: no items).
        "hit@5_ci": interval(answerable, "hit@5"),
        "quote_validity_ci": _rounded(bootstrap_ratio_interval(valid_per_item, shown_per_item)),
        "grounding_ci": interval(answerable, "grounded"),
        "key_fact_recall_ci": interval(answerable, "key_fact_recall"),
        "similarity_ci": interval(answerable, "similarity"),
        "unanswerable_refused_ci": interval(unanswerable, "correctly_refused"),
        "answerable_wrongly_refused_ci": interval(answerable, "wrongly_refused"),
    }
    for stage in STAGES:
        values = [r["timings"][stage] for r in results if r["timings"].get(stage) is not None]
        aggregate[f"{stage}_p50_s"] = _round(percentile(values, 50))
        aggregate[f"{stage}_p95_s"] = _round(percentile(values, 95))
    return aggregate


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rounded(interval: tuple[float, float] | None) -> list[float] | None:
    # A list, not a tuple: what results.json gives back when a run is loaded again.
    return None if interval is None else [round(interval[0], 4), round(interval[1], 4)]


def write_run(run: RunResult, directory: Path, extra_markdown: str = "") -> None:
    """``results.json`` and ``report.md`` (with ``extra_markdown`` appended) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"meta": run.meta, "summary": run.summary, "items": run.items}
    (directory / "results.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    report = markdown_report(run) + ("\n" + extra_markdown if extra_markdown else "")
    (directory / "report.md").write_text(report, encoding="utf-8")


def markdown_report(run: RunResult) -> str:
    meta = run.meta
    lines = [
        "# Eval report",
        "",
        f"- created: {meta['created_at']}; items: {meta['items']}; {meta['seconds']} s",
        f"- backend: {meta['backend']}; model: {meta['model']}; settings: {meta['settings_hash']}",
        "",
    ]
    lines += markdown_table(*summary_table(run.summary, HEADLINE_METRICS))
    if run.meta.get("judge"):
        lines += [
            "",
            f"## LLM judge ({run.meta['judge']}; a second opinion, unreliable with small models)",
            "",
        ]
        judged = (
            [name, *(format_value(values.get(m)) for m in ("judge_score", "judge_passing"))]
            for name, values in summary_columns(run.summary).items()
        )
        lines += markdown_table(["scope", "judge_score (1-5)", "judge_passing"], judged)
    lines += _refusal_reasons_markdown(run.items)
    lines += _worked_examples_markdown(run.items)
    lines += ["", "## Items", ""]
    for item in run.items:
        status = "weigert" if item["metrics"]["refused"] else "antwoordt"
        lines.append(f"- **{item['id']}** ({item['kind']}, {status}): {item['question']}")
    return "\n".join(lines) + "\n"


def _refusal_reasons_markdown(items: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Refusal reasons on answerable items (top 10)", ""]
    header, rows = refusal_reason_table(items)
    if not rows:
        return [*lines, "No answerable item was refused."]
    return lines + markdown_table(header, rows)


def _worked_examples_markdown(items: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Worked examples per failure class"]
    for failure in failure_examples(items):
        lines += ["", f"### {failure.heading}", ""]
        if not failure.examples:
            lines.append("None.")
        for item in failure.examples:
            quote = first_quote(item)
            lines += [
                f"- **{item['id']}** ({item['kind']}): {normalise_text(item['question'])}",
                f"  - reference: {normalise_text(item['reference_answer'])}",
                f"  - assistant: {assistant_said(item)}",
                f"  - first quote: {quote}" if quote else "  - first quote: none shown",
            ]
    return lines
