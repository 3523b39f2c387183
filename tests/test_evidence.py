"""Evidence first: sentences of the retrieved passages ranked against the question, and the
extractive answer mode built on them (the real corpus index and the real embedder; no model)."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.core.settings import Settings, load_settings
from assistant.evidence import Sentence, choose, rank, split_sentences
from assistant.index.embed import embed_passages, embed_query
from assistant.types import Passage

DOCUMENT = (
    "Inleiding van de brief.\n\n"
    "Maak beleid en uitvoering gelijkwaardig\n\n"
    "Het kabinet neemt deze aanbeveling ter harte. Het kabinet richt een nieuw platform op "
    "voor de uitvoering. Kort."
)


def _passage(start: int) -> Passage:
    return Passage(
        text=DOCUMENT[start:],
        document="brief",
        title="Brief",
        score=1.0,
        start=start,
        end=len(DOCUMENT),
        heading="Maak beleid en uitvoering gelijkwaardig",
    )


def test_sentences_keep_their_offsets_and_headings_count_as_sentences() -> None:
    sentences = split_sentences([_passage(0), _passage(25)])  # the passages overlap
    assert [s.text for s in sentences] == [
        "Inleiding van de brief.",
        "Maak beleid en uitvoering gelijkwaardig",
        "Het kabinet neemt deze aanbeveling ter harte.",
        "Het kabinet richt een nieuw platform op voor de uitvoering.",
    ]  # "Kort." is too short to be evidence; the overlap adds no repeats
    assert all(DOCUMENT[s.start : s.end] == s.text for s in sentences)
    assert [s.heading for s in sentences] == [False, True, False, False]


def test_choose_keeps_close_runners_up_in_document_order() -> None:
    def sentence(start: int, dense: float) -> Sentence:
        return Sentence("d", start, start + 5, "tekst", 0, False, dense=dense)

    ranked = [sentence(50, 0.9), sentence(10, 0.85), sentence(30, 0.5)]
    assert [s.start for s in choose(ranked, 3)] == [10, 50]
    assert [s.start for s in choose(ranked, 1)] == [50]
    assert choose([], 2) == []


@pytest.mark.slow
def test_the_sentence_that_answers_ranks_first(embedder: Any) -> None:
    sentences = split_sentences([_passage(0)])
    question = "Wat is de hoofdaanbeveling over beleid en uitvoering?"
    ranked = rank(
        question,
        sentences,
        embed_query(embedder, question),
        lambda texts: embed_passages(embedder, texts),
    )
    assert ranked[0].text == "Maak beleid en uitvoering gelijkwaardig"
    assert ranked[0].overlap > 0 and ranked[0].score == max(s.score for s in ranked)


@pytest.mark.slow
def test_extractive_answers_quote_verified_sentences_without_a_model(
    corpus_index: tuple[Settings, Any], embedder: Any
) -> None:
    settings, _ = corpus_index
    extractive = load_settings(
        data_dir=settings.data_dir,
        corpus_dir=settings.corpus_dir,
        model_cache_dir=settings.model_cache_dir,
        answer_mode="extractive",
        llm_backend="embedded",
        llm_embedded_model="qwen2.5-coder-0.5b",
    )
    assistant = build_assistant(extractive, embedder=embedder)
    try:
        answer = assistant.answer("Welke drie hardnekkige fouten constateert de ROB?")
        streamed = list(
            assistant.stream_answer("Welke drie hardnekkige fouten constateert de ROB?")
        )
        server = assistant.backend.server
        assert server is None or server.pid is None  # the model server was never started
    finally:
        assistant.close()
    assert not answer.refused, answer.refusal_reason
    assert answer.text == " ".join(q.text for q in answer.quotes)
    assert all(q.source_start is not None for q in answer.quotes)
    assert answer.timings.llm == 0 and answer.prompt_tokens == 0
    assert streamed[0] == answer.text and streamed[-1].text == answer.text
