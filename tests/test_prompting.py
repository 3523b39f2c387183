from __future__ import annotations

import pytest

from assistant.core.errors import ConfigurationError
from assistant.core.text import count_tokens, detect_language
from assistant.prompting import (
    build_context,
    prompt_version,
    refusal_text,
    render,
)
from assistant.retrieval import collapse_duplicates
from assistant.types import Passage

TEXT = (
    "Het kabinet is de raad zeer erkentelijk voor het advies. De actieagenda focust op het "
    "samenspel tussen overheden. Alleen een sterk bestuur kan invulling geven aan opgaven."
)


def _passage(text: str, start: int = 100, document: str = "doc", title: str = "Brief") -> Passage:
    return Passage(
        text=text,
        document=document,
        title=title,
        score=1.0,
        start=start,
        end=start + len(text),
        page=3,
    )


def test_render_fails_on_a_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="question"):
        render("quotes_user.txt", context="x", language="Nederlands")
    text = render("quotes_user.txt", context="CTX", question="VRAAG?", language="Engels")
    assert "CTX" in text and "VRAAG?" in text and "${" not in text


def test_prompt_version_is_stable() -> None:
    assert prompt_version() == prompt_version()
    assert prompt_version().startswith("v1-")


def test_language_detection_and_refusal_sentences() -> None:
    assert detect_language("Wat is de rol van de uitvoering bij het beleid?") == "nl"
    assert detect_language("What does the cabinet say about the role of the executive?") == "en"
    assert refusal_text("nl") != refusal_text("en")
    assert "documenten" in refusal_text("nl") and "documents" in refusal_text("en")


def test_context_numbers_sentences_with_document_offsets() -> None:
    context = build_context((_passage(TEXT),), budget_tokens=1000)
    assert len(context.sentences) == 3
    assert "[S2] De actieagenda focust op het samenspel tussen overheden." in context.numbered_text
    assert "[Passage 1] Brief, pagina 3" in context.passage_text
    second = context.sentence(2)
    assert second is not None
    assert TEXT[second.start - 100 : second.end - 100].startswith("De actieagenda focust")
    assert context.sentence(0) is None and context.sentence(4) is None


def test_context_respects_the_token_budget() -> None:
    passages = tuple(_passage(TEXT, start=i * 1000, document=f"d{i}") for i in range(20))
    one = count_tokens(build_context(passages[:1], 10_000).numbered_text)
    context = build_context(passages, budget_tokens=one * 3)
    assert 1 <= len(context.passages) < 20
    assert count_tokens(context.numbered_text) <= one * 3 + 10


def test_near_duplicate_passages_are_collapsed() -> None:
    summary = _passage("Nieuws: " + TEXT, document="nieuws")
    original = _passage(TEXT + " Meer tekst volgt hier.", document="brief")
    other = _passage("Een heel ander onderwerp over de Omgevingswet en de uitvoering daarvan.")
    kept = collapse_duplicates([original, summary, other], threshold=0.6)
    assert [p.document for p in kept] == ["brief", "doc"]
