"""Where everything of an index lies under its folder (``settings.index_dir``), named once.

Every reader and writer of the index (the ingest pipeline, the assistant, the UI, the CLI) takes
its paths from :class:`IndexLayout`; no other module spells a file name of the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The BM25 index's own record of its live segments (inside :attr:`IndexLayout.bm25`).
BM25_STATE_FILE = "state.json"


def journal_path(manifest: Path) -> Path:
    """The journal that belongs to a manifest snapshot (``manifest.journal`` beside it)."""
    return manifest.with_suffix(".journal")


def text_file(documents: Path, document_id: str) -> Path:
    """The file with one document's clean text inside the ``documents`` folder."""
    return documents / f"{document_id}.json"


@dataclass(frozen=True)
class IndexLayout:
    """The paths of one index folder."""

    root: Path

    @property
    def manifest(self) -> Path:
        """The manifest snapshot: configuration and documents (``manifest.py``)."""
        return self.root / "manifest.json"

    @property
    def journal(self) -> Path:
        """The manifest's journal: one line per document committed since the snapshot."""
        return journal_path(self.manifest)

    @property
    def documents(self) -> Path:
        """One JSON file per document with its clean text (what quotes are verified against)."""
        return self.root / "documents"

    def document_text(self, document_id: str) -> Path:
        return text_file(self.documents, document_id)

    @property
    def attachments(self) -> Path:
        """E-mail attachments saved as files, one folder per message (ingested as documents)."""
        return self.root / "attachments"

    @property
    def bm25(self) -> Path:
        """The keyword index's segments (``bm25.py``)."""
        return self.root / "bm25"

    @property
    def bm25_state(self) -> Path:
        return self.bm25 / BM25_STATE_FILE

    @property
    def chroma(self) -> Path:
        """Embedded Chroma's folder (unused with a Chroma server)."""
        return self.root / "chroma"

    @property
    def lock(self) -> Path:
        """The ingest lock: one writer at a time (``lock.py``)."""
        return self.root / "ingest.lock"

    @property
    def clean_end(self) -> Path:
        """Present when the last ingest run ended cleanly (its absence asks for a sweep)."""
        return self.root / "ingest.clean"

    def version_files(self) -> tuple[Path, ...]:
        """The files whose change means another process changed the index."""
        return (self.manifest, self.journal, self.bm25_state)
