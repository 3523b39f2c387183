"""HTML for the web UI: answers with numbered quotes, refusals, highlighted source passages.

Every text that comes from a document, a question or the model goes through ``escape`` before
it is placed in markup, so a document holding ``<script>`` or markdown tricks shows as text.
Only the fixed tags and classes written here are markup. (Gradio also sanitises, but the UI
must not depend on a second line of defence.)
"""

from __future__ import annotations

from html import escape

from assistant.types import Answer, Passage, Quote

#: Characters of document text shown before and after a quoted span in the sources panel:
#: little before, so the highlighted span is in view without scrolling.
CONTEXT_BEFORE = 300
CONTEXT_AFTER = 700

CSS = """
.ba-answer, .ba-refusal, .ba-error { line-height: 1.5; }
.ba-refusal { border-left: 4px solid #c98a00; padding-left: 0.7em; }
.ba-refusal-label { font-weight: 600; color: #8a5a00; }
.ba-error { border-left: 4px solid #b00020; padding-left: 0.7em; }
.ba-quotes { margin: 0.6em 0 0 0; padding-left: 1.6em; }
.ba-quotes li { margin: 0.4em 0; }
.ba-quote { margin: 0; padding: 0.2em 0.6em; border-left: 3px solid #3b7dbf; background: #f3f7fb;
  color: #1d2a36; }
.ba-cite { display: block; font-size: 0.85em; color: #555; }
.ba-footer { margin-top: 0.6em; font-size: 0.8em; color: #777; }
.ba-passage { white-space: pre-wrap; line-height: 1.5; max-height: 28em; overflow-y: auto; }
.ba-passage mark { background: #ffe58a; color: inherit; }
.ba-status-problem { color: #b00020; font-weight: 600; }
"""


def _where(title: str, page: int | None, heading: str | None = None) -> str:
    parts = [title]
    if page is not None:
        parts.append(f"p. {page}")
    if heading:
        parts.append(f"§ {heading}")
    return ", ".join(parts)


def quote_label(number: int, quote: Quote) -> str:
    """Plain text naming a quote in a list: ``[2] Title, p. 4: "begin of the quote..."``."""
    snippet = quote.text if len(quote.text) <= 60 else quote.text[:57].rstrip() + "..."
    return f"[{number}] {_where(quote.title, quote.page, quote.heading)}: “{snippet}”"


def streaming_html(text: str) -> str:
    """The answer while the model is still writing it."""
    return f"<div class='ba-answer'>{escape(text)}<span class='ba-footer'> …</span></div>"


def answer_html(answer: Answer) -> str:
    """A finished answer: text, numbered quotes (or the refusal with its passages), footer."""
    footer = (
        f"<div class='ba-footer'>{escape(answer.model)} · {escape(answer.backend)} · "
        f"{answer.timings.total:.1f} s</div>"
    )
    if answer.refused:
        passages = "".join(_passage_item(p) for p in answer.passages[:3])
        label = "Geen antwoord" if answer.language != "en" else "No answer"
        maybe = "Mogelijk relevante passages" if answer.language != "en" else "Possibly relevant"
        return (
            f"<div class='ba-refusal'><span class='ba-refusal-label'>{label}:</span> "
            f"{escape(answer.text)}"
            + (f"<p>{maybe}:</p><ol class='ba-quotes'>{passages}</ol>" if passages else "")
            + footer
            + "</div>"
        )
    quotes = "".join(
        f"<li><blockquote class='ba-quote'>{escape(q.text)}</blockquote>"
        f"<span class='ba-cite'>{escape(_where(q.title, q.page, q.heading))}</span></li>"
        for q in answer.quotes
    )
    return (
        f"<div class='ba-answer'>{escape(answer.text)}"
        f"<ol class='ba-quotes'>{quotes}</ol>{footer}</div>"
    )


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


def passage_html(document_text: str, quote: Quote) -> str:
    """The text around a quote with the quoted span highlighted (``document_text`` is the clean
    text the quote's offsets refer to)."""
    start = max(0, quote.start - CONTEXT_BEFORE)
    end = min(len(document_text), quote.end + CONTEXT_AFTER)
    before = ("…" if start > 0 else "") + document_text[start : quote.start]
    after = document_text[quote.end : end] + ("…" if end < len(document_text) else "")
    quoted = document_text[quote.start : quote.end]
    return (
        f"<p><b>{escape(_where(quote.title, quote.page, quote.heading))}</b></p>"
        f"<div class='ba-passage'>{escape(before)}<mark>{escape(quoted)}</mark>"
        f"{escape(after)}</div>"
    )
