"""The disk under the data folder, with real mounts: a read-only folder (a bind mount; root
ignores file permissions, a read-only mount stops even root) and a full disk (a small tmpfs).
Real Chroma, real files, the real embedder.

Mounting needs root with CAP_SYS_ADMIN (as in CI); without it these tests skip and say so.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.core.errors import BackendError, ConfigurationError
from assistant.core.settings import Settings, load_settings
from assistant.index.bm25 import load_bm25, stored_fingerprint
from assistant.index.manifest import Manifest
from assistant.index.store import ChunkStore
from ingest import ingest as run_ingest
from ingest.uploads import store_upload
from tests.conftest import CORPUS, REPO

pytestmark = pytest.mark.slow

SMALL = [
    "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt",
    "2024-03-25-kabinetsreactie-rli-advies-de-uitvoering-aan-zet.md",
]
#: 51 chunks, about 1.2 MiB in embedded Chroma: the document that does not fit.
LARGE = "2025-07-01-kabinetsreactie-rob-advies-naar-een-uitvoerende-macht.txt"
QUESTION = "Hoe reageert het kabinet op het advies over de uitvoering?"
MiB = 2**20


# --- mounts --------------------------------------------------------------------------------------
def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _unmount(path: Path) -> None:
    # Lazy: Chroma may still hold a file open there; the mount must go regardless.
    subprocess.run(["umount", "--lazy", str(path)], check=False, capture_output=True)


@contextmanager
def _tmpfs(path: Path, size: int) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _unmount(path)


def _resize(path: Path, size: int) -> None:
    _mount("-o", f"remount,size={size}", str(path))


def _used(path: Path) -> int:
    stats = os.statvfs(path)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


@contextmanager
def _read_only(path: Path) -> Iterator[Path]:
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield path
    finally:
        _unmount(path)


@pytest.fixture(scope="module")
def can_mount(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip (saying why) where this process may not mount file systems."""
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("these tests mount file systems, which needs Linux and `mount`")
    probe = tmp_path_factory.mktemp("mount-probe")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(
            "mounting is not permitted here (root with CAP_SYS_ADMIN is needed): "
            + result.stderr.strip()
        )
    _unmount(probe)


# --- helpers -------------------------------------------------------------------------------------
def _corpus(folder: Path, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def _files(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: relative path -> (sha256, mtime in ns)."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _chroma_state(settings: Settings, embedder: Any) -> dict[str, tuple[str, int, int]]:
    """Every chunk in Chroma (read through a new client): id -> (text, start, end)."""
    return {
        node.node_id: (node.get_content(), node.metadata["start"], node.metadata["end"])
        for node in ChunkStore(settings, embedder).nodes()
    }


def _index_state(settings: Settings, embedder: Any) -> dict[str, Any]:
    """What a clean build is compared on: Chroma, manifest, BM25 and the text files."""
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    return {
        "chroma": _chroma_state(settings, embedder),
        "manifest": manifest.chunk_ids(),
        "bm25 current": stored_fingerprint(settings.index_dir / "bm25") == manifest.fingerprint(),
        "texts": sorted(p.name for p in (settings.index_dir / "documents").iterdir()),
    }


def _retrieved(assistant: Any) -> set[str]:
    passages = assistant.retrieve(QUESTION)
    assert passages
    return {p.chunk_id for p in passages}


# --- a read-only folder ---------------------------------------------------------------------------
def test_ingest_into_a_read_only_index_stops_with_a_hint_and_changes_nothing(
    can_mount: None, tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = _corpus(tmp_path / "corpus", SMALL[:1])
    settings = make_settings(corpus_dir=corpus)
    run_ingest(settings=settings, progress=False, embedder=embedder)
    shutil.copy(CORPUS / SMALL[1], corpus / SMALL[1])  # so that the run has something to write
    before = _files(settings.index_dir)
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(corpus),
    }
    with _read_only(settings.index_dir):
        with pytest.raises(ConfigurationError) as caught:
            run_ingest(settings=settings, progress=False, embedder=embedder)
        cli = subprocess.run(
            [sys.executable, "-m", "ingest", "--quiet"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    error = caught.value
    assert f"Cannot write to {settings.index_dir}: the folder is read-only" in error.message
    assert error.hint and "ASSISTANT_DATA_DIR" in error.hint
    assert cli.returncode == 2 and "read-only" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
    assert _files(settings.index_dir) == before


def test_an_index_in_a_read_only_folder_can_be_searched(
    can_mount: None,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(corpus_dir=_corpus(tmp_path / "corpus", SMALL))
    run_ingest(settings=settings, progress=False, embedder=embedder)
    chunk_ids = set(Manifest.load(settings.index_dir / "manifest.json").chunk_ids())
    # Without its BM25 files the assistant rebuilds BM25 from Chroma; here it cannot save it and
    # has to answer from the one in memory.
    shutil.rmtree(settings.index_dir / "bm25")
    before = _files(settings.data_dir)
    with _read_only(settings.data_dir):
        assistant = build_assistant(settings, embedder=embedder)
        assert _retrieved(assistant) <= chunk_ids
        assert _files(settings.data_dir) == before
        copies = [
            Path(m.group(1))
            for m in (
                re.search(r"private copy .* in (\S+)$", r.getMessage()) for r in caplog.records
            )
            if m
        ]
        assert len(copies) == 1 and copies[0].is_dir()
        del assistant
        gc.collect()
        assert not copies[0].exists()  # the private copy goes with the assistant


def test_an_upload_into_a_read_only_data_dir_is_refused_with_a_message(
    can_mount: None, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True)
    with _read_only(settings.data_dir), pytest.raises(ValueError) as caught:
        store_upload(CORPUS / SMALL[0], "nieuwsbericht.txt", settings)
    message = str(caught.value)
    assert f"cannot be saved in {settings.data_dir / 'uploads'}" in message
    assert "read-only" in message and "ASSISTANT_DATA_DIR" in message
    assert not (settings.data_dir / "uploads").exists()


def test_an_upload_that_does_not_fit_leaves_nothing_behind(
    can_mount: None, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    upload = tmp_path / "groot.txt"
    upload.write_text("Een zin over de uitvoering. " * 8000, encoding="utf-8")  # 220 KiB
    settings = make_settings(data_dir=tmp_path / "volume")
    with _tmpfs(settings.data_dir, 64 * 1024):
        with pytest.raises(ValueError, match="the disk is full") as caught:
            store_upload(upload, "groot.txt", settings)
        assert "Free up disk space" in str(caught.value)
        assert list((settings.data_dir / "uploads").iterdir()) == []  # no cut-off .part file


# --- a full disk ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_build(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, model_cache: Path
) -> dict[str, Any]:
    """The index of the small corpus plus the large document, built in one go on a roomy disk."""
    root = tmp_path_factory.mktemp("clean-build")
    settings = load_settings(
        data_dir=root / "data",
        corpus_dir=_corpus(root / "corpus", [*SMALL, LARGE]),
        model_cache_dir=model_cache,
    )
    run_ingest(settings=settings, progress=False, embedder=embedder)
    return _index_state(settings, embedder)


@contextmanager
def _full_documents_folder(folder: Path) -> Iterator[Path]:
    """``folder`` on its own tmpfs that holds its present files and little more."""
    present = {path.name: path.read_bytes() for path in folder.iterdir()}
    with _tmpfs(folder, 64 * 1024):
        for name, data in present.items():
            (folder / name).write_bytes(data)
        _resize(folder, _used(folder) + 8 * 1024)
        yield folder


#: Where the disk runs full while the large document is ingested (see _squeezed).
FULL_DISK_CASES = ["before-writing", "inside-chroma", "chroma-compaction", "document-text"]


@pytest.mark.parametrize("where", FULL_DISK_CASES)
def test_a_full_disk_stops_ingest_and_keeps_the_index(
    where: str,
    can_mount: None,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Any,
    clean_build: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corpus = _corpus(tmp_path / "corpus", SMALL)
    volume = tmp_path / "volume"
    with _tmpfs(volume, 16 * MiB):
        settings = make_settings(corpus_dir=corpus, data_dir=volume / "data")
        run_ingest(settings=settings, progress=False, embedder=embedder)
        index = settings.index_dir
        early = build_assistant(settings, embedder=embedder)  # like the UI's, built beforehand
        answered_before = _retrieved(early)
        manifest_bytes = (index / "manifest.json").read_bytes()
        chunks_before = _chroma_state(settings, embedder)
        shutil.copy(CORPUS / LARGE, corpus / LARGE)

        with _squeezed(where, volume, index, monkeypatch) as full:
            with pytest.raises(BackendError) as caught:
                run_ingest(settings=settings, progress=False, embedder=embedder)
            error = caught.value
            assert error.message.startswith("No space left on the disk that holds")
            assert error.hint and "Free disk space" in error.hint
            assert "ASSISTANT_DATA_DIR" in error.hint
            assert (index / "manifest.json").read_bytes() == manifest_bytes
            leftovers = [p.name for p in index.rglob("*") if p.name.endswith((".tmp", ".new"))]
            assert leftovers == []

            if where == "chroma-compaction":
                # Chroma 1.5 has stored the chunks in its write log but could not apply them;
                # every search tries again and fails until there is room. It must say so, not
                # hang (a known limit; the room check above is what keeps this case away).
                fresh = build_assistant(settings, embedder=embedder)
                with pytest.raises(BackendError, match=r"^No space left on the disk"):
                    fresh.retrieve(QUESTION)
            else:
                # The index is as it was, and it answers: through a new assistant and through
                # the one built before the failure.
                assert _chroma_state(settings, embedder) == chunks_before
                manifest = Manifest.load(index / "manifest.json")
                assert stored_fingerprint(index / "bm25") == manifest.fingerprint()
                assert load_bm25(index / "bm25").retrieve("kabinetsreactie")
                fresh = build_assistant(settings, embedder=embedder)
                assert _retrieved(fresh) <= set(chunks_before)
                assert _retrieved(early) == answered_before

            # With room again, the next run completes the index as a clean build would.
            _resize(full, 64 * MiB)
            report = run_ingest(settings=settings, progress=False, embedder=embedder)
            assert report.ok and report.added == (str(corpus / LARGE),)
            assert _index_state(settings, embedder) == clean_build
            assert _retrieved(early)


@contextmanager
def _squeezed(
    where: str, volume: Path, index: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Leave too little room for the large document (about 1.2 MiB in Chroma); yields the mount
    to grow afterwards.

    before-writing: the room check refuses the document before anything is written.
    inside-chroma: SQLite's insert fails and rolls back.
    chroma-compaction: Chroma's write log fits, applying it does not.
    document-text: Chroma takes the chunks, the text file does not fit.

    The two Chroma cases switch the room check off, as when another program fills the disk
    after the check.
    """
    if where == "document-text":
        with _full_documents_folder(index / "documents") as folder:
            yield folder
        return
    if where != "before-writing":
        monkeypatch.setattr("ingest.pipeline.ensure_space", lambda *args, **kwargs: None)
    slack = 64 * 1024 if where == "inside-chroma" else 768 * 1024
    _resize(volume, _used(volume) + slack)
    yield volume
