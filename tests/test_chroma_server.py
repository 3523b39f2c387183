"""Ingestion and retrieval against a real Chroma server (``chroma run``) over HTTP."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.core.errors import BackendError
from assistant.index.embed import embed_query
from assistant.index.manifest import Manifest
from assistant.index.store import ChunkStore
from ingest import ingest
from tests.conftest import CORPUS, REPO
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.slow


class ChromaServer:
    """A real ``chroma run`` on loopback that can be stopped and started again on the same port
    with the same data folder (a restart, as after an update or a crash)."""

    host = "127.0.0.1"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        executable = shutil.which("chroma") or str(REPO / ".venv/bin/chroma")
        self._process = subprocess.Popen(
            [
                executable,
                "run",
                "--path",
                str(self.path),
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"http://{self.host}:{self.port}/api/v2/heartbeat", self._process)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)
            self._process = None


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _server_settings(server: ChromaServer, tmp_path: Path, make_settings: Any) -> Any:
    """Settings for one small document indexed in ``server``."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    name = "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt"
    shutil.copy(CORPUS / name, folder / name)
    return make_settings(corpus_dir=folder, chroma_host=server.host, chroma_port=server.port)


def test_ingest_and_query_through_a_chroma_server(
    chroma_server: ChromaServer, tmp_path: Path, make_settings: Any, embedder: Any
) -> None:
    settings = _server_settings(chroma_server, tmp_path, make_settings)
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


def test_a_stopped_chroma_server_is_reported_and_a_restart_needs_no_rebuild(
    chroma_server: ChromaServer, tmp_path: Path, make_settings: Any, embedder: Any
) -> None:
    settings = _server_settings(chroma_server, tmp_path, make_settings)
    ingest(settings=settings, progress=False, embedder=embedder)
    assistant = build_assistant(settings, embedder=embedder)
    question = "Hoe reageert het kabinet op het advies?"
    answered = [p.chunk_id for p in assistant.retrieve(question)]
    assert answered

    chroma_server.stop()
    address = f"{chroma_server.host}:{chroma_server.port}"
    with pytest.raises(BackendError) as caught:
        assistant.retrieve(question)
    error = caught.value
    assert error.message.startswith(f"The Chroma server at {address} cannot be reached")
    assert error.hint and f"chroma run --path <folder> --host {chroma_server.host}" in error.hint
    assert "ASSISTANT_CHROMA_HOST" in error.hint
    with pytest.raises(BackendError, match=f"Chroma server at {address} cannot be reached"):
        ingest(settings=settings, progress=False, embedder=embedder)

    chroma_server.start()  # same port, same data folder
    assert [p.chunk_id for p in assistant.retrieve(question)] == answered  # the same assistant


def test_answers_with_verified_quotes_through_a_chroma_server_across_a_restart(
    chroma_server: ChromaServer, tmp_path: Path, make_settings: Any, embedder: Any, assistant: Any
) -> None:
    """The whole path through the server: ingest, a question answered with quotes, the server
    restarted, the next question answered by the same assistant."""
    from assistant.index.manifest import read_document_text
    from assistant.types import Answer
    from tests.conftest import SMALL_MODEL

    settings = _server_settings(chroma_server, tmp_path, make_settings)
    settings = settings.model_copy(update=SMALL_MODEL)
    ingest(settings=settings, progress=False, embedder=embedder)
    served = build_assistant(settings, embedder=embedder, backend=assistant.backend)

    def answered(question: str) -> Answer:
        result = served.answer(question)
        assert result.passages, question  # found through the server
        for quote in result.quotes:
            stored = read_document_text(settings.index_dir / "documents", quote.document)
            assert stored.text.text[quote.start : quote.end] == quote.text
        return result

    first = answered("Hoe reageert het kabinet op het advies van de Rli?")
    chroma_server.stop()
    chroma_server.start()
    second = answered("Wat vraagt de Rli van het kabinet voor de uitvoering?")
    assert first.passages and second.passages
    assert not (settings.index_dir / "chroma").exists()
