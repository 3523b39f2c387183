"""The keyword index: BM25 (bm25s) with the Dutch Snowball stemmer and Dutch stopwords, built
over the same chunks as Chroma and persisted next to it.

It is built through llama-index's ``BM25Retriever`` so retrieval can use it directly. On disk it
carries the fingerprint of the chunk set it was built from and a SHA-256 of each of its files; a
missing, stale or damaged index (a killed run, a file cut off by a full disk, bit rot) is detected
by comparing them and rebuilt from Chroma.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.schema import BaseNode

from ingest.manifest import atomic_write_text

STEMMER_LANGUAGE = "dutch"
STOPWORDS = "nl"
_FINGERPRINT_FILE = "fingerprint.json"


def _quiet_bm25s() -> None:
    # bm25s sets its own logger to DEBUG at import, which would print on every build.
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


def build_bm25(nodes: Sequence[BaseNode], similarity_top_k: int = 10) -> Any:
    """A BM25Retriever over ``nodes`` (must not be empty)."""
    from llama_index.retrievers.bm25 import BM25Retriever

    _quiet_bm25s()
    return BM25Retriever.from_defaults(
        nodes=list(nodes),
        stemmer=_stemmer(),
        language=STOPWORDS,
        similarity_top_k=min(similarity_top_k, len(nodes)),
    )


def stored_fingerprint(directory: Path) -> str | None:
    """The chunk-set fingerprint the stored index was built from, or None if there is none."""
    try:
        data = json.loads((directory / _FINGERPRINT_FILE).read_text(encoding="utf-8"))
        return str(data["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_bm25(retriever: Any, directory: Path, fingerprint: str) -> None:
    """Persist atomically: write a new folder, then swap it in; the fingerprint goes in last."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        retriever.persist(str(staging), show_progress=False)
        atomic_write_text(
            staging / _FINGERPRINT_FILE,
            json.dumps({"fingerprint": fingerprint, "files": _checksums(staging)}),
        )
    except BaseException:
        # A half-written staging folder (full disk) would only take space; the index in use is
        # untouched until the rename below.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    staging.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def remove_bm25(directory: Path) -> None:
    for path in (directory, directory.with_name(directory.name + ".new")):
        shutil.rmtree(path, ignore_errors=True)


def load_bm25(directory: Path, similarity_top_k: int = 10) -> Any:
    """Load the stored BM25Retriever (memory-mapped), with the Dutch stemmer re-attached."""
    import bm25s
    from llama_index.retrievers.bm25 import BM25Retriever

    _quiet_bm25s()
    _verify_files(directory)
    index = bm25s.BM25.load(str(directory), load_corpus=True, mmap=True, show_progress=False)
    documents = int(index.scores.get("num_docs", 0))
    return BM25Retriever(
        existing_bm25=index,
        stemmer=_stemmer(),
        language=STOPWORDS,
        similarity_top_k=max(1, min(similarity_top_k, documents)),
    )


def _checksums(directory: Path) -> dict[str, str]:
    return {
        path.name: _sha256(path)
        for path in sorted(directory.iterdir())
        if path.is_file() and path.name != _FINGERPRINT_FILE
    }


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_intact(directory: Path) -> bool:
    """Whether every file of the stored index is as it was saved."""
    try:
        _verify_files(directory)
    except (OSError, ValueError):
        return False
    return True


def _verify_files(directory: Path) -> None:
    """ValueError naming the first file that differs from what was saved (an index saved before
    checksums were recorded is taken as it is)."""
    data = json.loads((directory / _FINGERPRINT_FILE).read_text(encoding="utf-8"))
    for name, expected in (data.get("files") or {}).items():
        path = directory / name
        if not path.is_file() or _sha256(path) != expected:
            raise ValueError(f"{name} is missing or does not match its checksum")
