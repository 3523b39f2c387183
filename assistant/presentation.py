"""HTML for the web UI: answers with numbered quotes, refusals, highlighted source passages, the
status line and the outcome of uploads and removals.

Every text that comes from a document, a question or the model goes through ``escape`` before
it is placed in markup, so a document holding ``<script>`` or markdown tricks shows as text.
Only the fixed tags and classes written here are markup. (Gradio also sanitises, but the UI
must not depend on a second line of defence.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant.core.errors import AssistantError
from assistant.core.i18n import N_, _, catalogue, ngettext
from assistant.types import Answer, Passage, Preview, Quote

if TYPE_CHECKING:
    from assistant.index.manifest import DocumentRecord

#: Characters of document text shown before and after a quoted span in the sources panel:
#: little before, so the highlighted span is in view without scrolling.
CONTEXT_BEFORE = 300
CONTEXT_AFTER = 700

#: Characters of a question shown in the chat (the whole question is still what is answered).
QUESTION_SHOWN = 1000

CSS = """
.ba-answer, .ba-refusal, .ba-error { line-height: 1.5; }
.ba-refusal { border-left: 4px solid #c98a00; padding-left: 0.7em; }
.ba-refusal-label { font-weight: 600; color: #8a5a00; }
.ba-error { border-left: 4px solid #b00020; padding-left: 0.7em; }
.ba-quotes, .ba-preview { margin: 0.6em 0 0 0; padding-left: 1.6em; }
.ba-quotes li, .ba-preview li { margin: 0.4em 0; }
.ba-quote { margin: 0; padding: 0.2em 0.6em; border-left: 3px solid #3b7dbf; background: #f3f7fb;
  color: #1d2a36; }
.ba-cite { display: block; font-size: 0.85em; color: #555; }
.ba-footer { margin-top: 0.6em; font-size: 0.8em; color: #777; }
.ba-passage { white-space: pre-wrap; line-height: 1.5; max-height: 28em; overflow-y: auto; }
.ba-passage mark { background: #ffe58a; color: inherit; }
.ba-status-problem { color: #b00020; font-weight: 600; }
.ba-understood { font-size: 0.85em; color: #555; font-style: italic; margin-bottom: 0.4em; }
.ba-ocr { display: inline-block; font-size: 0.75em; font-weight: 600; color: #6b3a00;
  background: #fff1d6; border: 1px solid #d9a441; border-radius: 3px; padding: 0 0.35em; }
.ba-details { font-size: 0.85em; color: #444; margin: 0.2em 0; }
"""

#: The labels inside an answer's own block. They follow the answer's language, as its text
#: does (an English question gets an English answer in the Dutch UI too), not the interface's.
UNDERSTOOD_AS = N_("Understood as")
NO_ANSWER = N_("No answer")
POSSIBLY_RELEVANT = N_("Possibly relevant")


def _in_language_of(answer: Answer, message: str) -> str:
    """``message`` (a marked constant) in the language ``answer`` is written in."""
    return catalogue("en" if answer.language == "en" else "nl").gettext(message)


def _where(title: str, page: int | None, heading: str | None = None) -> str:
    parts = [title]
    if page is not None:
        parts.append(_("p. {page}").format(page=page))
    if heading:
        parts.append(f"§ {heading}")
    return ", ".join(parts)


def quote_label(number: int, quote: Quote) -> str:
    """Plain text naming a quote in a list: ``[2] Title, p. 4: "begin of the quote..."``."""
    snippet = quote.text if len(quote.text) <= 60 else quote.text[:57].rstrip() + "..."
    ocr = " (OCR)" if quote.machine_read else ""
    return f"[{number}] {_where(quote.title, quote.page, quote.heading)}{ocr}: “{snippet}”"


def quote_choices(answers: Sequence[Answer | None], index: int | None) -> list[tuple[str, str]]:
    """The quotes of answer ``index`` for a dropdown: ``(label, "answer:quote")``."""
    if index is None or not 0 <= index < len(answers) or (answer := answers[index]) is None:
        return []
    return [
        (quote_label(number, quote), f"{index}:{number - 1}")
        for number, quote in enumerate(answer.quotes, start=1)
    ]


def documents_table(records: Iterable[DocumentRecord]) -> list[list[Any]]:
    """The rows of the documents table, by title: title, file, passages, indexed at, id."""
    return [
        [
            r.title,
            Path(r.source).name,
            len(r.chunk_ids),
            r.ingested_at[:19].replace("T", " "),
            r.document_id,
        ]
        for r in sorted(records, key=lambda r: r.title.lower())
    ]


def question_html(question: str) -> str:
    """A question in the chat: a pasted report would flood it, its start is enough to recognise."""
    shown = question if len(question) <= QUESTION_SHOWN else question[:QUESTION_SHOWN] + " …"
    return escape(shown)


def streaming_html(text: str, preview: Preview | None = None) -> str:
    """The answer while the model is still writing it, under it the best-ranked sentences
    (verified) found before the model started."""
    found = ""
    if preview is not None and preview.quotes:
        items = "".join(_quote_item(q) for q in preview.quotes)
        heading = _("Best matching sentences in the documents (the answer follows):")
        found = (
            f"<p class='ba-footer'>{escape(heading)}</p>"
            # Not ba-quotes: these are candidates, not the answer's quotes (and a finished answer
            # is recognised by its ba-quotes).
            f"<ol class='ba-preview'>{items}</ol>"
        )
    return f"<div class='ba-answer'>{escape(text)}<span class='ba-footer'> …</span>{found}</div>"


def answer_html(answer: Answer) -> str:
    """A finished answer: text, numbered quotes (or the refusal with its passages), footer."""
    footer = (
        f"<div class='ba-footer'>{escape(answer.model)} · {escape(answer.backend)} · "
        f"{answer.timings.total:.1f} s</div>"
    )
    understood = ""
    if answer.standalone_question:  # a follow-up: say how it was understood
        label = escape(_in_language_of(answer, UNDERSTOOD_AS))
        understood = (
            f"<div class='ba-understood'>{label}: {escape(answer.standalone_question)}</div>"
        )
    if answer.refused:
        passages = "".join(_passage_item(p) for p in answer.passages[:3])
        label = escape(_in_language_of(answer, NO_ANSWER))
        maybe = escape(_in_language_of(answer, POSSIBLY_RELEVANT))
        return (
            f"<div class='ba-refusal'>{understood}<span class='ba-refusal-label'>{label}:</span> "
            f"{escape(answer.text)}"
            + (f"<p>{maybe}:</p><ol class='ba-quotes'>{passages}</ol>" if passages else "")
            + footer
            + "</div>"
        )
    quotes = "".join(_quote_item(q) for q in answer.quotes)
    return (
        f"<div class='ba-answer'>{understood}{escape(answer.text)}"
        f"<ol class='ba-quotes'>{quotes}</ol>{footer}</div>"
    )


def _quote_item(quote: Quote) -> str:
    where = _where(quote.title, quote.page, quote.heading) + _sender(quote)
    return (
        f"<li><blockquote class='ba-quote'>{escape(quote.text)}</blockquote>"
        f"<span class='ba-cite'>{escape(where)}{ocr_badge(quote)}</span></li>"
    )


def _sender(quote: Quote) -> str:
    """An e-mail's sender and date after its subject: who wrote this, and when."""
    return f" ({', '.join(quote.written_by)})" if quote.written_by else ""


def _passage_item(passage: Passage) -> str:
    text = passage.text if len(passage.text) <= 300 else passage.text[:297].rstrip() + "..."
    return (
        f"<li><blockquote class='ba-quote'>{escape(text)}</blockquote>"
        f"<span class='ba-cite'>{escape(_where(passage.title, passage.page, passage.heading))}"
        "</span></li>"
    )


def error_html(message: str, hint: str = "") -> str:
    """A problem shown in the chat instead of an answer (never a stack trace)."""
    extra = f"<br><small>{escape(hint)}</small>" if hint else ""
    return f"<div class='ba-error'>{escape(message)}{extra}</div>"


def unexpected_error_html() -> str:
    """A bug rather than a known problem: the details go to the server's log, not the user."""
    return error_html(
        _("Something went wrong while answering."),
        _(
            "Please try again; if it keeps going wrong, report it to the administrator "
            "(the details are in the server's log)."
        ),
    )


def note_html(text: str) -> str:
    """A remark in the sources panel instead of a passage."""
    return f"<p><i>{escape(text)}</i></p>"


def ocr_badge(quote: Quote) -> str:
    """The mark of a quote read by OCR from a scan (the reader should know it is machine-read)."""
    if not quote.machine_read:
        return ""
    title = escape(_("Machine-read from a scan (OCR)"))
    return f" <span class='ba-ocr' title='{title}'>OCR</span>"


def details_html(quote: Quote) -> str:
    """An e-mail's sender, recipients and date (or other labelled facts) under its title."""
    if not quote.details:
        return ""
    rows = "".join(
        f"<span><b>{escape(label)}:</b> {escape(value)}</span><br>"
        for label, value in quote.details
        if label != "Onderwerp"
    )
    return f"<p class='ba-details'>{rows}</p>"


def passage_html(document_text: str, quote: Quote, source_text: str | None = None) -> str:
    """The text around a quote with the quoted span highlighted (``document_text`` is the clean
    text the quote's offsets refer to), and where the quote stands in the file's own text
    (``source_text``, the text as extracted), shown as it stands there on request."""
    start = max(0, quote.start - CONTEXT_BEFORE)
    end = min(len(document_text), quote.end + CONTEXT_AFTER)
    before = ("…" if start > 0 else "") + document_text[start : quote.start]
    after = document_text[quote.end : end] + ("…" if end < len(document_text) else "")
    quoted = document_text[quote.start : quote.end]
    where = _where(quote.title, quote.page, quote.heading)
    if quote.footnote:
        where = _("{place} (footnote)").format(place=where)
    html = (
        f"<p><b>{escape(where)}</b>{ocr_badge(quote)}</p>"
        + details_html(quote)
        + (
            f"<div class='ba-passage'>{escape(before)}<mark>{escape(quoted)}</mark>"
            f"{escape(after)}</div>"
        )
    )
    if quote.machine_read and quote.page is not None:
        note = _(
            "This text was machine-read (OCR) from a scan: check it on page {page} of the original."
        ).format(page=quote.page)
        html += f"<p class='ba-ocr-note'><i>{escape(note)}</i></p>"
    if source_text is not None and quote.source_start is not None and quote.source_end is not None:
        if quote.page is not None:
            summary = _("As it stands in the file, page {page} (characters {start}–{end})")
        else:
            summary = _("As it stands in the file (characters {start}–{end})")
        summary = summary.format(page=quote.page, start=quote.source_start, end=quote.source_end)
        html += (
            f"<details class='ba-source-span'><summary>{escape(summary)}</summary>"
            f"<pre>{escape(source_text[quote.source_start : quote.source_end])}</pre></details>"
        )
    return html


def status_html(
    *,
    model: tuple[str, str] | None,
    model_problem: tuple[str, str] | None,
    index_problem: tuple[str, str] | None,
    documents: int,
    chunks: int,
) -> str:
    """The status line above the tabs: the model (``(model, backend)`` once started), the size
    of the index, and what stands in the way of answering (``(message, hint)`` each)."""
    parts = []
    if model is not None:
        parts.append(
            _("Model: **{model}** ({backend})").format(
                model=escape(model[0]), backend=escape(model[1])
            )
        )
    elif model_problem is None:
        parts.append(_("Model: starting…"))
    parts.append(
        _("Index: {documents}, {passages}").format(
            documents=ngettext("{n} document", "{n} documents", documents).format(n=documents),
            passages=ngettext("{n} passage", "{n} passages", chunks).format(n=chunks),
        )
    )
    lines = [" · ".join(parts)]
    if model_problem is not None:
        message, hint = model_problem
        lines.append(
            _status_problem(
                _("The language model is not available: {problem}").format(problem=message), hint
            )
        )
    if index_problem is not None:
        lines.append(_status_problem(*index_problem))
    if documents == 0:
        lines.append(
            _status_problem(
                _("The index is empty."),
                _("Add documents in the Documents tab, or run `python -m ingest`."),
            )
        )
    return "<br>".join(lines)


def _status_problem(message: str, hint: str) -> str:
    return f"<span class='ba-status-problem'>{escape(message)}</span> {escape(hint)}"


def problem_line(message: str, hint: str | None = None) -> str:
    """A line of the documents tab about something that failed: ``✗ message hint``."""
    line = f"✗ {escape(message)}"
    return line if hint is None else f"{line} {escape(hint)}"


def error_line(exc: AssistantError) -> str:
    """:func:`problem_line` of an error: its message and what to do about it."""
    return problem_line(exc.message, exc.hint or "")


def upload_line(
    name: str, status: Literal["added", "unchanged", "failed"], reason: str = "", hint: str = ""
) -> str:
    """What became of one uploaded file (``name`` as the user gave it)."""
    if status == "failed":
        return problem_line(f"{name}: {reason}", hint)
    if status == "unchanged":
        return "= " + _("{name}: was already in the index.").format(name=escape(name))
    return "✓ " + _("{name} added.").format(name=escape(name))


def removal_line(title: str, kept_file: Path | None = None) -> str:
    """A document taken out of the index, and where its file still is when it is outside the
    uploads folder (it would come back with the next ingest)."""
    line = "✓ " + _("{title} removed from the index.").format(title=escape(title))
    if kept_file is not None:
        line += " " + _(
            "The file {name} is still in {folder}: delete it there too, or it comes back with "
            "the next indexing."
        ).format(name=escape(kept_file.name), folder=escape(str(kept_file.parent)))
    return line
