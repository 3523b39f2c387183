"""Pseudo-relevance feedback for BM25: which words of the first-round passages join the query
(plain values; off by default, measured in evals/README.md)."""

from __future__ import annotations

from assistant.retrieval import feedback_terms


def test_feedback_adds_the_passages_rare_words_not_the_questions_or_common_ones() -> None:
    passages = [
        "De uitvoeringsorganisaties krijgen structureel meer geld voor dienstverlening.",
        "Dienstverlening door uitvoeringsorganisaties moet menselijker, zegt het kabinet.",
    ]
    common = {"kabinet", "geld", "structureel", "menselijker", "zegt"}

    def frequency(stem: str) -> float:
        return 0.5 if any(word.startswith(stem) for word in common) else 0.01

    words = feedback_terms("Hoe gaat de overheid met burgers om?", passages, frequency, 2)
    assert words == ["uitvoeringsorganisaties", "dienstverlening"]
    # A word the question already has is not added again.
    assert "dienstverlening" not in feedback_terms(
        "Wat gebeurt er met de dienstverlening?", passages, frequency, 2
    )
    assert feedback_terms("Vraag?", [], frequency, 5) == []
