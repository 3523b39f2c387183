"""Checking a question before anything is retrieved: what cannot be asked fails with a hint."""

from __future__ import annotations

import unicodedata

from assistant.core.errors import QuestionError
from assistant.core.i18n import _
from assistant.core.text import count_tokens


def check_question(question: object, max_tokens: int) -> str:
    """The question, cleaned; QuestionError with a hint when it cannot be asked."""
    if not isinstance(question, str):
        raise QuestionError(_("The question must be text."))
    cleaned = unicodedata.normalize("NFC", question)
    bad = [ch for ch in cleaned if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r"]
    if bad:
        shown = ", ".join(sorted({repr(ch) for ch in bad})[:5])
        raise QuestionError(
            _("The question contains control characters ({characters}).").format(characters=shown),
            hint=_("Type or paste the question again as plain text."),
        )
    # Invisible format characters (bidi overrides, zero-width spaces, BOM) can disguise what
    # a question says and split words for retrieval; joiners stay (some scripts need them).
    cleaned = "".join(
        ch for ch in cleaned if unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d"
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise QuestionError(_("The question is empty."), hint=_("Type a question."))
    if not any(ch.isalnum() for ch in cleaned):
        raise QuestionError(
            _("The question contains no words (only symbols, emoji or punctuation)."),
            hint=_(
                "Ask the question in words, for example: Wat zegt de ROB over de dienstverlening?"
            ),
        )
    tokens = count_tokens(cleaned)
    if tokens > max_tokens:
        raise QuestionError(
            _("The question is too long ({tokens} tokens; the limit is {limit}).").format(
                tokens=tokens, limit=max_tokens
            ),
            hint=_("Ask a shorter question; put long texts in a document and ingest it."),
        )
    return cleaned
