"""Process environment that must be in place before heavy libraries are imported.

Imported first by every package of this project. It only sets variables the user has not set.

- ``TIKTOKEN_CACHE_DIR``: tiktoken downloads its BPE files at first use unless this points at a
  local copy; llama-index-core ships one, so we point there (no network on staff machines).
- ``OMP_WAIT_POLICY=PASSIVE``: the embedded embedder uses OpenMP; with the default busy-wait policy
  a query sometimes took 1.7 s instead of 40 ms on a busy 2-core machine.
- ``ANONYMIZED_TELEMETRY=False``: Chroma must not try to phone home.
- ``GRADIO_ANALYTICS_ENABLED=False``: neither may Gradio (the web UI).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _llama_index_static_dir() -> Path | None:
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


def configure() -> None:
    """Set the environment variables described in the module docstring (idempotent)."""
    static = _llama_index_static_dir()
    if static is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static / "tiktoken_cache"))
        os.environ.setdefault("NLTK_DATA", str(static / "nltk_cache"))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Hugging Face libraries pulled in transitively must never try the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


configure()
