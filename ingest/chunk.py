"""Split a cleaned document into overlapping chunks on sentence boundaries, counted in tokens.

The splitting itself is llama-index's ``SentenceSplitter`` (paragraphs first, then sentences with
NLTK's Dutch Punkt model, token counts from tiktoken's ``cl100k_base``). It returns chunk strings
only; each chunk is an exact substring of the text, so we locate it to record its character
offsets, and verify them: quotes are later mapped back through these offsets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from assistant.errors import AssistantError
from ingest.clean import CleanDocument

#: Bump when chunking changes in a way that makes existing chunks incomparable.
CHUNKER_VERSION = "2"  # 2: offsets of chunks whose text repeats earlier text
TOKEN_ENCODING = "cl100k_base"


@dataclass(frozen=True)
class Chunk:
    """A passage of a document, with where it stands in the document's clean text."""

    id: str
    document_id: str
    index: int
    text: str
    start: int
    end: int
    page: int | None
    heading: str | None
    content_hash: str


@cache
def token_counter() -> Callable[[str], list[int]]:
    """tiktoken's encoder used for chunk sizes and prompt budgets."""
    import tiktoken

    return tiktoken.get_encoding(TOKEN_ENCODING).encode


@cache
def _punkt() -> Any:
    from nltk.tokenize import PunktTokenizer

    return PunktTokenizer("dutch")


@cache
def _dutch_sentences() -> Callable[[str], list[str]]:
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer_internal

    def split(text: str) -> list[str]:
        return split_by_sentence_tokenizer_internal(text, _punkt())

    return split


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (Dutch Punkt model), in order."""
    return [(int(a), int(b)) for a, b in _punkt().span_tokenize(text)]


@cache
def _splitter(chunk_size: int, chunk_overlap: int) -> object:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=token_counter(),
        paragraph_separator="\n\n",
        chunking_tokenizer_fn=_dutch_sentences(),
    )


def chunk_document(
    document_id: str, document: CleanDocument, *, chunk_size: int, chunk_overlap: int
) -> list[Chunk]:
    """Chunks of ``document`` in reading order, each with verified offsets into its text."""
    from llama_index.core.node_parser import SentenceSplitter

    splitter = _splitter(chunk_size, chunk_overlap)
    assert isinstance(splitter, SentenceSplitter)
    text = document.text
    chunks: list[Chunk] = []
    search_from = 0
    previous_end = 0
    for index, piece in enumerate(splitter.split_text(text)):
        start = text.find(piece, search_from)
        # A short chunk ("Zie bijlage.") can also occur earlier, inside the previous chunk; the
        # real one reaches past the previous chunk's end (found by the chunking fuzz test).
        while start >= 0 and start + len(piece) <= previous_end:
            start = text.find(piece, start + 1)
        if start < 0:
            raise AssistantError(
                f"Internal error: chunk {index} of document {document_id} is not a substring of "
                "its text.",
                hint="Please report this with the document; ingestion of it was stopped.",
            )
        end = start + len(piece)
        # Overlapping chunks start after the previous chunk's start, never before it.
        search_from = start + 1
        previous_end = end
        digest = hashlib.sha256(piece.encode("utf-8")).hexdigest()
        chunks.append(
            Chunk(
                id=f"{document_id}:{index:05d}:{digest[:10]}",
                document_id=document_id,
                index=index,
                text=piece,
                start=start,
                end=end,
                page=document.page_at(start),
                heading=document.heading_at(start),
                content_hash=digest,
            )
        )
    return chunks
