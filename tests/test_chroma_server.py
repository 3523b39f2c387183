"""Ingestion and retrieval against a real Chroma server (``chroma run``) over HTTP."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest import ingest
from ingest.embed import embed_query
from ingest.manifest import Manifest
from ingest.store import ChunkStore
from tests.conftest import CORPUS
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.slow


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    executable = shutil.which("chroma") or str(Path(__file__).parents[1] / ".venv/bin/chroma")
    port = free_port()
    process = subprocess.Popen(
        [
            executable,
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/v2/heartbeat", process)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_ingest_and_query_through_a_chroma_server(
    chroma_server: tuple[str, int], tmp_path: Path, make_settings: Any, embedder: Any
) -> None:
    host, port = chroma_server
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt"
    shutil.copy(CORPUS / name, corpus / name)
    settings = make_settings(corpus_dir=corpus, chroma_host=host, chroma_port=port)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok and report.chunks_total >= 2
    assert not (settings.index_dir / "chroma").exists()  # nothing embedded on local disk
    store = ChunkStore(settings, embedder)
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    assert sorted(n.node_id for n in store.nodes()) == manifest.chunk_ids()
    hits = store.collection.query(
        query_embeddings=[embed_query(embedder, "Hoe reageert het kabinet op het advies?")],
        n_results=1,
    )
    assert hits["ids"][0][0] in manifest.chunk_ids()
    again = ingest(settings=settings, progress=False, embedder=embedder)
    assert again.chunks_written == 0 and len(again.unchanged) == 1
