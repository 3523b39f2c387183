"""The segmented BM25 index (ingest/bm25.py) over the real corpus's chunks in a real Chroma:
small changes add a segment instead of rebuilding, rankings stay those of a whole rebuild,
deleted chunks never come back, merges keep the segment count bounded, a killed write is swept."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.core.settings import Settings
from assistant.index.bm25 import (
    MAX_SEGMENTS,
    build_bm25,
    files_intact,
    load_bm25,
    stored_fingerprint,
    update_bm25,
)
from assistant.index.layout import BM25_STATE_FILE as STATE_FILE
from assistant.index.manifest import Manifest
from assistant.index.store import ChunkStore

#: The corpus index's Chroma store and its chunk ids per document.
Chunks = tuple[ChunkStore, dict[str, list[str]]]
QUESTIONS = [
    "Wat constateert de ROB over de publieke dienstverlening?",
    "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?",
    "kabinetsreactie op het advies",
    "uitvoeringsorganisaties en de menselijke maat",
    "Welke rol hebben gemeenten bij de uitvoering?",
]


@pytest.fixture(scope="module")
def chunks(corpus_index: tuple[Settings, Any], embedder: Any) -> Iterator[Chunks]:
    """The corpus index's Chroma store and its chunk ids per document (in manifest order)."""
    settings, _ = corpus_index
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    by_document = {d: list(r.chunk_ids) for d, r in sorted(manifest.documents.items())}
    yield ChunkStore(settings, embedder, read_only=True), by_document


def _ids(by_document: dict[str, list[str]], documents: list[str]) -> list[str]:
    return sorted(i for d in documents for i in by_document[d])


def _ranking(retriever: Any, question: str) -> list[str]:
    return [hit.node.node_id for hit in retriever.retrieve(question)]


def _segments(directory: Path) -> list[dict[str, Any]]:
    return list(json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))["segments"])


def _index_all_but_the_last_document(directory: Path, chunks: Chunks) -> str:
    store, by_document = chunks
    first = _ids(by_document, list(by_document)[:-1])
    return update_bm25(directory, first, store.nodes_by_ids, "one")


def test_an_added_document_is_a_new_segment_and_ranks_as_in_a_whole_rebuild(
    tmp_path: Path, chunks: Chunks
) -> None:
    store, by_document = chunks
    documents = list(by_document)
    directory = tmp_path / "bm25"
    assert _index_all_but_the_last_document(directory, chunks).startswith("built")
    base = directory / _segments(directory)[0]["name"]
    base_files = {p.name: p.stat().st_mtime_ns for p in base.iterdir()}

    every = _ids(by_document, documents)
    action = update_bm25(directory, every, store.nodes_by_ids, "two")
    assert action.startswith(f"{len(by_document[documents[-1]])} chunks added")
    segments = _segments(directory)
    assert len(segments) == 2 and segments[1]["count"] == len(by_document[documents[-1]])
    # The first segment was not rewritten: a small ingest does not re-index the corpus.
    assert {p.name: p.stat().st_mtime_ns for p in base.iterdir()} == base_files
    assert stored_fingerprint(directory) == "two" and files_intact(directory)

    segmented = load_bm25(directory, similarity_top_k=10)
    whole = build_bm25(store.nodes_by_ids(every), similarity_top_k=10)
    assert segmented.chunk_count == whole.chunk_count == len(every)
    for question in QUESTIONS:
        ours, theirs = segmented.retrieve(question), whole.retrieve(question)
        # Corpus-wide document frequencies make the scores those of one index; only the length
        # normalisation (per segment) differs a little.
        assert ours[0].node.node_id == theirs[0].node.node_id, question
        overlap = {h.node.node_id for h in ours} & {h.node.node_id for h in theirs}
        assert len(overlap) >= 8, question
        assert ours[0].score == pytest.approx(theirs[0].score, rel=0.15)
    for stem in ("kabinet", "rob", "gemeent"):
        assert segmented.document_frequency(stem) == pytest.approx(whole.document_frequency(stem))


def test_one_segment_scores_exactly_as_bm25s(chunks: Chunks) -> None:
    """With one segment and nothing deleted the scores are bm25s's own. (The query drops Dutch
    stopwords, as the index does; llama-index's BM25Retriever keeps them in the query, where
    "over" and "een" then match stems of other words.)"""
    import bm25s
    from llama_index.retrievers.bm25 import BM25Retriever

    from assistant.core.text import BM25_STOPWORDS as STOPWORDS
    from assistant.core.text import new_stemmer as _stemmer

    store, by_document = chunks
    nodes = store.nodes_by_ids(_ids(by_document, list(by_document)))
    ours = build_bm25(nodes, similarity_top_k=10)
    theirs = BM25Retriever.from_defaults(nodes=nodes, stemmer=_stemmer(), language=STOPWORDS)
    for question in QUESTIONS:
        query = bm25s.tokenize(
            question, stopwords=STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
        )
        every = theirs.bm25.get_scores(query[0])
        position = {node.node_id: i for i, node in enumerate(nodes)}
        got = [(h.node.node_id, h.score) for h in ours.retrieve(question)]
        # The same ten best scores, each the score bm25s gives that chunk (ties may swap).
        assert [s for _, s in got] == pytest.approx(sorted(every, reverse=True)[:10], rel=1e-5)
        assert [s for _, s in got] == pytest.approx([every[position[i]] for i, _ in got], rel=1e-5)


def test_removed_and_replaced_chunks_are_never_returned(tmp_path: Path, chunks: Chunks) -> None:
    store, by_document = chunks
    documents = list(by_document)
    directory = tmp_path / "bm25"
    update_bm25(directory, _ids(by_document, documents), store.nodes_by_ids, "all")
    # The smallest document: removing it leaves the deleted share under the rebuild threshold.
    removed = min(documents, key=lambda d: len(by_document[d]))
    kept = _ids(by_document, [d for d in documents if d != removed])
    assert update_bm25(directory, kept, store.nodes_by_ids, "fewer").startswith("0 chunks added")
    retriever = load_bm25(directory, similarity_top_k=40)
    gone = set(by_document[removed])
    for question in QUESTIONS:
        assert not {h.node.node_id for h in retriever.retrieve(question)} & gone
    # Added back: its chunks come back from a new segment, once each.
    update_bm25(directory, _ids(by_document, documents), store.nodes_by_ids, "all again")
    retriever = load_bm25(directory, similarity_top_k=200)
    hits = [h.node.node_id for q in QUESTIONS for h in retriever.retrieve(q)]
    assert gone & set(hits)
    for question in QUESTIONS:
        ids = _ranking(retriever, question)
        assert len(ids) == len(set(ids)), "a chunk came back twice"


def test_segments_are_merged_and_a_mostly_deleted_index_is_rebuilt(
    tmp_path: Path, chunks: Chunks
) -> None:
    store, by_document = chunks
    every = _ids(by_document, list(by_document))
    directory = tmp_path / "bm25"
    # Grow the index a few chunks at a time, as uploads of single small documents would.
    step = max(1, len(every) // (3 * MAX_SEGMENTS))
    actions = []
    for end in range(step, len(every) // 2, step):
        actions.append(update_bm25(directory, every[:end], store.nodes_by_ids, f"n{end}"))
        assert len(_segments(directory)) <= MAX_SEGMENTS
    assert any(a.startswith("merged") for a in actions)
    stored = sum(s["count"] for s in _segments(directory))
    assert stored == len(every[:end])  # merging dropped nothing and doubled nothing
    # Take out most of what is there: the deleted chunks would skew the statistics.
    action = update_bm25(directory, every[: end // 3], store.nodes_by_ids, "small")
    assert action.startswith("rebuilt")
    assert [s["count"] for s in _segments(directory)] == [len(every[: end // 3])]
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [STATE_FILE] + [s["name"] for s in _segments(directory)]
    )


def test_a_write_killed_before_its_commit_leaves_the_old_index_and_is_swept(
    tmp_path: Path, chunks: Chunks
) -> None:
    store, by_document = chunks
    documents = list(by_document)
    directory = tmp_path / "bm25"
    _index_all_but_the_last_document(directory, chunks)
    # What a run killed while writing its segment leaves: a folder state.json does not name.
    half = directory / "s000002"
    shutil.copytree(directory / _segments(directory)[0]["name"], half)
    (half / "corpus.jsonl").write_bytes(b"{cut off")
    assert stored_fingerprint(directory) == "one" and files_intact(directory)
    assert load_bm25(directory).retrieve(QUESTIONS[0])

    update_bm25(directory, _ids(by_document, documents), store.nodes_by_ids, "two")
    names = [s["name"] for s in _segments(directory)]
    assert len(names) == 2 and files_intact(directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted([STATE_FILE, *names])
