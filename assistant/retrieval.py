"""Hybrid retrieval: BM25 (Dutch stemming) and dense (Chroma) candidates fused with reciprocal
rank fusion (llama-index's ``QueryFusionRetriever``), then near-duplicates collapsed.

The corpus holds documents that summarise others (a news item retelling a cabinet letter); their
passages would otherwise crowd the context with the same sentences twice.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.core.errors import BackendError
from assistant.core.settings import Settings
from assistant.core.text import stem_words, stopwords, terms
from assistant.index.bm25 import SegmentedBM25
from assistant.index.embed import embed_passages, embed_query
from assistant.index.store import ChunkStore
from assistant.types import Passage

log = logging.getLogger(__name__)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Retrieval:
    """Passages for a question, and how strongly the best one matches it (cosine, 0..1)."""

    passages: tuple[Passage, ...]
    best_similarity: float
    #: The question's embedding the dense search used (the sentence ranking reuses it).
    query_vector: tuple[float, ...] = ()


class HybridRetriever:
    """BM25 + dense retrieval over the same chunks, fused, de-duplicated."""

    def __init__(
        self,
        settings: Settings,
        embedder: BaseEmbedding,
        store: ChunkStore,
        bm25: SegmentedBM25,
        llm: LLM,
    ) -> None:
        self._settings = settings
        self._bm25 = bm25
        self._embedder = embedder
        self._store = store
        candidates = settings.retrieval_candidates
        self._retrievers: list[BaseRetriever] = [_DenseRetriever(store, embedder, candidates), bm25]
        self._llm = llm
        self._fusion = QueryFusionRetriever(
            self._retrievers,
            # Only consulted to write query variants, which num_queries=1 switches off; passing
            # ours keeps llama-index from resolving its global default LLM.
            llm=llm,
            mode=FUSION_MODES(settings.fusion_mode),
            similarity_top_k=candidates,
            num_queries=1,
            use_async=False,
        )

    def retrieve(self, question: str, k: int, *, also: Sequence[str] = ()) -> Retrieval:
        """Passages for ``question``, fused with those for the questions in ``also`` (a
        follow-up as typed, beside its standalone rewrite); BackendError (naming the Chroma
        server or folder) when the chunk store cannot be searched."""
        vector = embed_query(self._embedder, question)
        extra = [QueryBundle(query_str=q, embedding=embed_query(self._embedder, q)) for q in also]
        try:
            return self.search(question, vector, k, extra)
        except BackendError as exc:
            # A restarted Chroma server, or an embedded store whose connections were dropped
            # after a failed write, answers again on a new connection: one retry, then the
            # error stands (reconnect raises it when Chroma is still away).
            log.warning("searching Chroma failed (%s); reconnecting once", exc.message)
        self._store.reconnect()
        return self.search(question, vector, k, extra)

    def search(
        self, question: str, vector: list[float], k: int, also: Sequence[QueryBundle] = ()
    ) -> Retrieval:
        """:meth:`retrieve` with the query embedding already made (benchmarks time it apart)."""
        fusion = self._fusion if not also else self._fused_with(also)
        fused = fusion.retrieve(QueryBundle(query_str=question, embedding=vector))
        feedback = self._settings.bm25_feedback_terms
        if feedback:
            # Pseudo-relevance feedback: a paraphrased question shares few words with its
            # passage; the best first-round passages lend it the document's own words.
            top = [hit.node.get_content() for hit in fused[: self._settings.bm25_feedback_passages]]
            extra = feedback_terms(question, top, self._bm25.document_frequency, feedback)
            if extra:
                expanded = f"{question} {' '.join(extra)}"
                fused = fusion.retrieve(QueryBundle(query_str=expanded, embedding=vector))
        passages = collapse_duplicates(
            [to_passage(n) for n in fused], self._settings.duplicate_threshold
        )
        distance = self._store.nearest_distance(vector)
        similarity = 1.0 - distance if distance is not None else 0.0
        return Retrieval(
            passages=tuple(passages[:k]), best_similarity=similarity, query_vector=tuple(vector)
        )

    def _fused_with(self, also: Sequence[QueryBundle]) -> QueryFusionRetriever:
        """A fusion retriever that searches ``also`` beside the question (one per call, so
        concurrent questions never share their extra queries)."""
        return _ExtraQueries(
            list(also),
            self._retrievers,
            llm=self._llm,
            mode=self._fusion.mode,
            similarity_top_k=self._fusion.similarity_top_k,
            num_queries=1 + len(also),
            use_async=False,
        )

    def question_vector(self, question: str) -> list[float]:
        """The question's embedding (the same the dense search uses)."""
        return embed_query(self._embedder, question)

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Embeddings of document texts (sentences), as the index embeds its chunks."""
        return embed_passages(self._embedder, texts)

    def document_frequency(self, stem: str) -> float:
        """Share of chunks that contain the (Dutch-stemmed) term, from the BM25 index."""
        return self._bm25.document_frequency(stem)


class _ExtraQueries(QueryFusionRetriever):
    """llama-index's fusion over fixed extra queries instead of ones its LLM would write:
    ``_get_queries`` is the hook ``QueryFusionRetriever`` calls for the query variants."""

    def __init__(self, queries: list[QueryBundle], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra = queries

    def _get_queries(self, original_query: str) -> list[QueryBundle]:
        return list(self._extra)


class _DenseRetriever(BaseRetriever):
    """Vector search in the chunk store, its Chroma failures turned into BackendError; it
    follows the store to a new collection handle after :meth:`ChunkStore.reconnect`."""

    def __init__(self, store: ChunkStore, embedder: BaseEmbedding, top_k: int) -> None:
        super().__init__()
        self._store = store
        self._embedder = embedder
        self._top_k = top_k
        self._inner: BaseRetriever | None = None
        self._inner_for: object = None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector_store = self._store.vector_store
        if self._inner is None or self._inner_for is not vector_store:
            index = VectorStoreIndex.from_vector_store(vector_store, embed_model=self._embedder)
            self._inner = index.as_retriever(similarity_top_k=self._top_k)
            self._inner_for = vector_store
        with self._store.guard():
            return self._inner.retrieve(query_bundle)


def feedback_terms(
    question: str, passages: list[str], frequency: Callable[[str], float], most: int
) -> list[str]:
    """Up to ``most`` words of ``passages`` worth adding to the question's BM25 query: the
    stems with the highest length-normalised frequency in them times their inverse document
    frequency in the index, not already in the question; each as the word it most often is."""
    asked = terms(question)
    dutch, english = stopwords()
    weight: defaultdict[str, float] = defaultdict(float)
    surface: dict[str, Counter[str]] = {}
    for text in passages:
        words = [
            w
            for w in (w.lower() for w in _WORD.findall(text))
            if len(w) >= 4 and w.isalpha() and w not in dutch and w not in english
        ]
        for word, stem in zip(words, stem_words(words), strict=True):
            if stem in asked:
                continue
            share = frequency(stem)
            if share <= 0:
                continue
            weight[stem] += math.log(1.0 / share) / max(1, len(words))
            surface.setdefault(stem, Counter())[word] += 1
    best = sorted(weight, key=weight.__getitem__, reverse=True)[:most]
    return [surface[stem].most_common(1)[0][0] for stem in best]


def to_passage(hit: NodeWithScore) -> Passage:
    node = hit.node
    meta = node.metadata
    page = meta.get("page")
    return Passage(
        text=node.get_content(),
        document=str(node.ref_doc_id or meta.get("document_id", "")),
        title=str(meta.get("title", "")),
        score=float(hit.score or 0.0),
        start=int(meta["start"]),
        end=int(meta["end"]),
        page=int(page) if isinstance(page, int | float) and not isinstance(page, bool) else None,
        heading=str(meta["heading"]) if meta.get("heading") else None,
        chunk_id=node.node_id,
        source=str(meta.get("source", "")),
    )


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(0, len(words) - 2))}


def collapse_duplicates(passages: list[Passage], threshold: float) -> list[Passage]:
    """Keep passages in rank order, dropping any that largely repeats one already kept.

    Two passages are near-duplicates when the share of the smaller one's word trigrams that also
    occur in the other reaches ``threshold``.
    """
    kept: list[tuple[Passage, set[tuple[str, ...]]]] = []
    for passage in passages:
        grams = _shingles(passage.text)
        duplicate = any(
            grams and other and len(grams & other) / min(len(grams), len(other)) >= threshold
            for _kept, other in kept
        )
        if not duplicate:
            kept.append((passage, grams))
    return [p for p, _g in kept]
