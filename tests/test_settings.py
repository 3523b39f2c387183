from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.errors import ConfigurationError
from assistant.core.settings import load_settings


def test_environment_prefix_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("ASSISTANT_CHUNK_SIZE", "400")
    settings = load_settings()
    assert settings.data_dir == tmp_path / "x"
    assert settings.chunk_size == 400
    assert settings.index_dir == tmp_path / "x" / "index"


def test_ollama_host_falls_back_to_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_OLLAMA_HOST", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://gpu-server:11434")
    assert load_settings().ollama_host == "http://gpu-server:11434"


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="chunk_sise"):
        load_settings(chunk_sise=10)


def test_overlap_must_be_smaller_than_chunk() -> None:
    with pytest.raises(ConfigurationError, match="chunk_overlap"):
        load_settings(chunk_size=100, chunk_overlap=100)


def test_hash_is_stable_and_tracks_what_changes_results(tmp_path: Path) -> None:
    base = load_settings(data_dir=tmp_path / "a")
    assert base.hash() == load_settings(data_dir=tmp_path / "a").hash()
    # Where things run does not change the hash ...
    assert base.hash() == load_settings(data_dir=tmp_path / "b", chroma_port=9000).hash()
    # ... what is computed does.
    assert base.hash() != load_settings(data_dir=tmp_path / "a", chunk_size=301).hash()
    assert base.hash() != load_settings(embedding_backend="ollama").hash()


def test_embedding_model_defaults_per_backend() -> None:
    assert load_settings().resolved_embedding_model == "multilingual-e5-small"
    assert load_settings(embedding_backend="ollama").resolved_embedding_model == "bge-m3"
    assert load_settings(embedding_model="x").resolved_embedding_model == "x"
