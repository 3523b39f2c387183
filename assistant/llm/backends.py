"""Language-model backends behind llama-index's ``LLM`` interface, chosen by settings.

- ``ollama``: llama-index's Ollama integration (the official ``ollama`` client); the product
  path on staff machines. Structured output with ``format=<JSON schema>``.
- ``embedded``: a GGUF model from our PyPI packages served by llama.cpp (xllamacpp) on a loopback
  port, spoken to through llama-index's OpenAI-compatible client. Structured output with
  ``response_format: json_schema`` (a grammar: the model cannot produce anything else).
- ``auto``: Ollama when it answers and has the model, otherwise embedded; the reason is kept in
  ``LLMBackend.note`` for the log and the UI. When Ollama goes away later (stopped, crashed, the
  model removed), the next call switches to the embedded model instead of failing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from llama_index.core.llms import LLM, ChatMessage
from llama_index.llms.openai_like import OpenAILike
from pydantic import PrivateAttr

from assistant.core.errors import BackendError
from assistant.core.remote import ollama_client, retrying
from assistant.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamChunk:
    """The reply so far (accumulated text) and, once known, the token counts."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class LLMBackend:
    """A chat model with JSON-schema-constrained streaming, and what it is."""

    name: str
    model: str
    llm: LLM
    note: str = ""
    server: Any = None  # the embedded LlamaServer, when there is one
    #: llama.cpp reuses the KV cache of a repeated prompt prefix; benchmarks switch it off to
    #: time every call cold.
    prompt_cache: bool = True
    #: ``auto`` mode over Ollama: builds the embedded backend to switch to when Ollama fails.
    fallback: Callable[[], LLMBackend] | None = None
    #: Ollama: a tenacity ``Retrying`` for one call, given an extra condition for retrying
    #: (assistant/remote.py); None: one try.
    retry: Callable[[Callable[[BaseException], bool]], Any] | None = None
    _switch: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def stream_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        """Stream a reply constrained to ``schema``; BackendError with a fix when it fails."""
        if self.name == "ollama":
            kwargs: dict[str, Any] = {"format": schema}
        else:
            kwargs = {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "answer", "schema": schema, "strict": True},
                },
                "stream_options": {"include_usage": True},
                "extra_body": {"cache_prompt": self.prompt_cache},
            }
        shown: list[StreamChunk] = []  # the retry condition reads it when a try fails
        try:
            for attempt in self._attempts(lambda _exc: not shown):
                with attempt:
                    for response in self.llm.stream_chat(list(messages), **kwargs):
                        chunk = StreamChunk(response.message.content or "", *_usage(response))
                        shown[:] = [chunk]
                        yield chunk
        except BackendError:
            raise
        except Exception as exc:
            error = self._translate(exc)
            # Nothing was streamed yet, so the call can be made again elsewhere unseen.
            if self.fallback is not None and not shown and _ollama_gone(exc):
                self._fall_back(error)
                yield from self.stream_json(messages, schema)
                return
            raise error from exc

    def _attempts(self, unseen: Callable[[BaseException], bool]) -> Any:
        """Tries of one call: retried (Ollama) only while nothing of the reply was shown."""
        import tenacity

        if self.retry is None:
            return tenacity.Retrying(stop=tenacity.stop_after_attempt(1), reraise=True)
        return self.retry(unseen)

    def _fall_back(self, error: BackendError) -> None:
        """Become the embedded backend (``auto`` mode after Ollama failed); for good, since a
        server that went away once is not worth a timeout on every later question."""
        with self._switch:
            if self.fallback is None:  # another thread switched already
                return
            embedded = self.fallback()
            log.warning("auto: %s Switching to the embedded model.", error.message)
            self.name, self.model, self.llm = embedded.name, embedded.model, embedded.llm
            self.server, self.fallback, self.retry = embedded.server, None, None
            self.note = f"auto: {error.message} Switched to the embedded model."

    def _translate(self, exc: Exception) -> BackendError:
        message = f"{type(exc).__name__}: {exc}"
        if self.name == "ollama":
            host = getattr(self.llm, "base_url", "")
            if "not found" in str(exc).lower():
                return BackendError(
                    f"Ollama at {host} does not have the model {self.model!r}.",
                    hint=f"Run `ollama pull {self.model}` on the Ollama machine.",
                )
            return BackendError(
                f"The Ollama model {self.model!r} at {host} failed ({message}).",
                hint="Check that Ollama runs (`ollama serve`) and OLLAMA_HOST is right; with "
                "ASSISTANT_LLM_BACKEND=auto the embedded model is used when Ollama is down.",
            )
        return BackendError(
            f"The embedded model server failed ({message}).",
            hint="Ask again: the server is restarted automatically if it stopped.",
        )


def _ollama_gone(exc: Exception) -> bool:
    """Whether Ollama is down or lost the model (not: it refused this one request)."""
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        return exc.status_code == 404
    return isinstance(exc, httpx.TransportError | ConnectionError)


def _usage(response: Any) -> tuple[int, int]:
    extra = getattr(response, "additional_kwargs", None) or {}
    if extra.get("prompt_tokens"):
        return int(extra["prompt_tokens"]), int(extra.get("completion_tokens", 0))
    raw = getattr(response, "raw", None)
    usage = raw.get("usage") if isinstance(raw, dict) else None
    if isinstance(usage, dict) and usage.get("prompt_tokens"):
        return int(usage["prompt_tokens"]), int(usage.get("completion_tokens", 0))
    return 0, 0


def build_backend(settings: Settings) -> LLMBackend:
    """The backend the settings ask for (``auto``: probe Ollama, fall back to embedded)."""
    if settings.llm_backend == "ollama":
        problem = ollama_problem(settings)
        if problem:
            raise BackendError(problem[0], hint=problem[1])
        return _ollama_backend(settings, note="")
    if settings.llm_backend == "embedded":
        return _embedded_backend(settings, note="")
    # auto: no retries, so that a machine without Ollama starts without waiting for it.
    problem = ollama_problem(settings, retry=False)
    if problem is None:
        backend = _ollama_backend(settings, note=f"auto: Ollama at {settings.ollama_host}")
        backend.fallback = lambda: _embedded_backend(settings, note="")
        return backend
    note = f"auto: {problem[0]} Using the embedded model."
    log.info(note)
    return _embedded_backend(settings, note=note)


def ollama_problem(settings: Settings, *, retry: bool = True) -> tuple[str, str] | None:
    """Why Ollama cannot serve ``llm_model`` now (message, hint), or None when it can.
    ``retry``: try again (with backoff) while it is unreachable, as a server that restarts is."""
    import httpx
    import ollama

    client = ollama_client(settings)
    try:
        if retry:
            for attempt in retrying(settings, "Ollama"):
                with attempt:
                    client.show(settings.llm_model)
        else:
            client.show(settings.llm_model)
    except ollama.ResponseError as exc:
        if exc.status_code == 404:
            return (
                f"Ollama at {settings.ollama_host} does not have the model {settings.llm_model!r}.",
                f"Run `ollama pull {settings.llm_model}`.",
            )
        return (
            f"Ollama at {settings.ollama_host} answered with an error: {exc.error}.",
            "Check the Ollama server's log.",
        )
    except (ConnectionError, httpx.HTTPError, OSError) as exc:
        return (
            f"Ollama at {settings.ollama_host} is unreachable ({type(exc).__name__}, "
            f"{settings.ollama_retries + 1 if retry else 1} tries).",
            "Start it with `ollama serve` or set OLLAMA_HOST; or use ASSISTANT_LLM_BACKEND="
            "embedded.",
        )
    return None


def _ollama_backend(settings: Settings, *, note: str) -> LLMBackend:
    from llama_index.llms.ollama import Ollama

    llm = Ollama(
        model=settings.llm_model,
        base_url=settings.ollama_host,
        request_timeout=settings.ollama_timeout_s,
        client=ollama_client(settings),
        temperature=settings.llm_temperature,
        context_window=settings.llm_context_window,
        additional_kwargs={
            "num_ctx": settings.llm_context_window,
            "num_predict": settings.llm_max_tokens,
        },
    )
    return LLMBackend(
        name="ollama",
        model=settings.llm_model,
        llm=llm,
        note=note,
        retry=lambda unseen: retrying(settings, "Ollama chat", also=unseen),
    )


def _embedded_backend(settings: Settings, *, note: str) -> LLMBackend:
    from assistant.llm.llama_server import LlamaServer
    from assistant.llm.model_files import gguf_path

    path = gguf_path(settings)
    name = settings.llm_gguf_path.stem if settings.llm_gguf_path else settings.llm_embedded_model
    server = LlamaServer(
        path,
        context_window=settings.llm_context_window,
        parallel=settings.llm_parallel,
        threads=max(1, os.cpu_count() or 2),
        alias=name,
    )
    llm = _ServerLLM(
        server,
        model=name,
        api_key="local",
        api_base="http://127.0.0.1:1/v1",  # replaced by the server's address when it starts
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=settings.llm_context_window,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=0,
    )
    return LLMBackend(name="embedded", model=name, llm=llm, note=note, server=server)


class _ServerLLM(OpenAILike):  # type: ignore[misc]
    """OpenAILike that starts (or restarts) the embedded server before each call and follows
    its address, which changes when the server is restarted on another free port."""

    _server: Any = PrivateAttr()

    def __init__(self, server: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server

    def _get_client(self) -> Any:
        base = self._server.base_url
        if self.api_base != base:
            self.api_base = base
            self._client = None
        return super()._get_client()
