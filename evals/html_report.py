"""``report.html``: the run's tables and plots in one self-contained file (images inlined).

Every text that comes from a document, a question or the model is escaped: a reference item or
an answer holding HTML shows as text.
"""

from __future__ import annotations

import base64
import io
from html import escape
from typing import TYPE_CHECKING, Any

from evals.compare import Delta
from evals.metrics import BAR_METRICS, COMPARISON_BAR_METRICS, HEADLINE_METRICS, TOKEN_METRICS
from evals.stats import reliability_bins
from evals.tables import (
    assistant_said,
    failure_examples,
    first_quote,
    format_value,
    refusal_reason_table,
    summary_table,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from evals.runner import RunResult

RELIABILITY_TITLE = "Reliability of the answer-or-refuse decision"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 78em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.regression { background: #fdd; font-weight: bold; }
.better { background: #dfd; }
.violation { color: #a00; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
blockquote { margin: 0.3em 0; padding-left: 0.6em; border-left: 3px solid #9bc; color: #333; }
details { margin: 0.2em 0; }
"""


def html_report(
    run: RunResult,
    *,
    baseline: RunResult | None = None,
    side_by_side: list[Delta] | None = None,
    earlier_label: str | None = None,
    deltas: list[Delta] | None = None,
    violations: list[str] | None = None,
) -> str:
    """The whole report as one HTML document."""
    meta = run.meta
    parts = [
        "<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'>",
        f"<title>Eval report {escape(str(meta['created_at']))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Eval report</h1>",
        "<p>"
        + escape(
            f"created {meta['created_at']}; {meta['items']} items in {meta['seconds']} s; "
            f"backend {meta['backend']}; model {meta['model']}; settings {meta['settings_hash']}"
        )
        + "</p>",
    ]
    if violations:
        parts.append("<h2>Threshold violations</h2><ul>")
        parts += [f"<li class='violation'>{escape(v)}</li>" for v in violations]
        parts.append("</ul>")
    if baseline is not None and side_by_side is not None:
        parts.append("<h2>Assistant and llama-index baseline, side by side</h2>")
        parts.append(_delta_table(side_by_side, "baseline", "assistant", overall_only=True))
        parts.append(_image(_comparison_bars(run, baseline, "baseline")))
    if deltas is not None and earlier_label is not None:
        parts.append(f"<h2>Compared with {escape(earlier_label)}</h2>")
        parts.append(_delta_table(deltas, "before", "after", overall_only=False))
    parts.append("<h2>Metrics overall and per kind</h2>")
    parts.append(_summary_table(run))
    parts.append(_image(_per_kind_bars(run)))
    if meta.get("judge"):
        overall = run.summary["overall"]
        parts.append(
            f"<h2>LLM judge ({escape(str(meta['judge']))})</h2><p>A second opinion from "
            "llama-index's CorrectnessEvaluator; small local judges are unreliable, so this is "
            "not a gate.</p><table><tr><th>judge_score (1-5)</th><th>judge_passing</th></tr>"
            f"<tr><td class='num'>{_number(overall.get('judge_score'))}</td>"
            f"<td class='num'>{_number(overall.get('judge_passing'))}</td></tr></table>"
        )
    parts.append("<h2>Refusal reasons on answerable items (top 10)</h2>")
    parts.append(_refusal_reasons(run))
    parts.append("<h2>Worked examples per failure class</h2>")
    parts.append(_worked_examples(run))
    reliability = _reliability_plot(run)
    if reliability is not None:
        parts.append(f"<h2>{RELIABILITY_TITLE}</h2>")
        parts.append(
            "<p>Items binned by the calibrated probability that they are answerable; a "
            "calibrated decision lies on the diagonal. Each point shows its number of items.</p>"
        )
        parts.append(_image(reliability, alt=RELIABILITY_TITLE))
    parts.append("<h2>Latency</h2>")
    parts.append(_image(_latency_plot(run, baseline)))
    parts.append("<h2>Items</h2>")
    parts.append(_items(run))
    parts.append("</body></html>")
    return "\n".join(parts)


def _number(value: Any) -> str:
    return escape(format_value(value))


def _summary_table(run: RunResult) -> str:
    header, rows = summary_table(run.summary, (*HEADLINE_METRICS, *TOKEN_METRICS))
    html = ["<table><tr>", *(f"<th>{escape(name)}</th>" for name in header), "</tr>"]
    for metric, *cells in rows:
        html.append(
            f"<tr><th>{escape(metric)}</th>"
            + "".join(f"<td class='num'>{escape(cell)}</td>" for cell in cells)
            + "</tr>"
        )
    html.append("</table>")
    return "".join(html)


def _refusal_reasons(run: RunResult) -> str:
    header, rows = refusal_reason_table(run.items)
    if not rows:
        return "<p>No answerable item was refused.</p>"
    html = ["<table><tr>", *(f"<th>{escape(name)}</th>" for name in header), "</tr>"]
    for reason, count, share, examples in rows:
        html.append(
            f"<tr><td>{escape(reason)}</td><td class='num'>{escape(count)}</td>"
            f"<td class='num'>{escape(share)}</td><td>{escape(examples)}</td></tr>"
        )
    html.append("</table>")
    return "".join(html)


def _worked_examples(run: RunResult) -> str:
    html = []
    for failure in failure_examples(run.items):
        html.append(f"<h3>{escape(failure.heading)}</h3>")
        if not failure.examples:
            html.append("<p>None.</p>")
            continue
        html.append(
            "<table><tr><th>id</th><th>kind</th><th>question</th><th>reference answer</th>"
            "<th>assistant</th><th>first quote</th></tr>"
        )
        for item in failure.examples:
            quote = first_quote(item)
            cells = (
                item["id"],
                item["kind"],
                item["question"],
                item["reference_answer"],
                assistant_said(item),
            )
            html.append(
                "<tr>"
                + "".join(f"<td>{escape(str(cell))}</td>" for cell in cells)
                + ("<td><i>none shown</i></td>" if quote is None else f"<td>{escape(quote)}</td>")
                + "</tr>"
            )
        html.append("</table>")
    return "".join(html)


def _delta_table(deltas: list[Delta], before: str, after: str, *, overall_only: bool) -> str:
    rows = [
        f"<table><tr><th>scope</th><th>metric</th><th>{escape(before)}</th>"
        f"<th>{escape(after)}</th><th>change</th></tr>"
    ]
    for delta in deltas:
        if overall_only and delta.scope != "overall":
            continue
        change = delta.change
        css = ""
        if change is not None and delta.regression:
            css = " class='regression'"
        elif (
            change is not None
            and Delta(delta.scope, delta.metric, delta.after, delta.before).regression
        ):
            css = " class='better'"
        rows.append(
            f"<tr{css}><td>{escape(delta.scope)}</td><td>{escape(delta.metric)}</td>"
            f"<td class='num'>{_number(delta.before)}</td>"
            f"<td class='num'>{_number(delta.after)}</td>"
            f"<td class='num'>{'–' if change is None else f'{change:+.3f}'}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _items(run: RunResult) -> str:
    rows = ["<table><tr><th>id</th><th>kind</th><th>question and answer</th><th>result</th></tr>"]
    for item in run.items:
        metrics = item["metrics"]
        answer = item.get("answer")
        quotes = "".join(
            f"<blockquote>{escape(q['text'])}<br><small>{escape(str(q.get('document', '')))}"
            f"</small></blockquote>"
            for q in item.get("quotes", [])
        )
        body = f"<b>{escape(item['question'])}</b>"
        if answer is not None:
            body += f"<details><summary>{escape(answer[:160])}</summary>{escape(answer)}{quotes}"
            body += f"<p><i>reference:</i> {escape(item['reference_answer'])}</p></details>"
        flags = ", ".join(
            f"{escape(k)}={_number(v)}"
            for k, v in metrics.items()
            if k in ("rank", "grounded", "key_fact_recall", "similarity", "refused")
        )
        rows.append(
            f"<tr><td>{escape(item['id'])}</td><td>{escape(item['kind'])}</td>"
            f"<td>{body}</td><td>{flags}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _value(value: float | None) -> float:
    """A metric for a bar: NaN (no bar) where it was not measured, rather than a false 0."""
    return float("nan") if value is None else float(value)


def _image(figure: Figure | None, alt: str = "plot") -> str:
    if figure is None:
        return ""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{escape(alt)}' src='data:image/png;base64,{data}'>"


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    # The object-oriented API without pyplot: no global figure state, no GUI backend needed.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def _per_kind_bars(run: RunResult) -> Figure | None:
    kinds = list(run.summary["per_kind"])
    metrics = [
        m for m in BAR_METRICS if any(run.summary["per_kind"][k].get(m) is not None for k in kinds)
    ]
    if not kinds or not metrics:
        return None
    figure, axes = _figure(11, 4)
    width = 0.8 / len(metrics)
    for index, metric in enumerate(metrics):
        values = [_value(run.summary["per_kind"][k].get(metric)) for k in kinds]
        positions = [k + index * width for k in range(len(kinds))]
        axes.bar(positions, values, width, label=metric)
    axes.set_xticks([k + 0.4 - width / 2 for k in range(len(kinds))], kinds)
    axes.set_ylim(0, 1.05)
    axes.set_title("Metrics per kind of question")
    axes.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    return figure


def _comparison_bars(run: RunResult, other: RunResult, label: str) -> Figure:
    metrics = list(COMPARISON_BAR_METRICS)
    figure, axes = _figure(11, 4)
    positions = range(len(metrics))
    ours = [_value(run.summary["overall"].get(m)) for m in metrics]
    theirs = [_value(other.summary["overall"].get(m)) for m in metrics]
    axes.bar([p - 0.2 for p in positions], theirs, 0.4, label=label, color="#bbb")
    axes.bar([p + 0.2 for p in positions], ours, 0.4, label="assistant", color="#2a7ab9")
    axes.set_xticks(list(positions), metrics, rotation=30, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_title("Overall: assistant and " + label + " (wrongly_refused: lower is better)")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncols=2)
    return figure


def _latency_plot(run: RunResult, baseline: RunResult | None) -> Figure | None:
    series = {"assistant": [i["timings"].get("total") for i in run.items]}
    if baseline is not None:
        series["baseline"] = [i["timings"].get("total") for i in baseline.items]
    series = {k: [v for v in values if v is not None] for k, values in series.items()}
    if not any(series.values()):
        return None
    figure, axes = _figure(9, 3.5)
    axes.hist(
        list(series.values()), bins=20, label=list(series), color=["#2a7ab9", "#bbb"][: len(series)]
    )
    axes.set_xlabel("seconds per question (total)")
    axes.set_ylabel("questions")
    axes.set_title("Latency distribution")
    axes.legend()
    return figure


def _reliability_plot(run: RunResult) -> Figure | None:
    """Predicted probability of answerable against the share that was; None when no item
    carries a probability (the baseline, runs before the calibrated decision, retrieval only)."""
    scored = [i for i in run.items if i.get("answer_probability") is not None]
    bins = reliability_bins(
        [float(i["answer_probability"]) for i in scored], [bool(i["answerable"]) for i in scored]
    )
    if not bins:
        return None
    figure, axes = _figure(5.5, 5)
    axes.plot([0, 1], [0, 1], linestyle="--", color="#999", label="perfectly calibrated")
    predicted, observed = [b.predicted for b in bins], [b.observed for b in bins]
    axes.plot(predicted, observed, marker="o", color="#2a7ab9", label="this run")
    for point in bins:
        axes.annotate(
            str(point.count),
            (point.predicted, point.observed),
            textcoords="offset points",
            xytext=(6, -10),
            fontsize=8,
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(-0.06, 1.04)  # room for the count under a point at 0
    axes.set_xlabel("mean predicted probability of answerable (10 bins)")
    axes.set_ylabel("share of items that were answerable")
    axes.set_title(RELIABILITY_TITLE)
    axes.legend(loc="upper left", fontsize=8)
    return figure
