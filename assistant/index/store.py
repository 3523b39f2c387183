"""The chunk store: a Chroma collection, embedded (``PersistentClient``) or on a server
(``HttpClient``), written through llama-index's ``ChromaVectorStore`` so that llama-index
retrievers and indexes can read the same collection. Connecting and failures (and which Chroma):
assistant/index/chroma.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.core.errors import AssistantError
from assistant.core.i18n import _
from assistant.core.settings import Settings
from assistant.index.chroma import chroma_target
from assistant.index.embed import ChromaEmbeddingFunction
from assistant.index.records import Chunk

#: Metadata that describes a chunk; kept out of the text that is embedded or shown to the LLM.
_META_KEYS = ("title", "source", "page", "heading", "start", "end", "chunk_index", "content_hash")
_PAGE_SIZE = 1000


class ChunkStore:
    """Chunks with their embeddings and metadata, grouped by document id.

    Every Chroma call runs inside :meth:`guard`, so callers see AssistantError, never a raw
    ``httpx`` or Chroma error. ``read_only``: for readers, which may open a read-only index.
    :meth:`close` releases the Chroma client.
    """

    def __init__(
        self, settings: Settings, embedder: BaseEmbedding, *, read_only: bool = False
    ) -> None:
        self._settings = settings
        self._chroma = chroma_target(settings)
        self._read_only = read_only
        self._function = ChromaEmbeddingFunction(embedder, settings.embedding_backend)
        self._client: Any = None
        self._broken = False
        self.collection: Any = None
        self.vector_store: ChromaVectorStore
        self._connect()

    def reconnect(self) -> None:
        """Open the collection anew: after a Chroma server restart, or after a failed write
        dropped this process's embedded connections (BackendError if Chroma is still away)."""
        self._connect()

    def close(self) -> None:
        """Release the Chroma client (its connections, or an embedded store's last hold on the
        folder); idempotent. A later call on this store connects anew."""
        client, self._client = self._client, None
        self._broken = True
        if client is not None:
            self._chroma.release(client)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run Chroma calls; their failures become AssistantError naming the server or folder."""
        if self._broken:
            self._connect()
        try:
            yield
        except AssistantError:
            raise
        except Exception as exc:
            # Embedded: a failed call may have left a connection holding SQLite's lock (see
            # assistant/index/chroma.py); this store then reconnects on its next call.
            self._broken = self._chroma.discard(self._client)
            raise self._chroma.failure(exc) from exc

    def _connect(self) -> None:
        self._broken = False
        self._client = self._chroma.client(read_only=self._read_only)
        try:
            self.collection = self._client.get_or_create_collection(
                name=self._settings.chroma_collection,
                embedding_function=self._function,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            self._chroma.discard(self._client)  # as in guard()
            raise self._chroma.failure(
                exc,
                hint=_(
                    "If the index was built with other embedding settings, rebuild it with "
                    "`python -m ingest --rebuild`."
                ),
            ) from exc
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)

    def replace_document(
        self,
        document_id: str,
        chunks: Sequence[Chunk],
        embeddings: Sequence[list[float]],
        *,
        title: str,
        source: str,
    ) -> None:
        """Remove the document's old chunks (if any) and add the new ones."""
        self.delete_document(document_id)
        nodes: list[BaseNode] = [
            _to_node(chunk, vector, title=title, source=source)
            for chunk, vector in zip(chunks, embeddings, strict=True)
        ]
        if nodes:
            with self.guard():
                self.vector_store.add(nodes)

    def delete_document(self, document_id: str) -> None:
        with self.guard():
            self.vector_store.delete(ref_doc_id=document_id)

    def document_ids(self) -> set[str]:
        """Ids of all documents that have chunks in the collection."""
        found: set[str] = set()
        for _ids, _docs, metadatas in self._pages(include=["metadatas"]):
            found.update(str(m.get("document_id")) for m in metadatas if m)
        return found

    def nodes(self) -> list[BaseNode]:
        """Every chunk as a llama-index node (for building the BM25 index)."""
        nodes: list[BaseNode] = []
        for ids, documents, metadatas in self._pages(include=["documents", "metadatas"]):
            for node_id, text, metadata in zip(ids, documents, metadatas, strict=True):
                node = metadata_dict_to_node(dict(metadata), text=text)
                node.id_ = node_id
                nodes.append(node)
        return nodes

    def nodes_by_ids(self, ids: Sequence[str]) -> list[BaseNode]:
        """The chunks with these ids (those that exist), as llama-index nodes."""
        nodes: list[BaseNode] = []
        for start in range(0, len(ids), _PAGE_SIZE):
            with self.guard():
                page = self.collection.get(
                    ids=list(ids[start : start + _PAGE_SIZE]), include=["documents", "metadatas"]
                )
            for node_id, text, metadata in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                node = metadata_dict_to_node(dict(metadata), text=text)
                node.id_ = node_id
                nodes.append(node)
        return nodes

    def count(self) -> int:
        with self.guard():
            return int(self.collection.count())

    def nearest_distance(self, vector: list[float]) -> float | None:
        """Cosine distance from ``vector`` to the closest chunk (None for an empty store)."""
        with self.guard():
            found = self.collection.query(query_embeddings=[vector], n_results=1)
        distances = found.get("distances") or [[]]
        return float(distances[0][0]) if distances[0] else None

    def reset(self) -> None:
        """Delete every chunk (used by ``--rebuild``)."""
        ids = [i for page_ids, _d, _m in self._pages(include=[]) for i in page_ids]
        for start in range(0, len(ids), _PAGE_SIZE):
            with self.guard():
                self.collection.delete(ids=ids[start : start + _PAGE_SIZE])

    def _pages(self, include: list[str]) -> Any:
        offset = 0
        while True:
            with self.guard():
                page = self.collection.get(include=include, limit=_PAGE_SIZE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            yield (
                ids,
                page.get("documents") or [None] * len(ids),
                page.get("metadatas") or [{}] * len(ids),
            )
            offset += len(ids)


def _to_node(chunk: Chunk, vector: list[float], *, title: str, source: str) -> TextNode:
    metadata: dict[str, Any] = {
        "title": title,
        "source": source,
        "start": chunk.start,
        "end": chunk.end,
        "chunk_index": chunk.index,
        "content_hash": chunk.content_hash,
    }
    if chunk.page is not None:
        metadata["page"] = chunk.page
    if chunk.heading is not None:
        metadata["heading"] = chunk.heading
    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        embedding=vector,
        metadata=metadata,
        excluded_embed_metadata_keys=list(_META_KEYS),
        excluded_llm_metadata_keys=list(_META_KEYS),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.document_id)},
        start_char_idx=chunk.start,
        end_char_idx=chunk.end,
    )
