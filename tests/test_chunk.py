from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from assistant.core.text import token_counter
from assistant.index.records import CleanDocument
from ingest.chunk import chunk_document
from ingest.clean import clean_document
from ingest.load import LoadedDocument, Segment, load_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def corpus_texts() -> dict[str, CleanDocument]:
    return {
        path.name: clean_document(load_document(path, max_bytes=2**26))
        for path in sorted(CORPUS.iterdir())
    }


def test_chunk_offsets_slice_the_clean_text_exactly(corpus_texts: dict[str, CleanDocument]) -> None:
    for name, document in corpus_texts.items():
        chunks = chunk_document(name, document, chunk_size=300, chunk_overlap=50)
        assert chunks, name
        for chunk in chunks:
            assert document.text[chunk.start : chunk.end] == chunk.text


def test_chunks_respect_the_token_budget_and_cover_the_text(
    corpus_texts: dict[str, CleanDocument],
) -> None:
    count = token_counter()
    for name, document in corpus_texts.items():
        chunks = chunk_document(name, document, chunk_size=300, chunk_overlap=50)
        assert max(len(count(c.text)) for c in chunks) <= 300
        # Every non-space character of the document is in some chunk (nothing lost) ...
        covered = bytearray(len(document.text))
        for chunk in chunks:
            covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
        lost = [i for i, ch in enumerate(document.text) if not covered[i] and not ch.isspace()]
        assert not lost, (name, document.text[lost[0] : lost[0] + 40])
        # ... and neighbours overlap by at most the configured budget (plus one sentence edge).
        for left, right in itertools.pairwise(chunks):
            assert right.start > left.start
            shared = document.text[right.start : max(right.start, left.end)]
            assert len(count(shared)) <= 50 + 5


def test_chunks_start_on_sentence_boundaries(corpus_texts: dict[str, CleanDocument]) -> None:
    name = "2024-06-12-brief-eerste-kamer-een-jaar-actieagenda-sterk-bestuur.txt"
    chunks = chunk_document(name, corpus_texts[name], chunk_size=300, chunk_overlap=50)
    starts = [c.text[0] for c in chunks]
    # Sentences start with a capital, a digit, a quote or a bracket.
    assert sum(ch.isupper() or ch.isdigit() or ch in "‘“'(•" for ch in starts) >= 0.9 * len(starts)


def test_chunk_ids_are_deterministic_and_carry_page_numbers() -> None:
    document = clean_document(
        LoadedDocument(
            path=Path("x.pdf"),
            format="pdf",
            title="x",
            segments=tuple(
                Segment(f"Pagina {n}. " + "Het kabinet zet in op samenwerking. " * 40, page=n)
                for n in (1, 2, 3)
            ),
        )
    )
    first = chunk_document("doc", document, chunk_size=120, chunk_overlap=20)
    again = chunk_document("doc", document, chunk_size=120, chunk_overlap=20)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert {c.page for c in first} == {1, 2, 3}
    for chunk in first:
        assert chunk.page == document.page_at(chunk.start)


def test_a_chunk_whose_text_occurs_earlier_gets_its_own_offsets() -> None:
    # Found by tests/test_fuzz_chunking.py: the last chunk "0 0." also stands inside the first.
    text = "0. 0 0 0 0 0. 0 0 0 0000 0a0a 0a0a0 0a-0a 0000a0a. 0 0."
    document = clean_document(
        LoadedDocument(path=Path("x.txt"), format="txt", title="x", segments=(Segment(text),))
    )
    chunks = chunk_document("doc", document, chunk_size=50, chunk_overlap=0)
    assert [(c.start, c.end) for c in chunks] == [(0, 50), (51, 55)]
    # ... and a later case: "0. 0." stands at 45 too, ending inside the text still to cover.
    text = "0. 0. 0. 0 0 0a0. 0 0 0a0a0a0a0. 0 0 0 0 0 0 0. 0. 0."
    document = clean_document(
        LoadedDocument(path=Path("x.txt"), format="txt", title="x", segments=(Segment(text),))
    )
    chunks = chunk_document("doc", document, chunk_size=50, chunk_overlap=0)
    assert [(c.start, c.end) for c in chunks] == [(0, 47), (48, 53)]
