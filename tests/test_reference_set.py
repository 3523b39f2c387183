"""The hand-written reference Q&A (evals/reference.jsonl) is well-formed and its quotes are real."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from assistant.quotes import NormalizedText, locate
from ingest.clean import clean_document
from ingest.load import load_document

REPO = Path(__file__).resolve().parents[1]
KINDS = {"fact", "paraphrase", "list", "multi_doc", "why_definition", "unanswerable", "english"}
FIELDS = {
    "id",
    "question",
    "answerable",
    "reference_answer",
    "sources",
    "key_facts",
    "kind",
    "split",
}


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    lines = (REPO / "evals" / "reference.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def documents() -> dict[str, NormalizedText]:
    return {
        path.name: NormalizedText(clean_document(load_document(path, max_bytes=2**26)).text)
        for path in (REPO / "corpus").iterdir()
    }


def test_items_are_well_formed(items: list[dict[str, Any]]) -> None:
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert set(item) == FIELDS, item["id"]
        assert item["kind"] in KINDS, item["id"]
        assert item["split"] in {"dev", "holdout"}, item["id"]
        assert item["question"].strip() and item["reference_answer"].strip(), item["id"]
        assert isinstance(item["answerable"], bool)
        if item["answerable"]:
            assert item["sources"] and item["key_facts"], item["id"]
            assert item["kind"] != "unanswerable"
        else:
            assert not item["sources"] and not item["key_facts"], item["id"]
            assert item["kind"] == "unanswerable"
        if item["kind"] == "multi_doc":
            assert len({s["document"] for s in item["sources"]}) >= 2, item["id"]


def test_the_set_covers_what_evaluators_need(items: list[dict[str, Any]]) -> None:
    kinds = Counter(item["kind"] for item in items)
    assert len(items) >= 150
    assert kinds["unanswerable"] >= 30 and kinds["english"] >= 15 and kinds["multi_doc"] >= 10
    assert all(kinds[kind] >= 5 for kind in KINDS)
    cited = {s["document"] for item in items for s in item["sources"]}
    assert cited == {path.name for path in (REPO / "corpus").iterdir()}
    # The holdout can tell a refusal rate: 10 unanswerable items are 0.1 apart, not 0.33.
    holdout = [item for item in items if item["split"] == "holdout"]
    assert len(holdout) >= 50 and sum(not item["answerable"] for item in holdout) >= 10
    assert {item["kind"] for item in holdout} == KINDS


def test_every_reference_quote_stands_in_its_document(
    items: list[dict[str, Any]], documents: dict[str, NormalizedText]
) -> None:
    for item in items:
        for source in item["sources"]:
            assert source["document"] in documents, item["id"]
            assert locate(source["quote"], documents[source["document"]]) is not None, (
                item["id"],
                source["quote"][:80],
            )
        quoted = " ".join(s["quote"] for s in item["sources"]).lower()
        for fact in item["key_facts"]:
            assert fact.lower() in quoted, (item["id"], fact)
