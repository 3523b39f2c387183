"""An answer with its provenance, for export (Markdown, JSON) and for staff feedback (JSONL).

Quotes are exported with their document, page and character offsets in the document's clean
text, so anyone can check them later; the settings hash and model say what produced them. Each
quote also carries the SHA-256 of its document's source text and of its own text, so that
``python -m assistant verify`` (``reverify.py``) can tell later whether it still stands.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from assistant.core.i18n import N_, _, catalogue
from assistant.types import Answer

#: 2: quotes carry ``document_sha256`` and ``quote_sha256`` (1: offsets only, no hashes).
EXPORT_FORMAT = 2

_feedback_lock = threading.Lock()

#: The labels of the answer itself in the Markdown export. They follow the answer's language, as
#: its text does (and as the web UI shows them); the rest of the export is in the interface's.
UNDERSTOOD_AS = N_("Understood as")
NO_ANSWER = N_("No answer")


def _in_language_of(answer: Answer, message: str) -> str:
    """``message`` (a marked constant) in the language ``answer`` is written in."""
    return catalogue("en" if answer.language == "en" else "nl").gettext(message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _quotes(answer: Answer) -> list[dict[str, Any]]:
    return [
        {
            "number": number,
            "text": q.text,
            "document": q.document,
            "file": Path(q.source).name if q.source else "",
            "title": q.title,
            "page": q.page,
            "section": q.heading,
            "start": q.start,
            "end": q.end,
            # Where the quote stands in the document as extracted from the file (not the
            # index's clean copy): what a reader finds when they open the original.
            "source_start": q.source_start,
            "source_end": q.source_end,
            "footnote": q.footnote,
            # Read by OCR from a scan: check it against the page of the original.
            "ocr": q.machine_read,
            "details": dict(q.details),
            # What `python -m assistant verify` checks the quote against later: the source text
            # it was proven in, and the quote itself (an edited export no longer matches).
            "document_sha256": q.document_sha256 or None,
            "quote_sha256": quote_sha256(q.text),
        }
        for number, q in enumerate(answer.quotes, start=1)
    ]


def quote_sha256(text: str) -> str:
    """SHA-256 of a quote's text (UTF-8), as the export records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def provenance(answer: Answer) -> dict[str, Any]:
    """What was asked and answered, with which quotes (and offsets), model and settings."""
    return {
        "export_format": EXPORT_FORMAT,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "answer": answer.text,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "quotes": _quotes(answer),
        "model": answer.model,
        "backend": answer.backend,
        "settings_hash": answer.settings_hash,
        "prompt_version": answer.prompt_version,
        "answered_at": answer.created_at,
        "seconds": round(answer.timings.total, 2),
    }


def export_json(answer: Answer) -> str:
    """The answer's provenance as JSON, stamped with the export time."""
    payload = {"exported_at": _now(), **provenance(answer)}
    return json.dumps(payload, ensure_ascii=False, indent=2)


def export_markdown(answer: Answer) -> str:
    """The same provenance as a readable Markdown document."""
    understood = _in_language_of(answer, UNDERSTOOD_AS)
    no_answer = _in_language_of(answer, NO_ANSWER)
    lines = [
        f"# {answer.question}",
        "",
        *(
            [f"_{understood}:_ {answer.standalone_question}", ""]
            if answer.standalone_question
            else []
        ),
        (f"_{no_answer}:_ " if answer.refused else "") + answer.text,
        "",
    ]
    if answer.quotes:
        lines += ["## " + _("Quotes"), ""]
        for quote in _quotes(answer):
            where = quote["title"]
            if quote["page"] is not None:
                where += ", " + _("p. {page}").format(page=quote["page"])
            where += f", § {quote['section']}" if quote["section"] else ""
            where += ", " + _("footnote") if quote["footnote"] else ""
            where += ", " + _("OCR (machine-read from a scan)") if quote["ocr"] else ""
            details = quote["details"].items()
            where += "".join(f", {k.lower()}: {v}" for k, v in details if k != "Onderwerp")
            span = (
                _("characters {start}–{end} of the source text").format(
                    start=quote["source_start"], end=quote["source_end"]
                )
                if quote["source_start"] is not None
                else _("characters {start}–{end}").format(start=quote["start"], end=quote["end"])
            )
            lines += [
                f"{quote['number']}. > {quote['text']}",
                "",
                f"   — {where} ({quote['file']}, {span})",
                "",
            ]
            if quote["document_sha256"]:
                hashes = _("sha256 source text `{document}`, quote `{quote}`").format(
                    document=quote["document_sha256"], quote=quote["quote_sha256"]
                )
                lines += [f"   {hashes}", ""]
    lines += [
        "## " + _("Provenance"),
        "",
        "- " + _("model: {model} ({backend})").format(model=answer.model, backend=answer.backend),
        "- "
        + _("settings: {settings}; prompts: {prompts}").format(
            settings=answer.settings_hash, prompts=answer.prompt_version
        ),
        "- "
        + _("answered: {answered}; exported: {exported}").format(
            answered=answer.created_at, exported=_now()
        ),
    ]
    return "\n".join(lines) + "\n"


def append_feedback(
    path: Path, answer: Answer, rating: Literal["up", "down"] | None, comment: str = ""
) -> dict[str, Any]:
    """Append one feedback record (a JSON line) and return it.

    The record holds what ``python -m evals.feedback`` needs to draft a reference item: the
    question, the answer and its verified quotes with their files.
    """
    record = {
        "created_at": _now(),
        "rating": rating,
        "comment": comment.strip(),
        **provenance(answer),
    }
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _feedback_lock, path.open("a", encoding="utf-8") as handle:
        # One write of one line, then fsync: a crash leaves whole lines behind, never half of one
        # glued to the next.
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
    return record
