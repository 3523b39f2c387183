"""Split a cleaned document into overlapping chunks on sentence boundaries, counted in tokens.

The splitting itself is llama-index's ``SentenceSplitter`` (paragraphs first, then sentences with
NLTK's Dutch Punkt model, token counts from tiktoken's ``cl100k_base``). It returns chunk strings
only; each chunk is an exact substring of the text, so we locate it to record its character
offsets, and verify them: quotes are later mapped back through these offsets.
"""

from __future__ import annotations

import hashlib
from functools import cache

from assistant.core.errors import AssistantError
from assistant.core.i18n import _
from assistant.core.text import dutch_sentences, token_counter
from assistant.index.records import Chunk, CleanDocument


@cache
def _splitter(chunk_size: int, chunk_overlap: int) -> object:
    from llama_index.core.node_parser import SentenceSplitter

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=token_counter(),
        paragraph_separator="\n\n",
        chunking_tokenizer_fn=dutch_sentences(),
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
    pieces = [piece for piece in splitter.split_text(text) if piece.strip()]
    for index, piece in enumerate(pieces):
        start = _locate_chunk(text, piece, search_from, previous_end)
        if start < 0:
            raise AssistantError(
                _(
                    "Internal error: chunk {index} of document {document_id} is not a substring "
                    "of its text."
                ).format(index=index, document_id=document_id),
                hint=_("Please report this with the document; ingestion of it was stopped."),
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


def _locate_chunk(text: str, piece: str, search_from: int, previous_end: int) -> int:
    """Where the splitter's next chunk ``piece`` starts in ``text`` (-1: nowhere).

    A short chunk ("Zie bijlage.") can also stand earlier, inside the previous chunk, so the
    first occurrence is not always the right one (found by the chunking fuzz test). The chunk
    follows on from the previous one: it starts no later than the first non-space character
    after the previous chunk and ends beyond it. Of such occurrences the last is taken; any of
    them has the same text, and the last one leaves no gap.
    """
    limit = previous_end
    while limit < len(text) and text[limit].isspace():
        limit += 1
    found = -1
    candidate = text.find(piece, search_from)
    while 0 <= candidate <= limit:
        if candidate + len(piece) > previous_end:
            found = candidate
        candidate = text.find(piece, candidate + 1)
    if found < 0:  # not adjacent (should not happen): the first occurrence that moves on
        found = text.find(piece, search_from)
        while found >= 0 and found + len(piece) <= previous_end:
            found = text.find(piece, found + 1)
    return found
