"""The composition root: builds every heavy object once from the settings.

The CLI, the UI, the evals and the tests all get their assistant from :func:`build_assistant`;
nothing else constructs models, clients or indexes.
"""

from __future__ import annotations

import logging

from llama_index.core.base.embeddings.base import BaseEmbedding

from assistant.answering import Answerer, DocumentTexts
from assistant.errors import IndexNotReadyError
from assistant.llm import LLMBackend, build_backend
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from ingest.bm25 import (
    STATE_FILE,
    SegmentedBM25,
    build_bm25,
    load_bm25,
    stored_fingerprint,
    update_bm25,
)
from ingest.embed import build_embedder
from ingest.manifest import Manifest, journal_path
from ingest.pipeline import IngestRunningError, check_config, exclusive
from ingest.store import ChunkStore

log = logging.getLogger(__name__)


def build_assistant(
    settings: Settings,
    *,
    embedder: BaseEmbedding | None = None,
    backend: LLMBackend | None = None,
) -> Answerer:
    """An assistant over the index in ``settings.data_dir`` (it must have been ingested)."""
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    if manifest.config is None or not manifest.documents:
        raise IndexNotReadyError(
            f"The index in {settings.index_dir} is empty.",
            hint="Run `python -m ingest` first to index the documents.",
        )
    check_config(manifest.config, settings)
    embedder = embedder or build_embedder(settings)
    # read_only: this store only reads, so an index in a read-only folder (a shared drive) opens.
    store = ChunkStore(settings, embedder, read_only=True)
    bm25 = _bm25(settings, manifest, store)
    backend = backend or build_backend(settings)
    retriever = HybridRetriever(settings, embedder, store, bm25, backend.llm)
    documents = DocumentTexts(settings.index_dir / "documents")
    return Answerer(settings, retriever, backend, documents)


def index_version(settings: Settings) -> tuple[tuple[int, int] | None, ...]:
    """Changes whenever an ingest (in this process or another: the CLI, another app instance on
    the same index) commits a document or brings BM25 up to date; cheap to ask per question."""
    version: list[tuple[int, int] | None] = []
    manifest = settings.index_dir / "manifest.json"
    for path in (manifest, journal_path(manifest), settings.index_dir / "bm25" / STATE_FILE):
        try:
            status = path.stat()
            version.append((status.st_mtime_ns, status.st_size))
        except OSError:
            version.append(None)
    return tuple(version)


def _bm25(settings: Settings, manifest: Manifest, store: ChunkStore) -> SegmentedBM25:
    """The stored BM25 index, brought up to date first when it is stale, missing or damaged."""
    directory = settings.index_dir / "bm25"
    fingerprint = manifest.fingerprint()
    candidates = settings.retrieval_candidates
    if stored_fingerprint(directory) == fingerprint:
        try:
            return load_bm25(directory, candidates)
        except Exception as exc:  # bm25s raises many kinds for damaged files
            log.warning("the BM25 index in %s is damaged (%s); rebuilding it", directory, exc)
    else:
        log.warning("the BM25 index in %s is missing or stale; updating it", directory)
    try:
        with exclusive(settings.index_dir / "ingest.lock"):
            update_bm25(directory, manifest.chunk_ids(), store.nodes_by_ids, fingerprint)
        return load_bm25(directory, candidates)
    except IngestRunningError:
        # An ingest is writing the index and brings BM25 up to date when it ends; until then the
        # stored index serves (passages of documents it has since removed are dropped later).
        try:
            return load_bm25(directory, candidates)
        except (OSError, ValueError):
            pass
    except OSError as exc:
        # A read-only folder or a full disk: answer from an index in memory all the same. (The
        # text, not the exception: a kept log record would keep its frames and the store alive.)
        log.warning("could not save the BM25 index in %s: %s", directory, str(exc))
    return build_bm25(store.nodes(), candidates)
