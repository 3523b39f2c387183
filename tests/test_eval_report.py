"""report.md and report.html (tables, intervals, failure sections, plots, escaping) and the
baseline's refusal rule, without a model."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from evals.baseline import REFUSAL, cited_sources
from evals.compare import compare
from evals.html_report import RELIABILITY_TITLE, html_report
from evals.runner import RunResult, markdown_report, summarize
from evals.stats import (
    ReliabilityBin,
    bootstrap_interval,
    bootstrap_ratio_interval,
    reliability_bins,
)


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


def _refused(item_id: str, reason: str) -> dict[str, Any]:
    item = _item(
        item_id,
        "fact",
        answerable=True,
        total=3.0,
        grounded=False,
        key_fact_recall=0.0,
        similarity=0.2,
        wrongly_refused=True,
        quotes_shown=0,
        quotes_valid=0,
    )
    item["metrics"]["refused"] = True
    item.update(refusal_reason=reason, answer="Dat staat niet in de documenten.", quotes=[])
    return item


def _with(items: list[dict[str, Any]], **meta: Any) -> RunResult:
    return RunResult(items=items, summary=summarize(items), meta={**_run(1.0).meta, **meta})


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start) + len(start))]


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_items() -> None:
    few = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]  # mean 0.6
    small, large = bootstrap_interval(few), bootstrap_interval(few * 10)
    assert small is not None and large is not None
    assert small[0] < 0.6 < small[1] and large[0] < 0.6 < large[1]
    # Ten times the items: about a third of the width (1 / sqrt(10)).
    assert large[1] - large[0] < 0.5 * (small[1] - small[0])
    assert bootstrap_interval(few) == small  # seeded: the same report every time
    assert bootstrap_interval([]) is None
    assert bootstrap_interval([0.7]) == (0.7, 0.7)


def test_quote_validity_interval_resamples_items_not_quotes() -> None:
    # 7 of 9 quotes valid; the item without quotes has no say.
    valid, shown = [3.0, 0.0, 4.0, 0.0], [3.0, 2.0, 4.0, 0.0]
    interval = bootstrap_ratio_interval(valid, shown)
    assert interval is not None and interval[0] < 7 / 9 < interval[1]
    # The two invalid quotes came from one answer and are drawn together: on three items the
    # interval is wider than if the nine quotes were drawn one by one.
    by_quote = bootstrap_interval([1.0] * 7 + [0.0] * 2)
    assert by_quote is not None and interval[0] < by_quote[0] - 0.2
    assert bootstrap_ratio_interval([0.0], [0.0]) is None
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ratio_interval([1.0], [1.0, 2.0])


def test_summary_has_intervals_over_the_rates_items_and_tables_show_them() -> None:
    run = _run(1.0)
    overall = run.summary["overall"]
    assert overall["grounding"] == 0.5  # a grounded, b not: every old key is still there
    assert overall["grounding_ci"] == [0.0, 1.0]
    assert overall["unanswerable_refused_ci"] == [1.0, 1.0]  # one item, always refused
    assert overall["hit@5_ci"] == [1.0, 1.0]
    low, high = overall["key_fact_recall_ci"]
    assert low <= overall["key_fact_recall"] <= high
    assert overall["quote_validity_ci"] == [1.0, 1.0]
    # Over the answerable items only: the unanswerable kind has no grounding interval.
    assert run.summary["per_kind"]["unanswerable"]["grounding_ci"] is None
    assert run.summary["per_kind"]["unanswerable"]["unanswerable_refused_ci"] == [1.0, 1.0]
    report = markdown_report(run)
    assert "| grounding | 0.500 [0.00–1.00] | 1.000 [1.00–1.00] | 0.000 [0.00–0.00] | – |" in (
        report
    )
    assert "| mrr@10 | 1.000 |" in report  # no interval: the bare value
    assert "0.500 [0.00–1.00]" in html_report(run)


def test_refusal_reasons_group_the_same_reason_with_other_numbers() -> None:
    items = [
        _refused("a", "the best sentence holds 20% of the question's distinctive terms (< 25%)"),
        _refused("b", "no verified quote supports the answer"),
        _refused("c", "the best sentence holds 33% of the question's distinctive terms (< 25%)"),
        _run(1.0).items[0] | {"id": "d"},  # answered: not a refusal
    ]
    report = markdown_report(_with(items))
    table = _section(report, "## Refusal reasons on answerable items (top 10)", "##")
    assert (
        "| the best sentence holds N of the question's distinctive terms (< N) | 2 | 0.500 | a, c |"
        in table
    )
    assert "| no verified quote supports the answer | 1 | 0.250 | b |" in table
    assert table.index("holds N") < table.index("no verified quote")  # the most frequent first
    html = html_report(_with(items))
    assert "holds N of the question&#x27;s distinctive terms (&lt; N)" in html
    assert "No answerable item was refused." in markdown_report(_run(1.0))


def test_worked_examples_list_each_failure_under_its_class() -> None:
    items = [*_run(0.5).items, _refused("r", "no verified quote supports the answer")]
    report = markdown_report(_with(items))
    refused = _section(report, "### answerable, wrongly refused (1 item)", "###")
    assert "- **r** (fact): Wat is <script>alert('x')</script> in de nota?" in refused
    assert "  - reference: Het antwoord." in refused
    assert "  - assistant: refused: no verified quote supports the answer" in refused
    assert "  - first quote: none shown" in refused
    ungrounded = _section(report, "### answered, not grounded (1 item)", "###")
    assert "- **b** (list)" in ungrounded and "**r**" not in ungrounded
    assert "  - first quote: <b>citaat</b>" in ungrounded
    missing = _section(report, "### answered, key facts missing (0 items)", "###")
    assert "None." in missing  # a recall of 0.5 is not below half
    anyway = _section(report, "### unanswerable, answered anyway (1 item)", "## Items")
    assert "- **c** (unanswerable)" in anyway
    html = html_report(_with(items))
    examples = _section(html, "<h2>Worked examples per failure class</h2>", "<h2>")
    assert "<td>r</td>" in examples and "<script>" not in examples


def test_a_long_quote_is_cut_in_the_examples() -> None:
    item = _run(1.0).items[1]
    item["quotes"] = [{"text": "woord\n" * 100, "document": "doc.txt"}]
    report = markdown_report(_with([item]))
    line = next(x for x in report.splitlines() if x.startswith("  - first quote:"))
    assert len(line.removeprefix("  - first quote: ")) == 200 and line.endswith("…")


def test_html_has_the_reliability_figure_only_when_items_have_a_probability() -> None:
    without = html_report(_run(1.0))
    assert RELIABILITY_TITLE not in without
    assert without.count("data:image/png;base64,") == 2  # per kind, latency
    items = _run(1.0).items
    for item, probability in zip(items, (0.9, None, 0.2), strict=True):
        item["answer_probability"] = probability
    with_probabilities = html_report(_with(items))
    assert f"<h2>{RELIABILITY_TITLE}</h2>" in with_probabilities
    assert with_probabilities.count("data:image/png;base64,") == 3


def test_reliability_bins_with_and_without_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    probabilities = [0.05, 0.1, 0.15, 0.55, 0.95, 1.0, 1.2]
    answerable = [False, True, False, True, True, True, True]
    # 0.1 lies on an edge and goes to the lower bin; 1.2 is clipped into the top one.
    expected = [
        ReliabilityBin(0.075, 0.5, 2),
        ReliabilityBin(0.15, 0.0, 1),
        ReliabilityBin(0.55, 1.0, 1),
        ReliabilityBin(0.65 + 1 / 3, 1.0, 3),
    ]

    def close(bins: list[ReliabilityBin]) -> bool:
        return [b.count for b in bins] == [b.count for b in expected] and all(
            b.predicted == pytest.approx(e.predicted) and b.observed == pytest.approx(e.observed)
            for b, e in zip(bins, expected, strict=True)
        )

    assert close(reliability_bins(probabilities, answerable))
    monkeypatch.setitem(sys.modules, "sklearn.calibration", None)  # as if not installed
    assert close(reliability_bins(probabilities, answerable))
    assert reliability_bins([], []) == []


def test_signals_and_probability_reach_the_item_record(monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant
    from assistant.core.settings import load_settings
    from evals import runner
    from evals.reference import Item

    item = Item("x-1", "Vraag?", False, "Geen antwoord.", (), (), "unanswerable", "dev")
    settings = load_settings()
    answer = SimpleNamespace(
        text="Dat staat er niet in.",
        refused=True,
        refusal_reason="no verified quote supports the answer",
        quotes=(),
        rejected_quotes=(),
        timings=SimpleNamespace(retrieve=0.1, prompt=0.0, llm=1.0, verify=0.0, total=1.1),
        prompt_tokens=10,
        completion_tokens=5,
        model="m",
        backend="embedded",
        settings_hash="abc",
        prompt_version="v",
    )
    monkeypatch.setattr(runner, "reference_spans", lambda item, corpus: [])
    monkeypatch.setattr(assistant, "retrieve", lambda question, k, settings: [])
    monkeypatch.setattr(assistant, "answer", lambda question, settings: answer)

    # An answer from before the calibrated decision: no signals, no probability.
    outcome = runner._assistant_outcome(item, settings=settings, retrieval_only=False)
    assert outcome.signals == {} and outcome.answer_probability is None

    answer.signals = (("overlap", 0.4), ("coverage", 0.8))
    answer.answer_probability = 0.12
    outcome = runner._assistant_outcome(item, settings=settings, retrieval_only=False)
    assert outcome.signals == {"overlap": 0.4, "coverage": 0.8}
    # Retrieval-only outcome: no answer, so no embedder is needed to score it.
    record = runner._score(item, replace(outcome, answer=None), embedder=None)
    assert record["signals"] == {"overlap": 0.4, "coverage": 0.8}
    assert record["answer_probability"] == 0.12
    json.dumps(record)  # results.json takes it as it is


def test_worked_examples_show_the_first_three_by_id() -> None:
    items = [_refused(item_id, "no verified quote") for item_id in ("r3", "r1", "r0", "r2")]
    report = markdown_report(_with(items))
    heading = "### answerable, wrongly refused (4 items; the first 3 by id)"
    refused = _section(report, heading, "###")
    listed = [line.split("**")[1] for line in refused.splitlines() if line.startswith("- **")]
    assert listed == ["r0", "r1", "r2"]
