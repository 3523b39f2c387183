"""Run reference items through the public API and score them.

Calls only ``assistant.answer`` and ``assistant.retrieve`` (what a script would call), plus our
embedder for the semantic similarity of answer and reference answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

import assistant
from assistant.quotes import locate
from assistant.settings import Settings
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
from evals.reference import Item, corpus_text, reference_spans
from ingest.embed import build_embedder, embed_passages

STAGES = ("retrieve", "prompt", "llm", "verify", "total")


@dataclass(frozen=True)
class RunResult:
    """Every item's result and the summary, as written to ``results.json``."""

    items: list[dict[str, Any]]
    summary: dict[str, Any]
    meta: dict[str, Any]


def evaluate(items: list[Item], settings: Settings, *, progress: bool = True) -> RunResult:
    """Answer and score every item (a progress bar with the time left on stderr)."""
    embedder = build_embedder(settings)
    results = []
    started = time.perf_counter()
    for item in tqdm(items, desc="Evaluatie", unit="vraag", disable=not progress):
        results.append(_evaluate_item(item, settings, embedder))
    meta = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings_hash": settings.hash(),
        "settings": settings.model_dump(mode="json"),
        "items": len(items),
        "seconds": round(time.perf_counter() - started, 1),
        "model": results[0]["model"] if results else None,
        "backend": results[0]["backend"] if results else None,
    }
    return RunResult(items=results, summary=summarize(results), meta=meta)


def _evaluate_item(item: Item, settings: Settings, embedder: Any) -> dict[str, Any]:
    corpus = settings.corpus_dir
    references = reference_spans(item, corpus)
    passages = assistant.retrieve(item.question, k=10, settings=settings)
    retrieved = [SourceSpan(Path(p.source).name, p.start, p.end) for p in passages]
    rank = first_hit_rank(retrieved, references) if item.answerable else None
    answer = assistant.answer(item.question, settings=settings)

    quote_spans = [SourceSpan(Path(q.source).name, q.start, q.end) for q in answer.quotes]
    valid = sum(
        locate(q.text, corpus_text(corpus, Path(q.source).name)) is not None for q in answer.quotes
    )
    vectors = embed_passages(embedder, [answer.text, item.reference_answer])
    metrics: dict[str, Any] = {
        "refused": answer.refused,
        "quotes_shown": len(answer.quotes),
        "quotes_valid": valid,
        "quotes_rejected": len(answer.rejected_quotes),
        "similarity": round(cosine(vectors[0], vectors[1]), 4),
    }
    if item.answerable:
        metrics.update(
            {
                "rank": rank,
                "hit@1": hit_at(rank, 1),
                "hit@3": hit_at(rank, 3),
                "hit@5": hit_at(rank, 5),
                "mrr@10": reciprocal_rank(rank, 10),
                "grounded": (not answer.refused) and grounded(quote_spans, references),
                "key_fact_recall": 0.0
                if answer.refused
                else key_fact_recall(answer.text, item.key_facts),
                "wrongly_refused": answer.refused,
            }
        )
    else:
        metrics["correctly_refused"] = answer.refused
    return {
        "id": item.id,
        "kind": item.kind,
        "split": item.split,
        "question": item.question,
        "answerable": item.answerable,
        "reference_answer": item.reference_answer,
        "answer": answer.text,
        "refusal_reason": answer.refusal_reason,
        "quotes": [
            {
                "text": q.text,
                "document": Path(q.source).name,
                "page": q.page,
                "start": q.start,
                "end": q.end,
            }
            for q in answer.quotes
        ],
        "rejected_quotes": [{"text": r.text, "reason": r.reason} for r in answer.rejected_quotes],
        "metrics": metrics,
        "timings": {stage: getattr(answer.timings, stage) for stage in STAGES},
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "model": answer.model,
        "backend": answer.backend,
        "settings_hash": answer.settings_hash,
        "prompt_version": answer.prompt_version,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics overall and per kind."""
    summary: dict[str, Any] = {"overall": _aggregate(results), "per_kind": {}}
    for kind in sorted({r["kind"] for r in results}):
        summary["per_kind"][kind] = _aggregate([r for r in results if r["kind"] == kind])
    return summary


def _aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    shown = sum(r["metrics"]["quotes_shown"] for r in results)
    valid = sum(r["metrics"]["quotes_valid"] for r in results)

    def avg(rows: Iterable[dict[str, Any]], key: str) -> float | None:
        value = mean(
            float(r["metrics"][key]) if r["metrics"].get(key) is not None else None for r in rows
        )
        return None if value is None else round(value, 4)

    aggregate: dict[str, Any] = {
        "items": len(results),
        "hit@1": avg(answerable, "hit@1"),
        "hit@3": avg(answerable, "hit@3"),
        "hit@5": avg(answerable, "hit@5"),
        "mrr@10": avg(answerable, "mrr@10"),
        "quote_validity": round(valid / shown, 4) if shown else None,
        "quotes_shown": shown,
        "grounding": avg(answerable, "grounded"),
        "key_fact_recall": avg(answerable, "key_fact_recall"),
        "similarity": avg(answerable, "similarity"),
        "unanswerable_refused": avg(unanswerable, "correctly_refused"),
        "answerable_wrongly_refused": avg(answerable, "wrongly_refused"),
        "prompt_tokens_mean": mean(r["prompt_tokens"] for r in results),
        "completion_tokens_mean": mean(r["completion_tokens"] for r in results),
    }
    for stage in STAGES:
        values = [r["timings"][stage] for r in results]
        aggregate[f"{stage}_p50_s"] = _round(percentile(values, 50))
        aggregate[f"{stage}_p95_s"] = _round(percentile(values, 95))
    return aggregate


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


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
        "| metric | overall | " + " | ".join(run.summary["per_kind"]) + " |",
        "| --- | --- | " + " | ".join("---" for _ in run.summary["per_kind"]) + " |",
    ]
    for metric in HEADLINE_METRICS:
        cells = [_cell(run.summary["overall"].get(metric))] + [
            _cell(kind.get(metric)) for kind in run.summary["per_kind"].values()
        ]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    lines += ["", "## Items", ""]
    for item in run.items:
        status = "weigert" if item["metrics"]["refused"] else "antwoordt"
        lines.append(f"- **{item['id']}** ({item['kind']}, {status}): {item['question']}")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
