"""The web UI's changes to the index: add uploaded files, remove a document.

Plain functions of the settings and the embedder (no UI): they store uploads, ingest them, clean
up after a failure and decide which source file may go, and report per file what happened. The
UI only turns the outcome into text for the user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.index.layout import IndexLayout
from assistant.index.manifest import Manifest
from ingest.pipeline import ingest, remove_documents
from ingest.uploads import RejectedUpload, StoredUpload, store_upload, uploads_dir

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

#: A lock held while the index changes (the UI's: uploads and removals one at a time).
IndexLock = contextlib.AbstractContextManager[object]


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one stored upload."""

    name: str  # the name the user gave the file
    status: Literal["added", "unchanged", "failed"]
    reason: str = ""  # why it failed
    hint: str = ""  # and what to do about it


@dataclass(frozen=True)
class UploadResult:
    """One upload of several files: those refused before ingestion (format, size, an unwritable
    uploads folder), then either the outcome of each stored file or the error that stopped the
    ingest as a whole (its new files are removed again then)."""

    rejected: tuple[RejectedUpload, ...] = ()
    outcomes: tuple[UploadOutcome, ...] = ()
    error: AssistantError | None = None

    @property
    def index_changed(self) -> bool:
        return self.error is None and bool(self.outcomes)


@dataclass(frozen=True)
class Removal:
    """A document taken out of the index."""

    document_id: str
    title: str  # the document's title (its id when the index had no record of it)
    #: The source file outside the uploads folder that still exists: the next ingest of the
    #: corpus brings the document back unless it is removed there too.
    kept_file: Path | None = None


def add_uploads(
    files: Sequence[tuple[Path, str | None]],
    settings: Settings,
    embedder: BaseEmbedding | None = None,
    lock: IndexLock | None = None,
) -> UploadResult:
    """Store uploaded files (``(temporary path, name the user gave)``, the name defaulting to
    the temporary file's) and ingest them.

    Nothing of a file that fails stays behind unless the same file was uploaded before (and may
    be indexed from then): :attr:`StoredUpload.existed`.
    """
    rejected: list[RejectedUpload] = []
    stored: list[StoredUpload] = []
    for path, name in files:
        original = name or path.name
        try:
            stored.append(store_upload(path, original, settings))
        except ValueError as exc:
            rejected.append(RejectedUpload(original, str(exc)))
    if not stored:
        return UploadResult(rejected=tuple(rejected))
    with lock or contextlib.nullcontext():
        try:
            report = ingest([s.path for s in stored], settings=settings, embedder=embedder)
        except AssistantError as exc:
            for upload in stored:
                if not upload.existed:  # an earlier upload of it stays indexed
                    upload.path.unlink(missing_ok=True)
            return UploadResult(rejected=tuple(rejected), error=exc)
    failed = {Path(f.path).resolve(): f for f in report.failed}
    outcomes: list[UploadOutcome] = []
    for upload in stored:
        failure = failed.get(upload.path)
        if failure is not None:
            if not upload.existed:
                upload.path.unlink(missing_ok=True)  # nothing of a rejected file stays
            outcomes.append(
                UploadOutcome(upload.original_name, "failed", failure.reason, failure.hint or "")
            )
        elif str(upload.path) in report.unchanged:
            outcomes.append(UploadOutcome(upload.original_name, "unchanged"))
        else:
            outcomes.append(UploadOutcome(upload.original_name, "added"))
    return UploadResult(rejected=tuple(rejected), outcomes=tuple(outcomes))


def remove_document(
    document_id: str,
    settings: Settings,
    embedder: BaseEmbedding | None = None,
    lock: IndexLock | None = None,
) -> Removal:
    """Take a document out of the index and delete its file if it was uploaded; a file in the
    corpus folder is left alone (:attr:`Removal.kept_file`). Raises AssistantError when the index
    cannot be changed (an unknown id, a read-only folder); nothing changed then."""
    record = Manifest.load(IndexLayout(settings.index_dir).manifest).documents.get(document_id)
    with lock or contextlib.nullcontext():
        remove_documents([document_id], settings=settings, embedder=embedder)
    if record is None:
        return Removal(document_id, document_id)
    source = Path(record.source).resolve()
    kept: Path | None = None
    if source.parent == uploads_dir(settings).resolve():
        source.unlink(missing_ok=True)
    elif source.exists():
        kept = source
    return Removal(document_id, record.title, kept)
