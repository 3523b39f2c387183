"""Bad questions end to end: the real index, the real 0.5B model, and the HTML the UI shows.

Every case ends in a clear QuestionError (with a hint) or in a sane answer or refusal whose quotes
verify; no case crashes, changes the index, or puts markup of its own into the UI's HTML.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from assistant.answering import Answerer
from assistant.core.errors import QuestionError
from assistant.core.settings import Settings
from assistant.index.manifest import Manifest, read_document_text
from assistant.index.store import ChunkStore
from assistant.presentation import answer_html, error_html

pytestmark = pytest.mark.slow

REJECTED = [
    pytest.param("", "empty", id="empty"),
    pytest.param(" \n\t \u3000 ", "empty", id="whitespace"),
    pytest.param("Wat staat er over de ROB? " * 4000, "too long", id="100-kB"),
    pytest.param("Wat is\x00 de taak van de ROB?", "control characters", id="NUL"),
    pytest.param("Wat is de taak\x1b[31m van de ROB?", "control characters", id="escape-sequence"),
    pytest.param("🙂🤔❓🏛️", "no words", id="emoji-only"),
    pytest.param("\u202e\u200b\ufeff", "empty", id="only-invisible-format-characters"),
]

ANSWERED = [
    pytest.param("ما هي مهام مجلس الإدارة العامة؟", id="arabic-rtl"),
    pytest.param("Wat zegt de ROB over \u202edienstverlening\u202c?", id="bidi-override"),
    pytest.param("Was sagt der Bericht über die öffentliche Dienstleistung?", id="german"),
    pytest.param("'; DROP TABLE embeddings; -- wat doet de ROB?", id="sql-injection"),
    pytest.param(
        '<script>alert("x")</script><img src=x onerror=alert(1)> Wat doet de ROB?',
        id="html-injection",
    ),
    pytest.param(
        "**Wat** doet de [ROB](javascript:alert(1))? ![x](http://evil.example/x.png) 🏛️",
        id="markdown-injection",
    ),
]


class _Tags(HTMLParser):
    """The tags and attributes an HTML fragment really contains."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def _assert_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    assert not parser.tags & {"script", "img", "iframe", "a", "object", "embed", "style"}
    assert not [name for name, _ in parser.attributes if name.startswith("on")]
    assert not [value for _, value in parser.attributes if "javascript:" in value.lower()]


def _index_state(settings: Settings, embedder: Any) -> tuple[int, list[str]]:
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    return ChunkStore(settings, embedder).count(), manifest.chunk_ids()


@pytest.mark.parametrize(("question", "message"), REJECTED)
def test_unaskable_questions_get_a_clear_error_with_a_hint(
    assistant: Answerer, question: str, message: str
) -> None:
    with pytest.raises(QuestionError, match=message) as error:
        assistant.answer(question)
    assert error.value.hint
    _assert_inert(error_html(error.value.message, error.value.hint))


@pytest.mark.parametrize("question", ANSWERED)
def test_odd_questions_get_a_sane_answer_or_refusal(
    assistant: Answerer, small_settings: Settings, embedder: Any, question: str
) -> None:
    before = _index_state(small_settings, embedder)
    answer = assistant.answer(question)
    assert answer.text.strip()
    assert answer.refused or answer.quotes
    for quote in answer.quotes:
        stored = read_document_text(small_settings.index_dir / "documents", quote.document)
        assert stored.text.text[quote.start : quote.end] == quote.text
    assert "\u202e" not in answer.question
    html = answer_html(answer)
    _assert_inert(html)
    assert "<script" not in html and "<img" not in html
    assert _index_state(small_settings, embedder) == before


def test_markup_in_a_question_is_kept_as_text_for_the_record(assistant: Any) -> None:
    """The question is stored as typed (only cleaned of invisible characters), never rewritten."""
    question = "<b>Wat</b> doet de ROB?"
    assert assistant.check_question(question) == question
