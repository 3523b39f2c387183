"""Our Ollama backends (LLM and embeddings) over the real Ollama HTTP protocol.

No Ollama server can be installed here, so the Ollama API is served by ``ollama-proxy-plus`` (a
real implementation of Ollama's HTTP API, used with the official ``ollama`` client) in front of
llama.cpp servers running the real 0.5B model: one for chat, one in embedding mode. Everything
listens on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.core.errors import BackendError
from assistant.core.settings import Settings, load_settings
from assistant.index.manifest import Manifest, read_document_text
from assistant.index.store import ChunkStore
from assistant.llm.backends import build_backend
from assistant.llm.llama_server import LlamaServer
from assistant.llm.model_files import PACKAGED_MODELS, assemble
from assistant.types import Answer
from ingest import ingest
from tests.conftest import CORPUS
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.slow

CHAT_MODEL = "local/qwen2.5-coder-0.5b"
EMBED_MODEL = "emb/qwen-embed"
SMALL = {"llm_embedded_model": "qwen2.5-coder-0.5b"}
#: A question the 0.5B model answers (so there is streamed text to interrupt).
STREAMED = "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?"


@pytest.fixture(scope="module")
def llama_servers(model_cache: Path) -> Iterator[tuple[LlamaServer, LlamaServer]]:
    """llama.cpp with the real 0.5B model: one server for chat, one in embedding mode."""
    gguf = assemble(PACKAGED_MODELS["qwen2.5-coder-0.5b"], model_cache)
    chat = LlamaServer(gguf, context_window=4096, parallel=1, threads=2, alias="qwen")
    embed = LlamaServer(
        gguf, context_window=2048, parallel=1, threads=2, alias="qwen-embed", embedding=True
    )
    try:
        yield chat, embed
    finally:
        chat.stop()
        embed.stop()


def _start_ollama(
    servers: tuple[LlamaServer, LlamaServer], folder: Path, address: str = "127.0.0.1"
) -> tuple[subprocess.Popen[bytes], str]:
    """ollama-proxy-plus serving Ollama's API in front of the llama.cpp servers, on ``address``."""
    chat, embed = servers
    port = free_port()
    env = {
        **os.environ,
        "PROVIDERS_LOCAL_BASE_URL": chat.base_url,
        "PROVIDERS_LOCAL_API_KEY": "EMPTY",
        "PROVIDERS_EMB_BASE_URL": embed.base_url,
        "PROVIDERS_EMB_API_KEY": "EMPTY",
        "EXTRA_MODELS": f"{CHAT_MODEL},{EMBED_MODEL}",
    }
    proxy = subprocess.Popen(
        [sys.executable, "-m", "ollama_proxy", "serve", "--host", address, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,  # it reads ./.env and ./ollama-proxy.yaml
    )
    host = f"http://{address}:{port}"
    try:
        wait_until_up(f"{host}/api/tags", proxy)
    except RuntimeError:
        proxy.kill()
        raise
    return proxy, host


@pytest.fixture(scope="module")
def ollama_host(
    tmp_path_factory: pytest.TempPathFactory, llama_servers: tuple[LlamaServer, LlamaServer]
) -> Iterator[str]:
    proxy, host = _start_ollama(llama_servers, tmp_path_factory.mktemp("proxy"))
    try:
        yield host
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)


def test_auto_mode_picks_ollama_when_it_has_the_model(ollama_host: str) -> None:
    settings = load_settings(llm_backend="auto", ollama_host=ollama_host, llm_model=CHAT_MODEL)
    backend = build_backend(settings)
    assert backend.name == "ollama" and backend.model == CHAT_MODEL
    assert ollama_host in backend.note


def test_answer_streams_through_ollama_with_the_json_schema(
    ollama_host: str, corpus_index: tuple[Settings, Any], embedder: Any
) -> None:
    settings = load_settings(
        data_dir=corpus_index[0].data_dir,
        corpus_dir=CORPUS,
        llm_backend="ollama",
        ollama_host=ollama_host,
        llm_model=CHAT_MODEL,
        llm_temperature=0.0,
        top_k=3,
    )
    assistant = build_assistant(settings, embedder=embedder)
    items = list(
        assistant.stream_answer(
            "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?"
        )
    )
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert answer.backend == "ollama" and answer.model == CHAT_MODEL
    assert answer.prompt_tokens > 100  # counts reported by the Ollama protocol
    assert not any("geen geldige JSON" in note for note in answer.notes)
    if not answer.refused:
        assert "".join(i for i in items[:-1] if isinstance(i, str)).strip() == answer.text
    for quote in answer.quotes:
        stored = read_document_text(settings.index_dir / "documents", quote.document)
        assert stored.text.text[quote.start : quote.end] == quote.text


def test_unreachable_ollama_falls_back_in_auto_mode_and_fails_clearly_otherwise(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    retrying = {"ollama_retries": 2, "ollama_retry_backoff_s": 0.1}
    with caplog.at_level("WARNING"), pytest.raises(BackendError, match="unreachable") as err:
        build_backend(make_settings(llm_backend="ollama", ollama_host=closed, **retrying))
    assert "3 tries" in err.value.message
    assert err.value.hint and "ollama serve" in err.value.hint
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "try 2 of 3" in logged and "try 3 of 3" in logged and "try 4" not in logged

    from assistant.index.embed import build_embedder, embed_query

    embedder = build_embedder(
        make_settings(embedding_backend="ollama", ollama_host=closed, **retrying)
    )
    with pytest.raises(BackendError, match=r"unreachable or not answering .*3 tries"):
        embed_query(embedder, "Wat vindt het kabinet?")

    caplog.clear()
    with caplog.at_level("WARNING"):
        backend = build_backend(make_settings(llm_backend="auto", ollama_host=closed, **SMALL))
    assert backend.name == "embedded"
    assert "unreachable" in backend.note and "embedded" in backend.note
    assert not any("try 2" in r.getMessage() for r in caplog.records)  # auto does not wait


def _network_address() -> str:
    """An IPv4 address of this machine that is not loopback: "another machine" for a client."""
    import ipaddress
    import socket

    import psutil

    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if (
                address.family == socket.AF_INET
                and not ipaddress.ip_address(address.address).is_loopback
            ):
                return str(address.address)
    pytest.skip("this machine has no network interface besides loopback")


def _hang(process: subprocess.Popen[bytes], seconds: float) -> threading.Thread:
    """Freeze the process (SIGSTOP: it accepts connections, it answers nothing, as a swapping or
    overloaded server does) and let it go on after ``seconds``."""
    import time

    process.send_signal(signal.SIGSTOP)

    def resume() -> None:
        time.sleep(seconds)
        process.send_signal(signal.SIGCONT)

    thread = threading.Thread(target=resume, daemon=True)
    thread.start()
    return thread


def test_a_remote_ollama_that_hangs_is_retried_until_it_answers(
    llama_servers: tuple[LlamaServer, LlamaServer],
    tmp_path: Path,
    make_settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ollama on another address than localhost (OLLAMA_HOST), frozen for a few seconds: the
    chat call and the embedding call each time out, back off, retry and then get their answer."""
    from llama_index.core.llms import ChatMessage

    from assistant.index.embed import build_embedder, embed_query

    proxy, host = _start_ollama(llama_servers, tmp_path, address=_network_address())
    assert "127.0.0.1" not in host and "localhost" not in host
    settings = make_settings(
        llm_backend="ollama",
        ollama_host=host,
        llm_model=CHAT_MODEL,
        embedding_backend="ollama",
        embedding_model=EMBED_MODEL,
        ollama_timeout_s=2.0,
        ollama_retries=6,
        ollama_retry_backoff_s=0.5,
        llm_max_tokens=32,
    )
    try:
        backend = build_backend(settings)
        embedder = build_embedder(settings)
        schema = {
            "type": "object",
            "properties": {"groet": {"type": "string"}},
            "required": ["groet"],
        }
        with caplog.at_level("WARNING"):
            resumed = _hang(proxy, 5)
            chunks = list(
                backend.stream_json([ChatMessage(role="user", content="Zeg goedendag.")], schema)
            )
            resumed.join()
            assert chunks and chunks[-1].text.strip().startswith("{")
            retried = [r.getMessage() for r in caplog.records if "Ollama chat" in r.getMessage()]
            assert retried and all("ReadTimeout" in m for m in retried), retried

            resumed = _hang(proxy, 5)
            vector = embed_query(embedder, "Wat vindt het kabinet van het advies?")
            resumed.join()
            assert len(vector) == 896
            assert any("Ollama embeddings" in r.getMessage() for r in caplog.records)
    finally:
        proxy.send_signal(signal.SIGCONT)
        proxy.terminate()
        proxy.wait(timeout=15)


def test_ingest_and_retrieve_with_ollama_embeddings(
    ollama_host: str, tmp_path: Path, make_settings: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt"
    (corpus / name).write_bytes((CORPUS / name).read_bytes())
    settings = make_settings(
        corpus_dir=corpus,
        embedding_backend="ollama",
        embedding_model=EMBED_MODEL,
        ollama_host=ollama_host,
    )
    report = ingest(settings=settings, progress=False)
    assert report.ok and report.chunks_total >= 2
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    assert manifest.config is not None
    assert manifest.config.embedding_backend == "ollama"
    assert manifest.config.embedding_model == EMBED_MODEL
    assert manifest.config.embedding_dim == 896  # the model's real width, not e5's 384
    from assistant.index.embed import build_embedder, embed_query

    embedder = build_embedder(settings)
    store = ChunkStore(settings, embedder)
    hits = store.collection.query(
        query_embeddings=[embed_query(embedder, "Wat vindt het kabinet van het advies?")],
        n_results=2,
    )
    assert len(hits["ids"][0]) == 2


class _OllamaWithoutTheModel(BaseHTTPRequestHandler):
    """A FAKE Ollama, named as such: the proxy above cannot produce Ollama's "model not found"
    (its /api/show accepts any name), so this answers /api/show exactly as Ollama does for a
    model that was never pulled."""

    def do_POST(self) -> None:
        body = b'{"error":"model \'qwen2.5:7b-instruct\' not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_model_not_pulled_names_the_fix(make_settings: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OllamaWithoutTheModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(BackendError, match="does not have the model") as err:
            build_backend(make_settings(llm_backend="ollama", ollama_host=host))
        assert err.value.hint == "Run `ollama pull qwen2.5:7b-instruct`."
        backend = build_backend(make_settings(llm_backend="auto", ollama_host=host, **SMALL))
        assert backend.name == "embedded" and "does not have the model" in backend.note
    finally:
        server.shutdown()


def test_eval_judge_scores_an_answer_over_ollama(ollama_host: str) -> None:
    from evals.judge import Judge

    judge = Judge(load_settings(ollama_host=ollama_host), CHAT_MODEL)
    verdict = judge(
        "Hoeveel regionale samenwerkingsverbanden zijn er?",
        "Er zijn meer dan 1200 formele en informele regionale samenwerkingsverbanden.",
        "Meer dan 1200 formele en informele regionale samenwerkingsverbanden.",
    )
    # The 0.5B model is no reliable judge; what must hold is the protocol and the recording.
    assert set(verdict) == {"judge_score", "judge_passing", "judge_feedback"}
    score = verdict["judge_score"]
    assert score is None or 1.0 <= score <= 5.0, verdict
    assert verdict["judge_feedback"]


def test_auto_mode_falls_back_to_embedded_when_ollama_dies_mid_answer(
    llama_servers: tuple[LlamaServer, LlamaServer],
    corpus_index: tuple[Settings, Any],
    embedder: Any,
    tmp_path: Path,
) -> None:
    """Ollama killed while an answer streams: a clear error for that answer; the next question is
    answered by the embedded model, without restarting anything."""
    proxy, host = _start_ollama(llama_servers, tmp_path)
    settings = load_settings(
        data_dir=corpus_index[0].data_dir,
        corpus_dir=CORPUS,
        model_cache_dir=corpus_index[0].model_cache_dir,
        llm_backend="auto",
        ollama_host=host,
        llm_model=CHAT_MODEL,
        llm_temperature=0.0,
        top_k=3,
        **SMALL,
    )
    assistant = build_assistant(settings, embedder=embedder)
    try:
        assert assistant.backend.name == "ollama"
        stream = assistant.stream_answer(STREAMED)
        assert isinstance(next(stream), str)  # the answer is streaming through Ollama
        proxy.kill()
        proxy.wait(timeout=15)
        with pytest.raises(BackendError) as err:
            list(stream)
        assert "Ollama" in err.value.message and host in err.value.message
        assert err.value.hint and "embedded model is used" in err.value.hint

        answer = assistant.answer(STREAMED)
        assert answer.backend == "embedded" and answer.model == "qwen2.5-coder-0.5b"
        assert "Switched to the embedded model" in assistant.backend.note
        assert answer.refused or answer.quotes
        for quote in answer.quotes:
            stored = read_document_text(settings.index_dir / "documents", quote.document)
            assert stored.text.text[quote.start : quote.end] == quote.text
    finally:
        proxy.kill()
        if assistant.backend.server is not None:
            assistant.backend.server.stop()
