"""End to end: the real corpus into a real embedded Chroma and BM25 index, real embedder."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.core.errors import AssistantError, IndexMismatchError
from assistant.core.settings import Settings
from assistant.index.bm25 import load_bm25, stored_fingerprint
from assistant.index.embed import build_embedder
from assistant.index.manifest import Manifest, read_document_text
from assistant.index.store import ChunkStore
from ingest import ingest
from tests.conftest import CORPUS, REPO, only_segment
from tests.sample_files import write_binary, write_pdf
from tests.servers import ingest_process

pytestmark = pytest.mark.slow

SMALL = [
    "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt",
    "2024-03-25-kabinetsreactie-rli-advies-de-uitvoering-aan-zet.md",
]


def _small_corpus(folder: Path, names: list[str] = SMALL) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def _chroma_state(settings: Settings, embedder: Any) -> dict[str, tuple[str, int, int]]:
    """Every chunk in Chroma: id -> (text, start, end)."""
    store = ChunkStore(settings, embedder)
    return {
        node.node_id: (node.get_content(), node.metadata["start"], node.metadata["end"])
        for node in store.nodes()
    }


def _run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_CHUNK_SIZE": str(settings.chunk_size),
    }
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--quiet", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_corpus_index_is_complete_and_consistent(
    corpus_index: tuple[Settings, Any], embedder: Any
) -> None:
    settings, report = corpus_index
    assert len(report.added) == 5 and report.documents_total == 5
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    state = _chroma_state(settings, embedder)
    assert sorted(state) == manifest.chunk_ids()
    assert report.chunks_total == len(state) > 100
    for record in manifest.documents.values():
        stored = read_document_text(settings.index_dir / "documents", record.document_id)
        for chunk_id in record.chunk_ids:
            text, start, end = state[chunk_id]
            assert stored.text.text[start:end] == text
    assert stored_fingerprint(settings.index_dir / "bm25") == manifest.fingerprint()
    # A clean end is marked, so the next run skips the sweep for a killed run's leftovers.
    assert (settings.index_dir / "ingest.clean").exists()
    assert not (settings.index_dir / "manifest.journal").exists()


def test_bm25_finds_dutch_word_forms(corpus_index: tuple[Settings, Any]) -> None:
    settings, _ = corpus_index
    retriever = load_bm25(settings.index_dir / "bm25", similarity_top_k=3)
    # "gedecentraliseerd" (query) must match "gedecentraliseerde" (text) through the stemmer.
    hits = retriever.retrieve("taken gedecentraliseerd naar gemeenten sociaal domein")
    assert any("sociaal domein" in h.node.get_content() for h in hits)
    assert all(h.node.metadata["title"] for h in hits)


def test_dense_search_finds_a_paraphrase(corpus_index: tuple[Settings, Any], embedder: Any) -> None:
    from assistant.index.embed import embed_query

    settings, _ = corpus_index
    store = ChunkStore(settings, embedder)
    result = store.collection.query(
        query_embeddings=[
            embed_query(
                embedder,
                "Maakt de overheid gebruik van kunstmatige "
                "intelligentie bij het delen van gegevens voor loketten?",
            )
        ],
        n_results=5,
    )
    assert any("gebruik gemaakt van AI" in doc for doc in result["documents"][0])


def test_reingest_of_unchanged_corpus_is_a_no_op(
    corpus_index: tuple[Settings, Any], embedder: Any
) -> None:
    settings, _ = corpus_index
    before = _chroma_state(settings, embedder)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert len(report.unchanged) == 5
    assert report.chunks_written == 0 and not report.added and not report.updated
    assert _chroma_state(settings, embedder) == before


def test_changed_file_replaces_its_chunks_and_removed_file_is_pruned(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = _small_corpus(tmp_path / "corpus")
    settings = make_settings(corpus_dir=corpus)
    ingest(settings=settings, progress=False, embedder=embedder)
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    news = corpus / SMALL[0]
    old_ids = next(r.chunk_ids for r in manifest.documents.values() if r.source == str(news))

    news.write_text(
        news.read_text(encoding="utf-8") + "\nDe Rli adviseert het kabinet.\n", encoding="utf-8"
    )
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.updated == (str(news),) and len(report.unchanged) == 1
    state = _chroma_state(settings, embedder)
    new_ids = next(
        r.chunk_ids
        for r in Manifest.load(settings.index_dir / "manifest.json").documents.values()
        if r.source == str(news)
    )
    replaced = set(old_ids) - set(new_ids)
    assert replaced and not replaced & set(state)  # the changed chunk is gone, not duplicated
    assert any("De Rli adviseert het kabinet." in text for text, _s, _e in state.values())
    assert sorted(state) == Manifest.load(settings.index_dir / "manifest.json").chunk_ids()

    # Ingesting a single file does not prune the others ...
    news.unlink()
    report = ingest([corpus / SMALL[1]], settings=settings, progress=False, embedder=embedder)
    assert not report.removed
    # ... ingesting the corpus folder does.
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.removed == (str(news.resolve()),)
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    assert len(manifest.documents) == 1
    assert sorted(_chroma_state(settings, embedder)) == manifest.chunk_ids()
    assert len(list((settings.index_dir / "documents").glob("*.json"))) == 1


def test_bad_files_are_reported_and_nothing_else_is_lost(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = _small_corpus(tmp_path / "corpus", SMALL[:1])
    settings = make_settings(corpus_dir=corpus)
    ingest(settings=settings, progress=False, embedder=embedder)
    before = _chroma_state(settings, embedder)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "leeg.txt").write_bytes(b"")
    write_binary(inbox / "junk.txt")
    good_pdf = write_pdf(tmp_path / "ok.pdf", [["Tekst over de Omgevingswet."] * 20] * 3)
    (inbox / "afgebroken.pdf").write_bytes(good_pdf.read_bytes()[:400])
    (inbox / "tabel.xlsx").write_bytes(b"PK\x03\x04junk")
    (inbox / "oud cp1252 ë.txt").write_bytes(
        "Het café-overleg over financiële ruimte leverde ideeën op.\n".encode("cp1252") * 5
    )

    result = _run_cli(settings, str(inbox))
    assert result.returncode == 1, result.stdout + result.stderr
    for name in ("leeg.txt", "junk.txt", "afgebroken.pdf", "tabel.xlsx"):
        assert f"FAILED {inbox / name}" in result.stdout
    assert "1 added" in result.stdout and "4 failed" in result.stdout

    state = _chroma_state(settings, embedder)
    assert set(before) <= set(state)  # the existing document is untouched
    assert {k: state[k] for k in before} == before
    assert any("financiële ruimte leverde ideeën" in text for text, _s, _e in state.values())


def test_other_settings_stop_with_a_rebuild_hint(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = _small_corpus(tmp_path / "corpus", SMALL[:1])
    ingest(settings=make_settings(corpus_dir=corpus), progress=False, embedder=embedder)
    other = make_settings(corpus_dir=corpus, chunk_size=200, chunk_overlap=20)
    with pytest.raises(IndexMismatchError, match=r"chunk_size.*--rebuild") as err:
        ingest(settings=other, progress=False, embedder=embedder)
    assert "300" in str(err.value) and "200" in str(err.value)

    result = _run_cli(other)
    assert result.returncode == 2 and "python -m ingest --rebuild" in result.stderr
    assert "Traceback" not in result.stderr

    result = _run_cli(other, "--rebuild")
    assert result.returncode == 0, result.stderr
    manifest = Manifest.load(other.index_dir / "manifest.json")
    assert manifest.config is not None and manifest.config.chunk_size == 200


def test_stale_or_damaged_bm25_is_rebuilt(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    settings = make_settings(corpus_dir=_small_corpus(tmp_path / "corpus", SMALL[:1]))
    ingest(settings=settings, progress=False, embedder=embedder)
    bm25_dir = settings.index_dir / "bm25"
    fingerprint = stored_fingerprint(bm25_dir)
    segment = only_segment(bm25_dir)
    (bm25_dir / "state.json").write_text("{half", encoding="utf-8")
    (segment / "vocab.index.json").write_text("", encoding="utf-8")
    ingest(settings=settings, progress=False, embedder=embedder)
    assert stored_fingerprint(bm25_dir) == fingerprint
    assert load_bm25(bm25_dir).retrieve("kabinetsreactie")


def test_bm25_file_cut_off_with_its_fingerprint_intact_is_rebuilt_by_ingest(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(corpus_dir=_small_corpus(tmp_path / "corpus", SMALL[:1]))
    ingest(settings=settings, progress=False, embedder=embedder)
    path = only_segment(settings.index_dir / "bm25") / "corpus.jsonl"
    intact = path.read_bytes()
    path.write_bytes(intact[: len(intact) // 3])
    with caplog.at_level("WARNING"):
        report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok and not report.added
    assert "damaged" in " ".join(r.getMessage() for r in caplog.records)
    assert (only_segment(settings.index_dir / "bm25") / "corpus.jsonl").read_bytes() == intact


def test_a_second_ingest_on_the_same_index_is_refused(
    make_settings: Callable[..., Settings], embedder: Any
) -> None:
    settings = make_settings()
    settings.index_dir.mkdir(parents=True)
    with open(settings.index_dir / "ingest.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(AssistantError, match="Another ingestion"):
            ingest(settings=settings, progress=False, embedder=embedder)


def test_killed_ingest_then_rerun_equals_a_clean_run(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    names = [*SMALL, "2025-07-01-kabinetsreactie-rob-advies-naar-een-uitvoerende-macht.txt"]
    corpus = _small_corpus(tmp_path / "corpus", names)
    clean = make_settings(corpus_dir=corpus, data_dir=tmp_path / "clean")
    ingest(settings=clean, progress=False, embedder=embedder)
    expected = _chroma_state(clean, embedder)

    killed = make_settings(corpus_dir=corpus, data_dir=tmp_path / "killed")
    kills = 0
    for delay in (2.5, 4.0, 5.5, 7.0, 8.5):  # seconds into a run: inside embedding and writing
        process = ingest_process(killed)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 3, "ingest finished before it could be killed; the test proves nothing"

    report = ingest(settings=killed, progress=False, embedder=embedder)
    assert report.ok
    manifest = Manifest.load(killed.index_dir / "manifest.json")
    state = _chroma_state(killed, embedder)
    assert state == expected
    assert sorted(state) == manifest.chunk_ids()
    assert stored_fingerprint(killed.index_dir / "bm25") == manifest.fingerprint()
    texts = sorted(p.name for p in (killed.index_dir / "documents").iterdir())
    assert texts == sorted(f"{doc_id}.json" for doc_id in manifest.documents)
    assert json.loads((killed.index_dir / "manifest.json").read_text())["documents"]


def test_embedder_is_built_from_settings(make_settings: Callable[..., Settings]) -> None:
    embedder = build_embedder(make_settings())
    assert len(embedder.get_query_embedding("Wat is de Actieagenda Sterk Bestuur?")) == 384


def test_manifest_commits_each_document_as_a_journal_line(tmp_path: Path) -> None:
    """A commit appends one line, not the whole manifest (quadratic for a large corpus); a line cut
    off by a crash or a full disk is no commit and is cut away before the next one."""
    from dataclasses import replace

    from assistant.index.manifest import DocumentRecord, IndexConfig, journal_path

    path = tmp_path / "manifest.json"
    manifest = Manifest.load(path)
    manifest.config = IndexConfig("embedded", "multilingual-e5-small", 384, 300, 50, "1")
    manifest.save()
    snapshot = path.read_bytes()

    def record(number: int) -> DocumentRecord:
        return DocumentRecord(
            document_id=f"doc-{number}",
            source=f"doc-{number}.txt",
            title=f"Document {number}",
            format="txt",
            content_key=f"key-{number}",
            chunk_ids=tuple(f"doc-{number}:{i:05d}" for i in range(20)),
            pages=None,
            size_bytes=1000,
            ingested_at="2026-11-26T12:00:00+00:00",
        )

    for number in range(3):
        manifest.documents[f"doc-{number}"] = record(number)
        manifest.save()
    journal = journal_path(path)
    assert path.read_bytes() == snapshot  # the snapshot was not rewritten
    assert len(journal.read_text(encoding="utf-8").splitlines()) == 3
    assert sorted(Manifest.load(path).documents) == ["doc-0", "doc-1", "doc-2"]

    with journal.open("ab") as handle:  # what a crash halfway through a line leaves
        handle.write(b'{"put": {"document_id": "doc-9", "sou')
    again = Manifest.load(path)
    assert sorted(again.documents) == ["doc-0", "doc-1", "doc-2"]
    again.documents["doc-3"] = record(3)
    again.documents["doc-1"] = replace(record(1), content_key="changed")
    del again.documents["doc-0"]
    again.save()
    reread = Manifest.load(path)
    assert sorted(reread.documents) == ["doc-1", "doc-2", "doc-3"]
    assert reread.documents["doc-1"].content_key == "changed"
    assert b"doc-9" not in journal.read_bytes()

    reread.compact()
    assert not journal.exists()
    assert sorted(Manifest.load(path).documents) == ["doc-1", "doc-2", "doc-3"]


def test_index_files_are_readable_by_other_users(corpus_index: tuple[Settings, Any]) -> None:
    """App instances that run as another user read a shared index: nothing in it is private."""
    index = corpus_index[0].index_dir
    for path in [index / "manifest.json", *(index / "documents").iterdir(), *index.rglob("*.json")]:
        assert path.stat().st_mode & 0o044 == 0o044, path
