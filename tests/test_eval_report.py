"""report.html (tables, plots, escaping) and the baseline's refusal rule, without a model."""

from __future__ import annotations

from typing import Any

import pytest

from evals.baseline import REFUSAL, cited_sources
from evals.compare import compare
from evals.html_report import html_report
from evals.runner import RunResult, summarize


def _item(
    item_id: str, kind: str, *, answerable: bool, total: float, **metrics: Any
) -> dict[str, Any]:
    return {
        "id": item_id,
        "kind": kind,
        "split": "dev",
        "question": "Wat is <script>alert('x')</script> in de nota?",
        "answerable": answerable,
        "reference_answer": "Het antwoord.",
        "answer": "Antwoord met <img src=x onerror=alert(1)> en **markdown**.",
        "refusal_reason": None,
        "quotes": [{"text": "<b>citaat</b>", "document": "doc.txt", "start": 0, "end": 12}],
        "rejected_quotes": [],
        "metrics": {"refused": False, "quotes_shown": 1, "quotes_valid": 1, **metrics},
        "timings": {
            "retrieve": 0.1,
            "prompt": 0.01,
            "llm": total - 0.2,
            "verify": 0.09,
            "total": total,
        },
        "prompt_tokens": 900,
        "completion_tokens": 80,
        "model": "m",
        "backend": "embedded",
        "settings_hash": "abc",
        "prompt_version": "v",
    }


def _run(scale: float) -> RunResult:
    answerable = {"hit@1": 1.0, "hit@3": 1.0, "hit@5": 1.0, "mrr@10": scale, "rank": 1}
    items = [
        _item(
            "a",
            "fact",
            answerable=True,
            total=10 * scale,
            grounded=True,
            key_fact_recall=scale,
            similarity=0.8,
            wrongly_refused=False,
            **answerable,
        ),
        _item(
            "b",
            "list",
            answerable=True,
            total=20 * scale,
            grounded=False,
            key_fact_recall=0.5,
            similarity=0.7,
            wrongly_refused=False,
            **answerable,
        ),
        _item(
            "c",
            "unanswerable",
            answerable=False,
            total=5.0,
            correctly_refused=scale > 0.5,
            similarity=0.1,
        ),
    ]
    meta = {
        "created_at": "2026-11-26T00:00:00",
        "items": 3,
        "seconds": 35.0,
        "backend": "embedded",
        "model": "m",
        "settings_hash": "abc",
    }
    return RunResult(items=items, summary=summarize(items), meta=meta)


def test_html_report_has_plots_tables_and_escapes_everything() -> None:
    run, baseline = _run(1.0), _run(0.5)
    side_by_side = compare(baseline.summary, run.summary)
    html = html_report(
        run,
        baseline=baseline,
        side_by_side=side_by_side,
        earlier_label="runs/<old>",
        deltas=compare(baseline.summary, run.summary),
        violations=["hit@5 = 0.4 (below 0.5)"],
    )
    assert html.count("data:image/png;base64,") == 3  # side by side, per kind, latency
    assert "side by side" in html and "Compared with runs/&lt;old&gt;" in html
    assert "hit@5 = 0.4 (below 0.5)" in html
    # Text from questions, answers and documents is shown as text, never as markup.
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;b&gt;citaat&lt;/b&gt;" in html
    # The better assistant's mrr@10 is marked as better than the baseline's.
    assert "class='better'><td>overall</td><td>mrr@10</td>" in html


def test_html_report_without_answers_or_baseline() -> None:
    run = _run(1.0)
    for item in run.items:
        item["answer"] = None
        item["timings"] = dict.fromkeys(item["timings"])
    html = html_report(run)
    assert "side by side" not in html
    assert html.count("data:image/png;base64,") == 1  # per kind only: no latencies measured


def test_baseline_refusal_rule() -> None:
    assert REFUSAL.search("None of the sources mention a budget for 2030.")
    assert REFUSAL.search("De bronnen bevatten geen informatie over de begroting.")
    assert REFUSAL.search("Dat wordt in de documenten niet vermeld [1].")
    assert not REFUSAL.search("Het kabinet trekt 2 miljard euro uit voor de uitvoering [2].")


def test_judge_refuses_to_start_without_its_ollama() -> None:
    from assistant.core.errors import BackendError
    from assistant.core.settings import load_settings
    from evals.judge import Judge
    from tests.servers import free_port

    settings = load_settings(ollama_host=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendError, match=r"The judge cannot run: Ollama at .* is unreachable"):
        Judge(settings, "qwen2.5:7b-instruct")


def test_judge_scores_are_summarised_and_reported_apart() -> None:
    from evals.runner import markdown_report

    run = _run(1.0)
    run.items[0]["metrics"].update(judge_score=5.0, judge_passing=True)
    run.items[1]["metrics"].update(judge_score=2.0, judge_passing=False)
    judged = RunResult(
        items=run.items, summary=summarize(run.items), meta={**run.meta, "judge": "qwen:7b"}
    )
    assert judged.summary["overall"]["judge_score"] == 3.5
    assert judged.summary["overall"]["judge_passing"] == 0.5
    assert "## LLM judge (qwen:7b" in markdown_report(judged)
    assert "LLM judge (qwen:7b)" in html_report(judged)
    assert "LLM judge" not in markdown_report(run)  # not run: not reported


def test_baseline_citations_as_models_write_them() -> None:
    # The 1.5B model wrote "[Source 2]" where the prompt's example says "[2]".
    assert cited_sources("Zo staat het er [2], en ook [1, 3].") == [2, 1, 3]
    assert cited_sources("It was 16 [Source 3]. See (Source 2, paragraph 1).") == [3, 2]
    assert cited_sources("[Sources 1 and 2]") == [1, 2]
    assert cited_sources("Meer dan 85% (out of 5%) in 2023.") == []
