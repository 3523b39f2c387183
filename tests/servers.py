"""Helpers for tests that start real processes: servers on loopback, and ingest runs to kill."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core.settings import Settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Poll ``url`` until it answers; RuntimeError when the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the server behind {url} did not start") from None
            time.sleep(0.5)


def app_env(
    data_dir: Path, corpus_dir: Path, port: int, *, interface_language: str = "nl", **settings: str
) -> dict[str, str]:
    """The environment for ``python app.py``: this process's own, plus the data folder, the corpus,
    the port, the interface language (Dutch, the users' default, unless told) and each keyword as
    an ``ASSISTANT_`` setting (``top_k="3"`` → ``ASSISTANT_TOP_K``)."""
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_CORPUS_DIR": str(corpus_dir),
        "ASSISTANT_UI_PORT": str(port),
        "ASSISTANT_INTERFACE_LANGUAGE": interface_language,
        **{f"ASSISTANT_{name.upper()}": value for name, value in settings.items()},
    }


def ingest_process(settings: Settings) -> subprocess.Popen[bytes]:
    """``python -m ingest --quiet`` over ``settings``' data and corpus folders, as its own
    process (for tests that kill it)."""
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ingest", "--quiet"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
