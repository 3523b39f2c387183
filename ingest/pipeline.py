"""Incremental ingestion: files -> load -> clean -> chunk -> embed -> Chroma + BM25 + manifest.

Safe to interrupt: the per-document commit order is (1) drop the document's manifest record,
(2) replace its chunks in Chroma, (3) write its clean text, (4) write its new record. A document
without a record is redone on the next run, and leftovers of unrecorded documents are swept at
the end of every run, so a killed run followed by a new one ends in the same index as a clean run.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from llama_index.core.base.embeddings.base import BaseEmbedding
from tqdm import tqdm

from assistant.core.errors import AssistantError, DocumentError
from assistant.core.i18n import _, ngettext
from assistant.core.settings import Settings
from assistant.index.bm25 import remove_bm25, update_bm25
from assistant.index.chroma import chroma_target
from assistant.index.config import CHUNKER_VERSION, open_manifest
from assistant.index.embed import build_embedder, embed_passages
from assistant.index.layout import IndexLayout, text_file
from assistant.index.lock import exclusive
from assistant.index.manifest import DocumentRecord, Manifest, write_document_text
from assistant.index.storage import ensure_space, space_needed, writing_to
from assistant.index.store import ChunkStore
from ingest import attachments
from ingest.chunk import chunk_document
from ingest.clean import CLEANER_VERSION, audit, clean_document
from ingest.load import LOADER_VERSION, LoadedDocument, check_size, load_document
from ingest.ocr import OcrSettings
from ingest.report import FileFailure, IngestReport, Tally, UncertainPage, UnmappedSentence

log = logging.getLogger(__name__)

#: Part of every document's content key: a new cleaner or chunker re-ingests all documents.
PIPELINE_VERSION = f"load{LOADER_VERSION}-clean{CLEANER_VERSION}-chunk{CHUNKER_VERSION}"


def ingest(
    paths: Sequence[Path] | None = None,
    *,
    settings: Settings,
    prune: bool = False,
    rebuild: bool = False,
    progress: bool = True,
    embedder: BaseEmbedding | None = None,
) -> IngestReport:
    """Ingest files and folders (default: the corpus folder, which also prunes removed files).

    Raises AssistantError for problems with the index or a backend as a whole; problems with
    single files are reported in ``IngestReport.failed`` and the other files are still ingested.
    """
    started = time.perf_counter()
    if paths is None:
        paths, prune = [settings.corpus_dir], True
    index_dir = settings.index_dir
    layout = IndexLayout(index_dir)
    # A read-only folder or a full disk fails the whole run with a message that says so (single
    # files still fail into the report); the commit protocol keeps the index as it was.
    with writing_to(index_dir):
        index_dir.mkdir(parents=True, exist_ok=True)
    with writing_to(index_dir), exclusive(layout.lock):
        if rebuild:
            _wipe(settings, layout)
        interrupted = _begin_run(layout)
        embedder = embedder or build_embedder(settings)
        manifest = open_manifest(settings, embedder)
        store = ChunkStore(settings, embedder)
        tally = Tally()
        files, missing = _discover(paths)
        tally.failed.extend(missing)
        seen: set[str] = set()
        run = _Run(settings, embedder, manifest, store, tally, progress)
        for path in tqdm(files, desc=_("Documents"), unit="doc", disable=not progress):
            doc_id = document_id(path, settings.corpus_dir)
            seen.add(doc_id)
            try:
                _ingest_file(path, doc_id, run)
            except DocumentError as exc:
                tally.failed.append(FileFailure(str(path), exc.reason, exc.hint))
        if prune:
            _prune(seen, manifest, store, layout, tally)
        if interrupted or tally.failed:
            _sweep_orphans(manifest, store, layout)
        _refresh_bm25(manifest, store, layout, force=rebuild)
        manifest.compact()  # readers then load one file, not the run's journal
        _end_run(layout)
        return IngestReport(
            added=tuple(tally.added),
            updated=tuple(tally.updated),
            unchanged=tuple(tally.unchanged),
            removed=tuple(tally.removed),
            failed=tuple(tally.failed),
            chunks_written=tally.chunks_written,
            documents_total=len(manifest.documents),
            chunks_total=len(manifest.chunk_ids()),
            seconds=time.perf_counter() - started,
            audited=tally.audited,
            unmapped=tuple(tally.unmapped),
            ocr_pages=tally.ocr_pages,
            ocr_cached=tally.ocr_cached,
            ocr_seconds=tally.ocr_seconds,
            uncertain=tuple(tally.uncertain),
            skipped_attachments=tuple(tally.skipped_attachments),
        )


def ocr_settings(settings: Settings, *, progress: bool = False) -> OcrSettings:
    """How this index reads scans (the OCR cache lives beside the index, outside a rebuild)."""
    return OcrSettings(
        language=settings.ocr_language,
        dpi=settings.ocr_dpi,
        max_pages=settings.ocr_max_pages,
        max_pixels=int(settings.ocr_max_megapixels * 1_000_000),
        min_confidence=settings.ocr_min_confidence,
        cache_dir=settings.data_dir / "ocr-cache",
        tessdata_dir=settings.ocr_tessdata_dir,
        progress=progress,
    )


def remove_documents(
    document_ids: Sequence[str], *, settings: Settings, embedder: BaseEmbedding | None = None
) -> IngestReport:
    """Take documents out of the index (chunks, clean text, BM25). Their files are not touched:
    a file still in the corpus folder comes back with the next ``python -m ingest``."""
    started = time.perf_counter()
    layout = IndexLayout(settings.index_dir)
    with writing_to(settings.index_dir), exclusive(layout.lock):
        manifest = Manifest.load(layout.manifest)
        unknown = [d for d in document_ids if d not in manifest.documents]
        if unknown:
            raise AssistantError(
                ngettext(
                    "No document with id {ids} in the index.",
                    "No documents with ids {ids} in the index.",
                    len(unknown),
                ).format(ids=", ".join(unknown)),
                hint=_("Run `python -m ingest --status` to list the documents and their ids."),
            )
        store = ChunkStore(settings, embedder or build_embedder(settings))
        tally = Tally()
        interrupted = _begin_run(layout)
        for doc_id in document_ids:
            _remove(doc_id, manifest, store, layout, tally)
        if interrupted:
            _sweep_orphans(manifest, store, layout)
        _refresh_bm25(manifest, store, layout, force=False)
        manifest.compact()
        _end_run(layout)
        return IngestReport(
            removed=tuple(tally.removed),
            documents_total=len(manifest.documents),
            chunks_total=len(manifest.chunk_ids()),
            seconds=time.perf_counter() - started,
        )


def document_id(path: Path, corpus_dir: Path) -> str:
    """A stable id: readable file stem plus a hash of the path (relative to the corpus folder)."""
    resolved = path.resolve()
    try:
        key = resolved.relative_to(corpus_dir.resolve()).as_posix()
    except ValueError:
        key = resolved.as_posix()
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:48] or "document"
    return f"{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


# --- steps ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Run:
    """What every file of one run is ingested with."""

    settings: Settings
    embedder: BaseEmbedding
    manifest: Manifest
    store: ChunkStore
    tally: Tally
    progress: bool


def _ingest_file(
    path: Path,
    doc_id: str,
    run: _Run,
    *,
    message: LoadedDocument | None = None,
    parent: str | None = None,
    depth: int = 0,
) -> None:
    settings, manifest, store, tally = run.settings, run.manifest, run.store, run.tally
    max_bytes = int(settings.max_file_mb * 2**20)
    data = _read_limited(path, max_bytes)
    key = hashlib.sha256(PIPELINE_VERSION.encode() + b"\0" + data).hexdigest()
    previous = manifest.documents.get(doc_id)
    if previous is not None and previous.content_key == key:
        tally.unchanged.append(str(path))
        return
    ocr = ocr_settings(settings, progress=run.progress)
    loaded = load_document(path, max_bytes=max_bytes, ocr=ocr)
    if message is not None:
        loaded = attachments.as_attachment_of(loaded, message, path.name)
    _count_ocr(loaded, settings, tally)
    clean = clean_document(loaded)
    tally.audited += 1
    tally.unmapped.extend(UnmappedSentence(str(path), page, text) for page, text in audit(clean))
    chunks = chunk_document(
        doc_id, clean, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
    )
    if not chunks:
        raise DocumentError(
            path, _("no text left after cleaning"), hint=_("Check the file's content.")
        )
    # Attachments go in before their message's record: a run killed in between redoes the
    # message (it has no record), and the attachments already in are found unchanged.
    if loaded.attachments or (previous is not None and previous.format == "email"):
        _ingest_attachments(path, doc_id, loaded, run, depth)
    # Refuse before embedding and before the old version's record is dropped: a disk that runs
    # full in the middle of Chroma's write is worse (see ingest/storage.py).
    ensure_space(
        settings.index_dir,
        space_needed(
            len(chunks),
            len(clean.text.encode("utf-8")),
            embedded_chroma=chroma_target(settings).embedded,
        ),
    )
    vectors: list[list[float]] = []
    batch = settings.embedding_batch_size
    with tqdm(
        total=len(chunks),
        desc=_("Embedding {name}").format(name=path.name[:40]),
        unit="chunk",
        leave=False,
        disable=not run.progress,
    ) as bar:
        for start in range(0, len(chunks), batch):
            texts = [c.text for c in chunks[start : start + batch]]
            vectors.extend(embed_passages(run.embedder, texts))
            bar.update(len(texts))
    # Commit protocol (see module docstring): the record goes first out and last in.
    if previous is not None:
        del manifest.documents[doc_id]
        manifest.save()
    source = str(path.resolve())
    text_dir = IndexLayout(settings.index_dir).documents
    try:
        store.replace_document(doc_id, chunks, vectors, title=loaded.title, source=source)
        write_document_text(text_dir, doc_id, loaded.title, source, clean)
        manifest.documents[doc_id] = DocumentRecord(
            document_id=doc_id,
            source=source,
            title=loaded.title,
            format=loaded.format,
            content_key=key,
            chunk_ids=tuple(c.id for c in chunks),
            pages=len(clean.pages) or None,
            size_bytes=len(data),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            parent=parent,
        )
        manifest.save()
    except Exception:
        _undo_unrecorded(doc_id, manifest, store, text_dir)
        raise
    tally.chunks_written += len(chunks)
    (tally.updated if previous is not None else tally.added).append(str(path))


def _ingest_attachments(
    path: Path, doc_id: str, loaded: LoadedDocument, run: _Run, depth: int
) -> None:
    """Ingest a message's attachments as documents linked to it; drop those it no longer has."""
    settings, manifest, tally = run.settings, run.manifest, run.tally
    layout = IndexLayout(settings.index_dir)
    wanted: set[str] = set()
    if loaded.attachments and depth < attachments.MAX_DEPTH:
        tally.skipped_attachments.extend(
            f"{path.name}: {name}" for name in attachments.skipped(loaded.attachments)
        )
        for saved in attachments.save(layout.attachments, doc_id, loaded.attachments):
            child = document_id(saved.path, settings.corpus_dir)
            wanted.add(child)
            try:
                _ingest_file(
                    saved.path,
                    child,
                    run,
                    message=loaded,
                    parent=doc_id,
                    depth=depth + 1,
                )
            except DocumentError as exc:
                name = _("{path} (attachment {name})").format(path=path, name=saved.name)
                tally.failed.append(FileFailure(name, exc.reason, exc.hint))
    for child_id in _children(manifest, doc_id) - wanted:
        _remove(child_id, manifest, run.store, layout, tally)


def _children(manifest: Manifest, doc_id: str) -> set[str]:
    return {d for d, record in manifest.documents.items() if record.parent == doc_id}


def _count_ocr(loaded: LoadedDocument, settings: Settings, tally: Tally) -> None:
    pages = loaded.machine_read_pages
    if not pages:
        return
    tally.ocr_pages += len(pages)
    tally.ocr_cached += len(pages) - loaded.ocr_read
    tally.ocr_seconds += loaded.ocr_seconds
    tally.uncertain.extend(
        UncertainPage(str(loaded.path), s.page or 0, s.confidence or 0.0)
        for s in pages
        if (s.confidence or 0.0) < settings.ocr_min_confidence
    )


def _undo_unrecorded(doc_id: str, manifest: Manifest, store: ChunkStore, text_dir: Path) -> None:
    """After a failed commit (a full disk), take out what was written of the document, so that
    search does not find chunks whose document has no record. Best effort: what stays behind is
    swept by the next run."""
    manifest.documents.pop(doc_id, None)
    text_file(text_dir, doc_id).unlink(missing_ok=True)
    try:
        store.delete_document(doc_id)
    except AssistantError as exc:
        log.warning("could not remove the chunks of %s after a failed write: %s", doc_id, exc)


def _read_limited(path: Path, max_bytes: int) -> bytes:
    check_size(path, max_bytes)
    try:
        return path.read_bytes()
    except OSError as exc:
        reason = _("cannot read the file ({reason})").format(reason=exc.strerror or exc)
        raise DocumentError(path, reason) from exc


def _discover(paths: Sequence[Path]) -> tuple[list[Path], list[FileFailure]]:
    """Files to ingest (hidden files and folders skipped), and paths that do not exist."""
    files: list[Path] = []
    missing: list[FileFailure] = []
    for root in paths:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                relative = path.relative_to(root).parts
                if path.is_file() and not any(part.startswith(".") for part in relative):
                    files.append(path)
        elif root.is_file():
            files.append(root)
        else:
            missing.append(
                FileFailure(
                    str(root), _("no such file or folder"), _("Check the path and try again.")
                )
            )
    unique = list(dict.fromkeys(files))
    return unique, missing


def _prune(
    seen: set[str], manifest: Manifest, store: ChunkStore, layout: IndexLayout, tally: Tally
) -> None:
    """Remove documents whose source file no longer exists, and attachments whose message is
    gone without ever having been recorded (it failed after its attachments went in)."""
    for doc_id, record in list(manifest.documents.items()):
        if doc_id not in manifest.documents:
            continue  # removed above, with its message
        if record.parent is not None:
            orphan = record.parent not in manifest.documents and record.parent not in seen
            if orphan:
                _remove(doc_id, manifest, store, layout, tally)
            continue  # otherwise it goes with its message (``_remove``)
        if doc_id not in seen and not Path(record.source).exists():
            _remove(doc_id, manifest, store, layout, tally)


def _remove(
    doc_id: str, manifest: Manifest, store: ChunkStore, layout: IndexLayout, tally: Tally
) -> None:
    # The record goes first: a crash after this line leaves orphans the next run sweeps away,
    # never a record whose chunks are gone.
    record = manifest.documents.pop(doc_id)
    manifest.save()
    store.delete_document(doc_id)
    layout.document_text(doc_id).unlink(missing_ok=True)
    tally.removed.append(record.source)
    if record.format != "email":
        return  # only a message has attachments; the scan below reads every record
    for child in _children(manifest, doc_id):  # a message's attachments go with it
        _remove(child, manifest, store, layout, tally)
    shutil.rmtree(attachments.folder_of(layout.attachments, doc_id), ignore_errors=True)


def _begin_run(layout: IndexLayout) -> bool:
    """Start a run; True when the one before did not end cleanly (killed, failed, or made by a
    version without this mark), so its leftovers must be swept. Sweeping means reading every
    chunk's metadata from Chroma: seconds at 100k chunks, not worth it after a clean run."""
    mark = layout.clean_end
    interrupted = not mark.exists()
    mark.unlink(missing_ok=True)
    return interrupted


def _end_run(layout: IndexLayout) -> None:
    layout.clean_end.touch()


def _sweep_orphans(manifest: Manifest, store: ChunkStore, layout: IndexLayout) -> None:
    """Delete chunks and texts of documents without a manifest record (left by a killed run)."""
    for doc_id in store.document_ids() - set(manifest.documents):
        log.info("removing chunks of unrecorded document %s", doc_id)
        store.delete_document(doc_id)
    if layout.attachments.is_dir():  # saved attachments of messages that have no record
        for folder in layout.attachments.iterdir():
            if folder.name not in manifest.documents:
                shutil.rmtree(folder, ignore_errors=True)
    texts = layout.documents
    if texts.is_dir():
        for path in texts.iterdir():
            orphan = path.suffix == ".json" and path.stem not in manifest.documents
            if orphan or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)


def _refresh_bm25(
    manifest: Manifest, store: ChunkStore, layout: IndexLayout, *, force: bool
) -> None:
    """Bring the BM25 index up to the manifest: new chunks in a new segment, not a rebuild."""
    directory = layout.bm25
    if not manifest.documents:
        remove_bm25(directory)
        return
    action = update_bm25(
        directory, manifest.chunk_ids(), store.nodes_by_ids, manifest.fingerprint(), rebuild=force
    )
    if action != "unchanged":
        log.info("BM25 index: %s", action)


def _wipe(settings: Settings, layout: IndexLayout) -> None:
    """Delete the index (collection, manifest, texts, BM25) so it is built anew."""
    target = chroma_target(settings)
    client = target.client()
    try:
        client.delete_collection(settings.chroma_collection)
    except Exception as exc:  # chromadb raises NotFoundError/ValueError for a missing collection
        log.debug("no collection to delete: %s", exc)
    finally:
        target.release(client)
    for path in (layout.manifest, layout.journal, layout.clean_end):
        path.unlink(missing_ok=True)
    for folder in (layout.documents, layout.bm25, layout.attachments):
        shutil.rmtree(folder, ignore_errors=True)
