"""What the index holds, on disk next to it: the manifest and the clean text of every document.

The manifest is the commit record of ingestion. A document counts as ingested only once its
record is in the manifest, and the record is written last (after Chroma and the text file). A run
killed at any moment therefore leaves documents either fully recorded or not recorded at all; the
next run redoes the unrecorded ones and removes their leftovers.

On disk it is a snapshot (``manifest.json``, replaced atomically) and a journal beside it
(``manifest.journal``: one JSON line per recorded or dropped document, appended and fsynced).
Rewriting the whole snapshot for every document would make a first ingest of a large corpus
quadratic (5,000 documents, 100k chunk ids: gigabytes written); the journal keeps each commit
small, and the snapshot absorbs it at the end of each run or when it grows long. A line cut off
by a crash or a full disk is the last one, is ignored on reading and cut away before the next
append.

The clean text of each document is what quotes are verified against, so it is kept verbatim in
``documents/<document id>.json`` together with page and heading offsets.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from assistant.core.errors import IndexNotReadyError
from assistant.core.i18n import _
from assistant.index.layout import journal_path, text_file
from assistant.index.records import (
    Anchor,
    CleanDocument,
    HeadingSpan,
    PageSpan,
    ReadPage,
    SkipSpan,
    SourceText,
)

INDEX_FORMAT = 1


@dataclass(frozen=True)
class IndexConfig:
    """The settings an index was built with; reading it with other values gives wrong results."""

    embedding_backend: str
    embedding_model: str
    embedding_dim: int
    chunk_size: int
    chunk_overlap: int
    chunker_version: str
    index_format: int = INDEX_FORMAT

    def differences(self, other: IndexConfig) -> list[str]:
        """Human-readable ``name: stored -> requested`` for every field that differs."""
        return [
            _("{name}: {stored} (index) vs {wanted} (settings)").format(
                name=f.name,
                stored=repr(getattr(self, f.name)),
                wanted=repr(getattr(other, f.name)),
            )
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


@dataclass(frozen=True)
class DocumentRecord:
    """One ingested document."""

    document_id: str
    source: str
    title: str
    format: str
    content_key: str
    chunk_ids: tuple[str, ...]
    pages: int | None
    size_bytes: int
    ingested_at: str
    #: The document this one was attached to (an e-mail's attachment), removed along with it.
    parent: str | None = None


@dataclass
class Manifest:
    """The index's configuration and its documents; every change is saved before it counts."""

    path: Path
    config: IndexConfig | None = None
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    #: What is on disk (snapshot + journal), to write only the difference.
    _saved: dict[str, DocumentRecord] = field(default_factory=dict, repr=False)
    _saved_config: IndexConfig | None = field(default=None, repr=False)
    _journal_lines: int = field(default=0, repr=False)
    _journal_bytes: int = field(default=0, repr=False)

    @property
    def journal(self) -> Path:
        return journal_path(self.path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        manifest = cls(path=path)
        try:
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                manifest.config = IndexConfig(**data["config"]) if data.get("config") else None
                manifest.documents = {
                    doc_id: _record(record) for doc_id, record in data.get("documents", {}).items()
                }
            manifest._replay()
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexNotReadyError(
                _("The index manifest {path} is damaged ({error}: {reason}).").format(
                    path=path, error=type(exc).__name__, reason=exc
                ),
                hint=_("Rebuild the index with `python -m ingest --rebuild`."),
            ) from exc
        manifest._saved = dict(manifest.documents)
        manifest._saved_config = manifest.config
        return manifest

    def _replay(self) -> None:
        try:
            raw = self.journal.read_bytes()
        except FileNotFoundError:
            return
        complete = raw[: raw.rfind(b"\n") + 1]  # a cut-off last line is no commit
        for line in complete.decode("utf-8").splitlines():
            change = json.loads(line)
            if "put" in change:
                record = _record(change["put"])
                self.documents[record.document_id] = record
            else:
                self.documents.pop(str(change["drop"]), None)
        self._journal_lines = complete.count(b"\n")
        self._journal_bytes = len(complete)

    def save(self) -> None:
        """Write what changed since the last save: a journal line per document, or a new
        snapshot when the configuration changed or the journal has grown long."""
        if self.config != self._saved_config or self._journal_lines > max(64, len(self.documents)):
            self.compact()
            return
        changes = [
            json.dumps({"put": asdict(record)}, ensure_ascii=False)
            for doc_id, record in sorted(self.documents.items())
            if self._saved.get(doc_id) is not record and self._saved.get(doc_id) != record
        ]
        changes += [
            json.dumps({"drop": doc_id})
            for doc_id in sorted(set(self._saved) - set(self.documents))
        ]
        if changes:
            self._append("".join(line + "\n" for line in changes).encode("utf-8"), len(changes))
        self._saved = dict(self.documents)

    def compact(self) -> None:
        """Write the whole manifest as a new snapshot and empty the journal (nothing to do when
        the snapshot already holds everything: a no-op ingest writes nothing)."""
        current = self.config == self._saved_config and self.documents == self._saved
        if current and self.path.exists() and not self.journal.exists():
            return
        payload = {
            "config": asdict(self.config) if self.config else None,
            "documents": {doc_id: asdict(r) for doc_id, r in sorted(self.documents.items())},
        }
        atomic_write_text(self.path, json.dumps(payload, ensure_ascii=False, indent=1))
        # After the snapshot: a crash in between only replays changes the snapshot already has.
        self.journal.unlink(missing_ok=True)
        self._saved, self._saved_config = dict(self.documents), self.config
        self._journal_lines = self._journal_bytes = 0

    def _append(self, data: bytes, lines: int) -> None:
        fd = os.open(self.journal, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, self._journal_bytes)  # drop a line cut off by an earlier failure
            os.lseek(fd, self._journal_bytes, os.SEEK_SET)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            if exc.filename is None:  # a failed write() names no file (a full disk)
                raise OSError(exc.errno, exc.strerror, str(self.journal)) from exc
            raise
        finally:
            os.close(fd)
        self._journal_lines += lines
        self._journal_bytes += len(data)

    def chunk_ids(self) -> list[str]:
        """All chunk ids of all recorded documents, sorted."""
        return sorted(cid for record in self.documents.values() for cid in record.chunk_ids)

    def fingerprint(self) -> str:
        """A hash of the exact chunk set; the BM25 index stores the one it was built from."""
        digest = hashlib.sha256()
        for chunk_id in self.chunk_ids():
            digest.update(chunk_id.encode("utf-8") + b"\n")
        return digest.hexdigest()


def _record(data: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(**{**data, "chunk_ids": tuple(data["chunk_ids"])})


@dataclass(frozen=True)
class StoredDocument:
    """A document's clean text as stored with the index (quotes are checked against ``text``)."""

    document_id: str
    title: str
    source: str
    text: CleanDocument


def write_document_text(
    directory: Path, document_id: str, title: str, source: str, document: CleanDocument
) -> None:
    payload: dict[str, Any] = {
        "document_id": document_id,
        "title": title,
        "source": source,
        "text": document.text,
        "pages": [asdict(p) for p in document.pages],
        "headings": [asdict(h) for h in document.headings],
        "footnotes": [asdict(f) for f in document.footnotes],
        "source_text": asdict(document.source) if document.source is not None else None,
        "machine_read": [asdict(r) for r in document.machine_read],
        "details": [list(pair) for pair in document.details],
    }
    atomic_write_text(text_file(directory, document_id), json.dumps(payload, ensure_ascii=False))


def read_document_text(directory: Path, document_id: str) -> StoredDocument:
    path = text_file(directory, document_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexNotReadyError(
            _("The text of document {document_id} is missing from the index ({path}).").format(
                document_id=document_id, path=path
            ),
            hint=_("Run `python -m ingest` to repair the index."),
        ) from exc
    clean = CleanDocument(
        text=data["text"],
        pages=tuple(PageSpan(**p) for p in data["pages"]),
        headings=tuple(HeadingSpan(**h) for h in data["headings"]),
        footnotes=tuple(PageSpan(**f) for f in data.get("footnotes", ())),
        source=_source(data.get("source_text")),
        machine_read=tuple(ReadPage(**r) for r in data.get("machine_read", ())),
        details=tuple((str(k), str(v)) for k, v in data.get("details", ())),
    )
    return StoredDocument(data["document_id"], data["title"], data["source"], clean)


def _source(data: dict[str, Any] | None) -> SourceText | None:
    """The stored source text; None for a document indexed before sources were kept."""
    if data is None:
        return None
    return SourceText(
        text=data["text"],
        pages=tuple(PageSpan(**p) for p in data["pages"]),
        skips=tuple(SkipSpan(**s) for s in data["skips"]),
        anchors=tuple(Anchor(**a) for a in data["anchors"]),
    )


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); the index's other files are 0644 (umask 022),
        # and app instances running as another user must be able to read a shared index.
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            # A failed write() names no file (a full disk); name the one being written.
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
