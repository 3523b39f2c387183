"""The hand-written conversations (evals/conversations.jsonl) are well-formed, cover what the
follow-up eval needs, and their quotes stand verbatim in the documents."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from assistant.quotes import NormalizedText, locate
from evals.conversations import KINDS, Turn, keeps_subject, load_conversations
from ingest.clean import clean_document
from ingest.load import load_document

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def conversations() -> list[list[Turn]]:
    return load_conversations()


def test_the_conversations_cover_what_the_follow_up_eval_needs(
    conversations: list[list[Turn]],
) -> None:
    assert len(conversations) >= 20
    assert all(2 <= len(turns) <= 3 for turns in conversations)
    kinds = Counter(turns[1].item.kind for turns in conversations)
    assert set(kinds) == set(KINDS) and all(kinds[kind] >= 4 for kind in KINDS)
    holdout = [turns for turns in conversations if turns[0].item.split == "holdout"]
    assert len(holdout) >= 9 and {turns[1].item.kind for turns in holdout} == set(KINDS)
    ids = [turn.item.id for turns in conversations for turn in turns]
    assert len(ids) == len(set(ids))


def test_every_turn_is_well_formed(conversations: list[list[Turn]]) -> None:
    for turns in conversations:
        first, *follow_ups = turns
        assert first.item.kind == "first" and first.item.answerable and not first.subject_terms
        assert len({turn.item.split for turn in turns}) == 1
        for turn in follow_ups:
            assert 1 <= len(turn.subject_terms) <= 3, turn.item.id
        for turn in turns:
            item = turn.item
            if item.answerable:
                assert item.sources and item.key_facts, item.id
                quoted = " ".join(s.quote for s in item.sources).lower()
                assert all(fact.lower() in quoted for fact in item.key_facts), item.id
            else:
                assert not item.sources and not item.key_facts, item.id
        if follow_ups[0].item.kind == "unanswerable":  # the documents do not hold the answer
            assert any(not turn.item.answerable for turn in follow_ups), first.item.id


def test_every_conversation_quote_stands_in_its_document(
    conversations: list[list[Turn]],
) -> None:
    documents = {
        path.name: NormalizedText(clean_document(load_document(path, max_bytes=2**26)).text)
        for path in (REPO / "corpus").iterdir()
    }
    for turns in conversations:
        for turn in turns:
            for source in turn.item.sources:
                assert locate(source.quote, documents[source.document]), turn.item.id


def test_keeping_the_subject_is_scored_on_the_question_as_understood() -> None:
    terms = ("Rli", "hoofdaanbeveling")
    rewritten = "Hoe reageert het kabinet op de hoofdaanbeveling van de Rli?"
    assert keeps_subject(rewritten, "Hoe reageert het kabinet daarop?", terms) == 1.0
    assert keeps_subject(None, "Hoe reageert het kabinet daarop?", terms) == 0.0
    assert keeps_subject("Hoe reageert het kabinet op de Rli?", "x", terms) == 0.0
    assert keeps_subject(None, "x", ()) is None
