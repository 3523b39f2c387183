"""The chunk store: a Chroma collection, embedded (``PersistentClient``) or on a server
(``HttpClient``), written through llama-index's ``ChromaVectorStore`` so that llama-index
retrievers and indexes can read the same collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.utils import metadata_dict_to_node
from llama_index.vector_stores.chroma import ChromaVectorStore

from assistant.errors import BackendError
from assistant.settings import Settings
from ingest.chunk import Chunk
from ingest.embed import ChromaEmbeddingFunction

#: Metadata that describes a chunk; kept out of the text that is embedded or shown to the LLM.
_META_KEYS = ("title", "source", "page", "heading", "start", "end", "chunk_index", "content_hash")
_PAGE_SIZE = 1000


def chroma_client(settings: Settings) -> Any:
    """A Chroma client for the settings: a server when a host is set, else embedded on disk."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        except Exception as exc:
            raise BackendError(
                f"The Chroma server at {settings.chroma_host}:{settings.chroma_port} is "
                f"unreachable ({exc}).",
                hint="Start it with `chroma run --path <dir> --host <host> --port <port>`, or "
                "unset ASSISTANT_CHROMA_HOST to use the embedded store.",
            ) from exc
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class ChunkStore:
    """Chunks with their embeddings and metadata, grouped by document id."""

    def __init__(self, settings: Settings, embedder: BaseEmbedding) -> None:
        self._client = chroma_client(settings)
        function = ChromaEmbeddingFunction(embedder, settings.embedding_backend)
        try:
            self.collection = self._client.get_or_create_collection(
                name=settings.chroma_collection,
                embedding_function=function,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise BackendError(
                f"Cannot open the Chroma collection {settings.chroma_collection!r}: {exc}",
                hint="If the index was built with other embedding settings, rebuild it with "
                "`python -m ingest --rebuild`.",
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
            self.vector_store.add(nodes)

    def delete_document(self, document_id: str) -> None:
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

    def count(self) -> int:
        return int(self.collection.count())

    def reset(self) -> None:
        """Delete every chunk (used by ``--rebuild``)."""
        ids = [i for page_ids, _d, _m in self._pages(include=[]) for i in page_ids]
        for start in range(0, len(ids), _PAGE_SIZE):
            self.collection.delete(ids=ids[start : start + _PAGE_SIZE])

    def _pages(self, include: list[str]) -> Any:
        offset = 0
        while True:
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
