"""The document texts quotes are verified against (the clean text, and the source text it maps
back to), read from the index and cached, and pinned per answer so that an ingest that replaces
or removes a document meanwhile changes nothing for an answer already under way."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import IndexNotReadyError
from assistant.index.layout import text_file
from assistant.index.manifest import StoredDocument, read_document_text
from assistant.index.source import Alignment
from assistant.quotes import NormalizedText


@dataclass(frozen=True)
class _Entry:
    stored: StoredDocument
    normalized: NormalizedText
    #: Where the clean text stands in the source; None for a document indexed without it.
    alignment: Alignment | None
    #: ``document_sha256`` of the text: hashed once per version read, not once per quote.
    sha256: str


def document_sha256(stored: StoredDocument) -> str:
    """SHA-256 of the text quotes are proven against: the source text as extracted from the
    file (the clean text for a document indexed before sources were kept)."""
    source = stored.text.source
    text = source.text if source is not None else stored.text.text
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry_of(stored: StoredDocument) -> _Entry:
    alignment = Alignment(stored.text) if stored.text.source is not None else None
    return _Entry(stored, NormalizedText(stored.text.text), alignment, document_sha256(stored))


class DocumentTexts:
    """Clean document texts (what quotes are verified against), read from the index's
    ``documents/`` folder and cached while the file stays the same (an ingest may replace it)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cache: dict[str, tuple[tuple[int, int], _Entry]] = {}
        self._lock = threading.Lock()

    def get(self, document_id: str) -> StoredDocument:
        return self._entry(document_id).stored

    def normalized(self, document_id: str) -> NormalizedText:
        return self._entry(document_id).normalized

    def pin(self, document_ids: set[str]) -> tuple[PinnedTexts, set[str]]:
        """The current texts of these documents, fixed for one answer, and the ids whose text is
        gone (removed by an ingest since the passages were retrieved)."""
        texts: dict[str, _Entry] = {}
        missing: set[str] = set()
        for document_id in sorted(document_ids):
            try:
                texts[document_id] = self._entry(document_id)
            except IndexNotReadyError:
                missing.add(document_id)
        return PinnedTexts(texts), missing

    def _entry(self, document_id: str) -> _Entry:
        path = text_file(self._directory, document_id)
        try:
            status = path.stat()
            version = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            version = (0, 0)  # read_document_text below says what is missing and what to do
        with self._lock:
            cached = self._cache.get(document_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        entry = _entry_of(read_document_text(self._directory, document_id))
        with self._lock:
            self._cache[document_id] = (version, entry)
        return entry


@dataclass(frozen=True)
class PinnedTexts:
    """The document texts one answer reads and verifies against, whatever an ingest does
    meanwhile."""

    texts: dict[str, _Entry]

    def get(self, document_id: str) -> StoredDocument:
        return self.texts[document_id].stored

    def normalized(self, document_id: str) -> NormalizedText:
        return self.texts[document_id].normalized

    def alignment(self, document_id: str) -> Alignment | None:
        """Where the document's clean text stands in its source (None: indexed without it)."""
        return self.texts[document_id].alignment

    def sha256(self, document_id: str) -> str:
        """The document's ``document_sha256``, as stamped on its quotes."""
        return self.texts[document_id].sha256
