"""The keyword index: BM25 (bm25s) with the Dutch Snowball stemmer and Dutch stopwords, over the
same chunks as Chroma, persisted next to it in segments.

A ministry's corpus must not be re-indexed whole for every small ingest, nor on every start, so
the index is a list of immutable segments, the layout Lucene uses:

- each segment is a bm25s index (built through llama-index's ``BM25Retriever``) over the chunks
  one run added; an ingest writes one new segment with its new chunks and marks the replaced or
  removed chunks of older segments as deleted;
- a query is scored in every segment with corpus-wide term statistics (document frequencies
  summed over the segments), so a chunk scores the same whichever segment holds it, apart from
  the length normalisation, which uses its own segment's average length. As in Lucene, deleted
  chunks count in those statistics until their segment is merged away;
- with more than ``MAX_SEGMENTS`` segments the small ones are merged into one; when a quarter of
  all stored chunks are deleted, the index is rebuilt whole.

``state.json`` names the live segments, each file's SHA-256 and the fingerprint of the chunk set.
It is written last and atomically: a killed run leaves the previous index in force, and its
half-written segment folder is swept by the next run. A missing, stale or damaged index (a file
cut off by a full disk, bit rot) is detected against it and rebuilt from Chroma. Segments are
loaded memory-mapped, so start-up does not read them whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle
from llama_index.core.vector_stores.utils import metadata_dict_to_node

from assistant.core.errors import AssistantError
from assistant.core.i18n import _
from assistant.core.text import BM25_STOPWORDS, new_stemmer
from assistant.index.layout import BM25_STATE_FILE as STATE_FILE
from assistant.index.manifest import atomic_write_text

log = logging.getLogger(__name__)

_IDS_FILE = "ids.json"
_FORMAT = 2
#: More segments than this and the small ones are merged (each one costs a pass per query).
MAX_SEGMENTS = 8
#: Share of deleted chunks at which the index is rebuilt whole (they still weigh in the scores).
MAX_DELETED_SHARE = 0.25


def _quiet_bm25s() -> None:
    # bm25s sets its own logger to DEBUG at import, which would print on every build.
    logging.getLogger("bm25s").setLevel(logging.WARNING)


# --- on disk -----------------------------------------------------------------------------------
@dataclass
class _SegmentRecord:
    name: str
    count: int
    deleted: set[str] = field(default_factory=set)
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "deleted": sorted(self.deleted),
            "files": self.files,
        }


@dataclass
class _State:
    fingerprint: str
    segments: list[_SegmentRecord]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "fingerprint": self.fingerprint,
                "segments": [s.to_json() for s in self.segments],
            }
        )


def _read_state(directory: Path) -> _State | None:
    try:
        data = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT:
            return None
        return _State(
            fingerprint=str(data["fingerprint"]),
            segments=[
                _SegmentRecord(
                    name=str(s["name"]),
                    count=int(s["count"]),
                    deleted=set(s["deleted"]),
                    files=dict(s["files"]),
                )
                for s in data["segments"]
            ],
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def stored_fingerprint(directory: Path) -> str | None:
    """The chunk-set fingerprint the stored index was built from, or None if there is none."""
    state = _read_state(directory)
    return state.fingerprint if state else None


def files_intact(directory: Path) -> bool:
    """Whether the stored index is readable and every file is as it was saved."""
    state = _read_state(directory)
    return state is not None and _damage(directory, state) is None


def _damage(directory: Path, state: _State) -> str | None:
    """The first file of ``state``'s segments that is missing or differs from what was saved."""
    for segment in state.segments:
        for name, expected in segment.files.items():
            path = directory / segment.name / name
            try:
                if _sha256(path) != expected:
                    return f"{segment.name}/{name} does not match its checksum"
            except OSError:
                return f"{segment.name}/{name} is missing"
    return None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def remove_bm25(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


# --- writing -----------------------------------------------------------------------------------
#: Fetches chunks by id from the chunk store (Chroma): the source the index is built from.
FetchNodes = Callable[[Sequence[str]], list[BaseNode]]


def update_bm25(
    directory: Path,
    chunk_ids: Sequence[str],
    fetch: FetchNodes,
    fingerprint: str,
    *,
    rebuild: bool = False,
) -> str:
    """Bring the stored index to ``chunk_ids``; only chunks it does not hold yet are fetched and
    indexed. Returns what it did, in words, for the log."""
    state = None if rebuild else _read_state(directory)
    if state is not None and (problem := _damage(directory, state)):
        log.warning("the BM25 index in %s is damaged (%s); rebuilding it", directory, problem)
        state = None
    if state is not None and state.fingerprint == fingerprint:
        return "unchanged"

    wanted = set(chunk_ids)
    segments: list[_SegmentRecord] = []
    live: dict[str, list[str]] = {}  # segment name -> its live chunk ids
    for record in state.segments if state else []:
        ids = json.loads((directory / record.name / _IDS_FILE).read_text(encoding="utf-8"))
        # A chunk is live in one segment at most (a document removed and added back is a new
        # segment's, its old copy was marked deleted when it was removed).
        seen = set().union(*live.values()) if live else set()
        kept = [i for i in ids if i in wanted and i not in record.deleted and i not in seen]
        if kept:
            record.deleted = set(ids) - set(kept)
            segments.append(record)
            live[record.name] = kept
    held = set().union(*live.values()) if live else set()
    added = [i for i in chunk_ids if i not in held]

    stored = sum(s.count for s in segments) + len(added)
    deleted = sum(len(s.deleted) for s in segments)
    if state is None:
        action = f"built ({len(added)} chunks)"
    elif deleted > MAX_DELETED_SHARE * stored:
        action = f"rebuilt ({deleted} of {stored} stored chunks were deleted)"
        segments, added = [], list(chunk_ids)
    elif len(segments) + bool(added) > MAX_SEGMENTS:
        largest = max(segments, key=lambda s: s.count)
        merged = [i for s in segments if s is not largest for i in live[s.name]]
        action = f"merged {len(segments) - 1} segments and {len(added)} new chunks"
        segments, added = [largest], merged + added
    else:
        action = f"{len(added)} chunks added, {deleted} deleted in older segments"

    if added:
        segments.append(_write_segment(directory, _next_name(directory), _fetch(fetch, added)))
    atomic_write_text(directory / STATE_FILE, _State(fingerprint, segments).to_json())
    _sweep(directory, {s.name for s in segments})
    return action


def _fetch(fetch: FetchNodes, ids: list[str]) -> list[BaseNode]:
    nodes = fetch(ids)
    if sorted(n.node_id for n in nodes) != sorted(ids):
        raise AssistantError(
            _("The Chroma collection and the manifest disagree about the chunks in the index."),
            hint=_("Run `python -m ingest` again; if this persists, `python -m ingest --rebuild`."),
        )
    return nodes


def _next_name(directory: Path) -> str:
    numbers = [int(p.name[1:]) for p in _segment_dirs(directory) if p.name[1:].isdigit()]
    return f"s{max(numbers, default=0) + 1:06d}"


def _segment_dirs(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [p for p in directory.iterdir() if p.is_dir() and p.name.startswith("s")]


def _write_segment(directory: Path, name: str, nodes: Sequence[BaseNode]) -> _SegmentRecord:
    from llama_index.retrievers.bm25 import BM25Retriever

    _quiet_bm25s()
    path = directory / name
    shutil.rmtree(path, ignore_errors=True)  # a half-written folder of a killed run
    path.mkdir(parents=True)
    try:
        retriever = BM25Retriever.from_defaults(
            nodes=list(nodes), stemmer=new_stemmer(), language=BM25_STOPWORDS, similarity_top_k=1
        )
        retriever.persist(str(path), show_progress=False)
        atomic_write_text(path / _IDS_FILE, json.dumps([n.node_id for n in nodes]))
        files = {p.name: _sha256(p) for p in sorted(path.iterdir()) if p.is_file()}
    except BaseException:
        # A half-written segment (full disk) would only take space; the index in use is
        # untouched until state.json names the new segment.
        shutil.rmtree(path, ignore_errors=True)
        raise
    return _SegmentRecord(name=name, count=len(nodes), files=files)


def _sweep(directory: Path, keep: set[str]) -> None:
    """Delete what ``state.json`` does not name: replaced segments, a killed run's leftovers,
    files of the older single-folder format. (A reader that has a deleted segment open keeps
    reading it: the files stay until it closes them.)"""
    for path in directory.iterdir():
        if path.name == STATE_FILE or path.name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# --- reading -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Segment:
    """One loaded segment: its bm25s index (memory-mapped) and the positions of deleted chunks."""

    index: Any
    dead: np.ndarray

    @property
    def count(self) -> int:
        return int(self.index.scores["num_docs"])

    def frequency(self, token: str) -> int:
        """How many of the segment's chunks contain ``token`` (deleted ones included)."""
        token_id = self.index.vocab_dict.get(token)
        if token_id is None:
            return 0
        indptr = self.index.scores["indptr"]
        return int(indptr[token_id + 1] - indptr[token_id])


class SegmentedBM25(BaseRetriever):
    """BM25 over all segments, scored with corpus-wide document frequencies, deleted chunks left
    out. A llama-index retriever, so it takes part in ``QueryFusionRetriever``."""

    def __init__(self, segments: Sequence[_Segment], similarity_top_k: int) -> None:
        super().__init__()
        self._segments = list(segments)
        self.similarity_top_k = similarity_top_k
        self._stemmer = new_stemmer()

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    @property
    def chunk_count(self) -> int:
        """Chunks stored (deleted ones included: they count in the statistics)."""
        return sum(s.count for s in self._segments)

    def document_frequency(self, token: str) -> float:
        """Share of chunks that contain the (Dutch-stemmed) token."""
        total = self.chunk_count
        return sum(s.frequency(token) for s in self._segments) / total if total else 0.0

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        import bm25s
        from bm25s.scoring import _select_idf_scorer

        tokens = bm25s.tokenize(
            query_bundle.query_str,
            stopwords=BM25_STOPWORDS,
            stemmer=self._stemmer,
            return_ids=False,
            show_progress=False,
        )[0]
        total = self.chunk_count
        frequency = {t: sum(s.frequency(t) for s in self._segments) for t in set(tokens)}
        hits: list[tuple[float, _Segment, int]] = []
        for segment in self._segments:
            index = segment.index
            idf = _select_idf_scorer(index.idf_method)
            data, indices, indptr = (index.scores[k] for k in ("data", "indices", "indptr"))
            scores = np.zeros(segment.count, dtype=np.float32)
            for token in tokens:
                token_id = index.vocab_dict.get(token)
                if token_id is None:
                    continue
                start, end = int(indptr[token_id]), int(indptr[token_id + 1])
                if start == end:
                    continue
                # The stored scores carry the segment's own idf; scale them to the corpus-wide one.
                weight = idf(frequency[token], total) / idf(end - start, segment.count)
                # A token's posting list names each chunk once, so plain indexing adds correctly
                # (and is many times faster than np.add.at).
                scores[indices[start:end]] += data[start:end] * weight
            scores[segment.dead] = 0.0
            k = min(self.similarity_top_k, segment.count)
            best = np.argpartition(-scores, k - 1)[:k]
            hits.extend((float(scores[i]), segment, int(i)) for i in best if scores[i] > 0)
        hits.sort(key=lambda hit: -hit[0])
        return [
            NodeWithScore(node=metadata_dict_to_node(segment.index.corpus[position]), score=score)
            for score, segment, position in hits[: self.similarity_top_k]
        ]


def load_bm25(directory: Path, similarity_top_k: int = 10) -> SegmentedBM25:
    """The stored index, memory-mapped; ValueError when it is missing or damaged."""
    import bm25s

    _quiet_bm25s()
    state = _read_state(directory)
    if state is None:
        raise ValueError(f"no readable {STATE_FILE} in {directory}")
    if problem := _damage(directory, state):
        raise ValueError(problem)
    segments = []
    for record in state.segments:
        path = directory / record.name
        index = bm25s.BM25.load(str(path), load_corpus=True, mmap=True, show_progress=False)
        ids = json.loads((path / _IDS_FILE).read_text(encoding="utf-8"))
        dead = np.array([i for i, chunk in enumerate(ids) if chunk in record.deleted], dtype=int)
        segments.append(_Segment(index=index, dead=dead))
    return SegmentedBM25(segments, similarity_top_k)


def build_bm25(nodes: Sequence[BaseNode], similarity_top_k: int = 10) -> SegmentedBM25:
    """An index over ``nodes`` in memory, one segment (for a folder it cannot be saved in)."""
    from llama_index.retrievers.bm25 import BM25Retriever

    _quiet_bm25s()
    retriever = BM25Retriever.from_defaults(
        nodes=list(nodes), stemmer=new_stemmer(), language=BM25_STOPWORDS, similarity_top_k=1
    )
    index = retriever.bm25
    index.corpus = retriever.corpus
    return SegmentedBM25([_Segment(index=index, dead=np.array([], dtype=int))], similarity_top_k)
