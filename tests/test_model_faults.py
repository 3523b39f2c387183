"""Faults of the embedded model server, with real kills of real processes: the server SIGKILLed
in the middle of an answer (a clear error; the next question restarts it and is answered), and the
app or its parent killed or stopped (the server must not outlive them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from assistant.components import build_assistant
from assistant.core.errors import BackendError
from assistant.core.settings import Settings
from assistant.index.manifest import read_document_text
from tests.conftest import CORPUS, REPO
from tests.servers import app_env, free_port, wait_until_up

pytestmark = pytest.mark.slow

STREAMED = "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?"


def test_model_server_killed_mid_answer_then_the_next_question_works(
    small_settings: Settings, embedder: Any
) -> None:
    assistant = build_assistant(small_settings, embedder=embedder)  # its own server to kill
    server = assistant.backend.server
    try:
        stream = assistant.stream_answer(STREAMED)
        assert isinstance(next(stream), str)  # text is streaming: the server is mid-answer
        killed = server.pid
        os.kill(killed, signal.SIGKILL)
        with pytest.raises(BackendError) as err:
            list(stream)
        assert "embedded model server failed" in err.value.message
        assert err.value.hint and "Ask again" in err.value.hint

        answer = assistant.answer(STREAMED)
        assert server.pid not in (None, killed)  # restarted on demand
        assert not answer.refused and answer.quotes
        for quote in answer.quotes:
            stored = read_document_text(small_settings.index_dir / "documents", quote.document)
            assert stored.text.text[quote.start : quote.end] == quote.text
    finally:
        server.stop()


def _model_servers(process: psutil.Process) -> list[psutil.Process]:
    return [
        child
        for child in process.children(recursive=True)
        if "assistant.llm.llama_server" in " ".join(child.cmdline())
    ]


def test_model_server_goes_when_its_parent_is_killed(model_cache: Path) -> None:
    """SIGKILL (or the OOM killer) gives the parent no chance to stop its model server; the
    server notices and exits instead of holding its memory for good."""
    script = (
        "import time, sys\n"
        "from assistant.llm.llama_server import LlamaServer\n"
        "from assistant.llm.model_files import PACKAGED_MODELS, assemble\n"
        "from pathlib import Path\n"
        "gguf = assemble(PACKAGED_MODELS['qwen2.5-coder-0.5b'], Path(sys.argv[1]))\n"
        "server = LlamaServer(gguf, context_window=2048, parallel=1, threads=1, alias='x')\n"
        "server.ensure_running()\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(model_cache)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    assert child.is_running()
    parent.kill()
    parent.wait()
    _gone, alive = psutil.wait_procs([child], timeout=20)
    assert not alive, "the model server outlived its killed parent"


def test_app_stops_its_model_server_on_sigterm(corpus_index: tuple[Settings, Any]) -> None:
    """``systemctl stop`` sends SIGTERM: the app closes and takes its model server with it."""
    port = free_port()
    env = app_env(
        corpus_index[0].data_dir,
        CORPUS,
        port,
        model_cache_dir=str(corpus_index[0].model_cache_dir),
        llm_backend="embedded",
        llm_embedded_model="qwen2.5-coder-0.5b",
    )
    app = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", app, timeout_s=180)
        deadline = time.monotonic() + 120
        while not (servers := _model_servers(psutil.Process(app.pid))):
            assert time.monotonic() < deadline, "the app did not start its model server"
            time.sleep(1)
        app.send_signal(signal.SIGTERM)
        assert app.wait(timeout=60) == 0
        _gone, alive = psutil.wait_procs(servers, timeout=20)
        assert not alive, "the model server outlived the app"
    finally:
        app.kill()
