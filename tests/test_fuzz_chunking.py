"""Property tests over chunking (hypothesis): for any text and any chunk settings, the offsets
slice back to the chunk, no text is lost, and neighbours share no more than the overlap."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.core.text import token_counter
from ingest.chunk import chunk_document
from ingest.clean import clean_document
from ingest.load import LoadedDocument, Segment

WORD = st.text(
    alphabet=st.sampled_from("abcdeéëijklmnopqrstuvwxyzABCDEZ0123456789-'’()%€§"),
    min_size=1,
    max_size=14,
)
SENTENCE = st.lists(WORD, min_size=1, max_size=25).map(
    lambda words: " ".join(words).capitalize() + "."
)
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=12).map(" ".join)
SEGMENTS = st.lists(PARAGRAPH, min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paragraphs=SEGMENTS,
    chunk_size=st.integers(min_value=50, max_value=220),
    overlap_share=st.floats(min_value=0.0, max_value=0.3),
    pages=st.booleans(),
)
def test_chunking_keeps_every_character_once_plus_the_overlap(
    paragraphs: list[str], chunk_size: int, overlap_share: float, pages: bool
) -> None:
    overlap = int(chunk_size * overlap_share)
    segments = tuple(
        Segment(text, page=number if pages else None)
        for number, text in enumerate(paragraphs, start=1)
    )
    document = clean_document(
        LoadedDocument(
            path=Path("x.pdf" if pages else "x.txt"),
            format="pdf" if pages else "txt",
            title="x",
            segments=segments,
        )
    )
    chunks = chunk_document("doc", document, chunk_size=chunk_size, chunk_overlap=overlap)
    text = document.text
    count = token_counter()
    assert chunks or not text.strip()
    covered = bytearray(len(text))
    for chunk in chunks:
        # Offsets always slice back to the chunk, and pages follow the offsets.
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.page == document.page_at(chunk.start)
        # SentenceSplitter counts the tokens of its pieces one by one; the joined chunk can
        # tokenize a token or two longer where pieces meet (seen: 62 for a budget of 61).
        assert len(count(chunk.text)) <= chunk_size + 3
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    # Nothing lost: every non-space character is in a chunk.
    lost = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not lost, text[lost[0] : lost[0] + 40]
    # Nothing duplicated beyond the overlap: neighbours share at most the overlap budget (plus a
    # few tokens where a sentence edge falls inside it), and they move forward.
    for left, right in itertools.pairwise(chunks):
        assert right.start > left.start and right.end > left.end
        shared = text[right.start : max(right.start, left.end)]
        assert len(count(shared)) <= overlap + 5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(PARAGRAPH, min_size=1, max_size=8))
def test_every_word_maps_to_the_page_it_came_from(pages: list[str]) -> None:
    """Offset mapping after cleaning: a word marked with its page is found on that page.

    The marks differ in letters, not digits: lines that differ only in digits are running
    headers ("Pagina 3") to the cleaner, and are dropped as such.
    """
    marked = [f"Paginamerk{_letters(number)}. {text}" for number, text in enumerate(pages, 1)]
    document = clean_document(
        LoadedDocument(
            path=Path("x.pdf"),
            format="pdf",
            title="x",
            segments=tuple(Segment(t, page=n) for n, t in enumerate(marked, start=1)),
        )
    )
    for number in range(1, len(pages) + 1):
        offset = document.text.find(f"Paginamerk{_letters(number)}")
        assert offset != -1
        assert document.page_at(offset) == number


def _letters(number: int) -> str:
    return "".join("abcdefghij"[int(digit)] for digit in str(number)) + "xq"
