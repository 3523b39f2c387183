"""The embedded model server: llama.cpp's own HTTP server (xllamacpp) in a child process.

A child process rather than a thread of the app: a crash of the native code cannot take the app
down, the server can be restarted after a failure, and one server is shared by every request of
the process (llama.cpp serves ``parallel`` requests at once in slots). It listens on loopback only.

Run directly (that is how the parent starts it)::

    python -m assistant.llm.llama_server --model FILE.gguf --port 8012 --ctx 8192 --parallel 2
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from assistant.core.errors import BackendError
from assistant.core.i18n import _

log = logging.getLogger(__name__)
READY = "LLAMA-SERVER-READY"


class LlamaServer:
    """Starts the server process on first use, restarts it if it died, stops it on
    :meth:`close` (or at exit)."""

    def __init__(
        self,
        model: Path,
        *,
        context_window: int,
        parallel: int,
        threads: int,
        alias: str,
        embedding: bool = False,
        start_timeout_s: float = 180.0,
        speculative: str = "none",
        draft: Path | None = None,
    ) -> None:
        self.model = model
        #: Speculative decoding: "none", "ngram" (drafts from the prompt's own n-grams: answers
        #: copy their sentences) or "draft" (a small model drafts, ``draft`` its GGUF).
        self.speculative = speculative
        self._draft = draft
        self.alias = alias
        self._context = context_window * parallel  # llama.cpp splits n_ctx over the slots
        self._parallel = parallel
        self._threads = threads
        self._embedding = embedding
        self._timeout = start_timeout_s
        self._process: subprocess.Popen[str] | None = None
        self._port = 0
        self._lock = threading.Lock()
        atexit.register(self.stop)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, starting the server if needed."""
        self.ensure_running()
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def ensure_running(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            if self._process is not None:
                log.warning(
                    "the embedded model server stopped (exit %s); restarting it",
                    self._process.returncode,
                )
            self._start()

    def close(self) -> None:
        """Stop the server and release its memory; the next use starts it again."""
        self.stop()

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _start(self) -> None:
        self._port = _free_port()
        command = [
            sys.executable,
            "-m",
            "assistant.llm.llama_server",
            "--model",
            str(self.model),
            "--port",
            str(self._port),
            "--ctx",
            str(self._context),
            "--parallel",
            str(self._parallel),
            "--threads",
            str(self._threads),
            "--alias",
            self.alias,
            "--parent",
            str(os.getpid()),
            *(["--embedding"] if self._embedding else []),
            *(["--speculative", self.speculative] if self.speculative != "none" else []),
            *(["--draft", str(self._draft)] if self._draft else []),
        ]
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
        log.info("starting the embedded model server: %s", self.model.name)
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, we stop the server
        )
        deadline = time.monotonic() + self._timeout
        assert self._process.stdout is not None
        while time.monotonic() < deadline:
            line = self._process.stdout.readline()
            if READY in line:
                threading.Thread(target=self._drain, daemon=True).start()
                if _healthy(self._port):
                    return
            if not line and self._process.poll() is not None:
                break
        code = self._process.poll()
        with contextlib.suppress(Exception):
            self._process.kill()
        self._process = None
        raise BackendError(
            _("The embedded model server did not start (model {model}, exit code {code}).").format(
                model=self.model, code=code
            ),
            hint=_(
                "Check that the model file is a valid GGUF and that there is enough memory "
                "(about 2 GB for the 1.5B model); or use Ollama (ASSISTANT_LLM_BACKEND=ollama)."
            ),
        )

    def _drain(self) -> None:
        process = self._process
        if process is not None and process.stdout is not None:
            for _line in process.stdout:
                pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _serve(args: argparse.Namespace) -> int:
    """Child process: run llama.cpp's server until SIGTERM."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.verbosity = 0
    params.model_alias = {args.alias}
    # The server keeps old prompts' KV state in RAM (default cap 8 GiB), which let a long-running
    # server grow by ~200 MB after a few hundred requests; a small cap keeps memory bounded.
    params.cache_ram_mib = 256
    kinds = xllamacpp.common_speculative_type
    if args.speculative == "ngram":
        params.speculative.types = [kinds.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    elif args.speculative == "draft":
        params.speculative.types = [kinds.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
        params.speculative.draft.mparams.path = args.draft
        params.speculative.draft.cpuparams.n_threads = args.threads
        params.speculative.draft.cpuparams_batch.n_threads = args.threads
    if args.embedding:  # serve /v1/embeddings (mean-pooled) instead of chat
        params.embedding = True
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    server = xllamacpp.Server(params)  # returns once the model is loaded and HTTP is up
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    print(READY, flush=True)
    # The parent stops us at exit; if it is killed outright (SIGKILL, OOM killer) it cannot, and
    # a model server nobody uses would hold its memory for good: stop when the parent is gone.
    while not stop.wait(0.5):
        if args.parent and os.getppid() != args.parent:
            break
    del server
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the embedded llama.cpp server.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--alias", default="local")
    parser.add_argument("--parent", type=int, default=0, help="Exit when this process is gone.")
    parser.add_argument("--embedding", action="store_true", help="Serve embeddings, not chat.")
    parser.add_argument("--speculative", choices=["none", "ngram", "draft"], default="none")
    parser.add_argument("--draft", help="GGUF of the draft model (--speculative draft).")
    sys.exit(_serve(parser.parse_args()))
