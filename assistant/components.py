"""The composition root: builds every heavy object once from the settings.

The CLI, the UI, the evals and the tests all get their assistant from :func:`build_assistant`;
nothing else constructs models, clients or indexes. What it builds, the assistant owns and
releases on ``close()``: the Chroma client, and the model backend unless one was passed in (the
UI shares one backend between the assistants it rebuilds).
"""

from __future__ import annotations

import logging

from llama_index.core.base.embeddings.base import BaseEmbedding

from assistant.answering import Answerer
from assistant.core.errors import IndexNotReadyError
from assistant.core.i18n import _
from assistant.core.settings import Settings
from assistant.documents import DocumentTexts
from assistant.index.bm25 import (
    SegmentedBM25,
    build_bm25,
    load_bm25,
    stored_fingerprint,
    update_bm25,
)
from assistant.index.config import check_config
from assistant.index.embed import build_embedder
from assistant.index.layout import IndexLayout
from assistant.index.lock import IngestRunningError, exclusive
from assistant.index.manifest import Manifest
from assistant.index.store import ChunkStore
from assistant.llm.backends import LLMBackend, build_backend
from assistant.retrieval import HybridRetriever

log = logging.getLogger(__name__)


def build_assistant(
    settings: Settings,
    *,
    embedder: BaseEmbedding | None = None,
    backend: LLMBackend | None = None,
) -> Answerer:
    """An assistant over the index in ``settings.data_dir`` (it must have been ingested).

    ``embedder``, ``backend``: use these instead of building new ones (the caller keeps them:
    the assistant's ``close()`` leaves a given backend running).
    """
    layout = IndexLayout(settings.index_dir)
    manifest = Manifest.load(layout.manifest)
    if manifest.config is None or not manifest.documents:
        raise IndexNotReadyError(
            _("The index in {path} is empty.").format(path=settings.index_dir),
            hint=_("Run `python -m ingest` first to index the documents."),
        )
    check_config(manifest.config, settings)
    embedder = embedder or build_embedder(settings)
    # read_only: this store only reads, so an index in a read-only folder (a shared drive) opens.
    store = ChunkStore(settings, embedder, read_only=True)
    closers = [store.close]
    try:
        bm25 = _bm25(settings, layout, manifest, store)
        if backend is None:
            backend = build_backend(settings)
            closers.append(backend.close)
        retriever = HybridRetriever(settings, embedder, store, bm25, backend.llm)
        documents = DocumentTexts(layout.documents)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return Answerer(settings, retriever, backend, documents, closers=closers)


def index_version(settings: Settings) -> tuple[tuple[int, int] | None, ...]:
    """Changes whenever an ingest (in this process or another: the CLI, another app instance on
    the same index) commits a document or brings BM25 up to date; cheap to ask per question."""
    version: list[tuple[int, int] | None] = []
    for path in IndexLayout(settings.index_dir).version_files():
        try:
            status = path.stat()
            version.append((status.st_mtime_ns, status.st_size))
        except OSError:
            version.append(None)
    return tuple(version)


def _bm25(
    settings: Settings, layout: IndexLayout, manifest: Manifest, store: ChunkStore
) -> SegmentedBM25:
    """The stored BM25 index, brought up to date first when it is stale, missing or damaged."""
    directory = layout.bm25
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
        with exclusive(layout.lock):
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
