"""Language-model backends behind llama-index's ``LLM`` interface, chosen once by settings.

One contract, :class:`LLMBackend`, and one implementation per backend; :data:`BACKENDS` maps
``settings.llm_backend`` to the function that builds it (:func:`build_backend`):

- ``ollama`` (:class:`OllamaBackend`): llama-index's Ollama integration (the official ``ollama``
  client); the product path on staff machines. Structured output with ``format=<JSON schema>``.
- ``embedded`` (:class:`EmbeddedBackend`): a GGUF model from our PyPI packages served by
  llama.cpp (xllamacpp) on a loopback port, spoken to through llama-index's OpenAI-compatible
  client. Structured output with ``response_format: json_schema`` (a grammar: the model cannot
  produce anything else).
- ``auto``: Ollama when it answers and has the model, otherwise embedded; the reason is kept in
  ``note`` for the log and the UI. Over Ollama it is an :class:`AutoBackend`: when Ollama goes
  away later (stopped, crashed, the model removed), the next call switches to a new embedded
  backend instead of failing.

A backend that holds a model server stops it in ``close()`` (it starts again on the next call).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from llama_index.core.llms import LLM, ChatMessage
from llama_index.llms.openai_like import OpenAILike
from pydantic import PrivateAttr

from assistant.core.errors import BackendError
from assistant.core.i18n import _, ngettext
from assistant.core.remote import ollama_client, retrying
from assistant.core.settings import Settings
from assistant.llm.llama_server import LlamaServer

log = logging.getLogger(__name__)

#: Tries of one call, given the extra condition for a retry (nothing of the reply shown yet).
Attempts = Callable[[Callable[[BaseException], bool]], Any]


@dataclass(frozen=True)
class StreamChunk:
    """The reply so far (accumulated text) and, once known, the token counts."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMBackend(Protocol):
    """A chat model with JSON-schema-constrained streaming, and what it is."""

    #: llama.cpp reuses the KV cache of a repeated prompt prefix; benchmarks switch it off to
    #: time every call cold (Ollama ignores it).
    prompt_cache: bool

    @property
    def name(self) -> str:
        """``ollama`` or ``embedded``: what answers now (the answer records it)."""
        ...

    @property
    def model(self) -> str: ...

    @property
    def llm(self) -> LLM: ...

    @property
    def note(self) -> str:
        """Why this backend was chosen (``auto``), for the log and the UI; empty otherwise."""
        ...

    @property
    def server(self) -> LlamaServer | None:
        """The embedded model server, when there is one (the UI starts it ahead of time)."""
        ...

    def stream_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        """Stream a reply constrained to ``schema``; BackendError with a fix when it fails."""
        ...

    def close(self) -> None:
        """Release what the backend holds (a model server); it starts again on the next call."""
        ...


class OllamaBackend:
    """A model on an Ollama server; each call retried (with backoff) while nothing was shown."""

    name = "ollama"
    server: LlamaServer | None = None

    def __init__(self, settings: Settings, *, note: str = "") -> None:
        from llama_index.llms.ollama import Ollama

        self._settings = settings
        self.model = settings.llm_model
        self.note = note
        self.prompt_cache = True
        self.llm: LLM = Ollama(
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

    def stream_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        def attempts(unseen: Callable[[BaseException], bool]) -> Any:
            return retrying(self._settings, "Ollama chat", also=unseen)

        yield from _stream(self.llm, messages, {"format": schema}, attempts, self._failure)

    def close(self) -> None:
        """Nothing to stop: the server is not ours, and the HTTP client's connections are
        released with it."""

    def _failure(self, exc: Exception) -> BackendError:
        if "not found" in str(exc).lower():
            message, hint = _model_missing(self._settings)
            return BackendError(message, hint=hint)
        return BackendError(
            _("The Ollama model {model!r} at {host} failed ({error}: {reason}).").format(
                model=self.model,
                host=self._settings.ollama_host,
                error=type(exc).__name__,
                reason=exc,
            ),
            hint=_(
                "Check that Ollama runs (`ollama serve`) and OLLAMA_HOST is right; with "
                "ASSISTANT_LLM_BACKEND=auto the embedded model is used when Ollama is down."
            ),
        )


class EmbeddedBackend:
    """A GGUF model served by our own llama.cpp server (started on first use)."""

    name = "embedded"

    def __init__(self, settings: Settings, *, note: str = "") -> None:
        from assistant.llm.model_files import gguf_path

        path = gguf_path(settings)
        gguf = settings.llm_gguf_path
        self.model = gguf.stem if gguf else settings.llm_embedded_model
        self.note = note
        self.prompt_cache = True
        draft = None
        if settings.llm_speculative == "draft":
            small = {"llm_embedded_model": "qwen2.5-coder-0.5b", "llm_gguf_path": None}
            draft = gguf_path(settings.model_copy(update=small))
        self.server = LlamaServer(
            path,
            context_window=settings.llm_context_window,
            parallel=settings.llm_parallel,
            threads=max(1, os.cpu_count() or 2),
            alias=self.model,
            speculative=settings.llm_speculative,
            draft=draft,
        )
        self.llm: LLM = _ServerLLM(
            self.server,
            model=self.model,
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

    def stream_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        kwargs = {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema, "strict": True},
            },
            "stream_options": {"include_usage": True},
            "extra_body": {"cache_prompt": self.prompt_cache},
        }
        yield from _stream(self.llm, messages, kwargs, _one_try, _embedded_failure)

    def close(self) -> None:
        """Stop the model server (a later call starts it again)."""
        self.server.close()


class AutoBackend:
    """``auto`` mode over Ollama: Ollama until it is gone (down, or the model removed) on a call
    that has shown nothing yet; from then on, for good, a new embedded backend (a server that
    went away once is not worth a timeout on every later question). The Ollama backend itself
    is never changed."""

    def __init__(self, ollama: LLMBackend, embedded: Callable[[], LLMBackend]) -> None:
        self._ollama = ollama
        self._build_embedded = embedded
        self._embedded: LLMBackend | None = None
        self._note = ollama.note
        self._prompt_cache = True
        self._switch = threading.Lock()

    @property
    def current(self) -> LLMBackend:
        """The backend that answers now."""
        return self._ollama if self._embedded is None else self._embedded

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def model(self) -> str:
        return self.current.model

    @property
    def llm(self) -> LLM:
        return self.current.llm

    @property
    def note(self) -> str:
        return self._note

    @property
    def server(self) -> LlamaServer | None:
        return self.current.server

    @property
    def prompt_cache(self) -> bool:
        return self._prompt_cache

    @prompt_cache.setter
    def prompt_cache(self, value: bool) -> None:
        self._prompt_cache = value
        self.current.prompt_cache = value

    def stream_json(
        self, messages: Sequence[ChatMessage], schema: dict[str, Any]
    ) -> Iterator[StreamChunk]:
        backend = self.current
        streamed = False
        try:
            for chunk in backend.stream_json(messages, schema):
                streamed = True
                yield chunk
            return
        except BackendError as error:
            # Nothing was streamed yet, so the call can be made again elsewhere unseen.
            if backend is not self._ollama or streamed or not _ollama_gone(error.__cause__):
                raise
            embedded = self._fall_back(error)
        yield from embedded.stream_json(messages, schema)

    def close(self) -> None:
        self._ollama.close()
        if self._embedded is not None:
            self._embedded.close()

    def _fall_back(self, error: BackendError) -> LLMBackend:
        with self._switch:
            if self._embedded is None:  # else another thread switched already
                embedded = self._build_embedded()
                embedded.prompt_cache = self._prompt_cache
                log.warning("auto: %s Switching to the embedded model.", error.message)
                self._note = _("auto: {problem} Switched to the embedded model.").format(
                    problem=error.message
                )
                self._embedded = embedded
            return self._embedded


def _stream(
    llm: LLM,
    messages: Sequence[ChatMessage],
    kwargs: dict[str, Any],
    attempts: Attempts,
    failure: Callable[[Exception], BackendError],
) -> Iterator[StreamChunk]:
    """The one streaming path: tries of ``llm.stream_chat`` (a retry only while nothing of the
    reply was shown), a failure translated by ``failure`` (the original as its cause)."""
    shown: list[StreamChunk] = []  # the retry condition reads it when a try fails
    try:
        for attempt in attempts(lambda _exc: not shown):
            with attempt:
                for response in llm.stream_chat(list(messages), **kwargs):
                    chunk = StreamChunk(response.message.content or "", *_usage(response))
                    shown[:] = [chunk]
                    yield chunk
    except BackendError:
        raise
    except Exception as exc:
        raise failure(exc) from exc


def _one_try(_unseen: Callable[[BaseException], bool]) -> Any:
    import tenacity

    return tenacity.Retrying(stop=tenacity.stop_after_attempt(1), reraise=True)


def _embedded_failure(exc: Exception) -> BackendError:
    return BackendError(
        _("The embedded model server failed ({error}: {reason}).").format(
            error=type(exc).__name__, reason=exc
        ),
        hint=_("Ask again: the server is restarted automatically if it stopped."),
    )


def _model_missing(settings: Settings) -> tuple[str, str]:
    """Ollama does not have ``llm_model``: the message and the fix (at start-up or mid-call)."""
    return (
        _("Ollama at {host} does not have the model {model!r}.").format(
            host=settings.ollama_host, model=settings.llm_model
        ),
        _("Run `ollama pull {model}`.").format(model=settings.llm_model),
    )


def _ollama_gone(exc: BaseException | None) -> bool:
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


def _ollama(settings: Settings) -> LLMBackend:
    problem = ollama_problem(settings)
    if problem:
        raise BackendError(problem[0], hint=problem[1])
    return OllamaBackend(settings)


def _auto(settings: Settings) -> LLMBackend:
    # No retries, so that a machine without Ollama starts without waiting for it.
    problem = ollama_problem(settings, retry=False)
    if problem is None:
        note = _("auto: Ollama at {host}").format(host=settings.ollama_host)
        ollama = OllamaBackend(settings, note=note)
        return AutoBackend(ollama, lambda: EmbeddedBackend(settings))
    log.info("auto: %s Using the embedded model.", problem[0])
    note = _("auto: {problem} Using the embedded model.").format(problem=problem[0])
    return EmbeddedBackend(settings, note=note)


#: ``settings.llm_backend`` -> the function that builds that backend (the one place it is chosen).
BACKENDS: dict[str, Callable[[Settings], LLMBackend]] = {
    "ollama": _ollama,
    "embedded": EmbeddedBackend,
    "auto": _auto,
}


def build_backend(settings: Settings) -> LLMBackend:
    """The backend the settings ask for (``auto``: probe Ollama, fall back to embedded)."""
    return BACKENDS[settings.llm_backend](settings)


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
            return _model_missing(settings)
        return (
            _("Ollama at {host} answered with an error: {reason}.").format(
                host=settings.ollama_host, reason=exc.error
            ),
            _("Check the Ollama server's log."),
        )
    except (ConnectionError, httpx.HTTPError, OSError) as exc:
        tries = settings.ollama_retries + 1 if retry else 1
        return (
            ngettext(
                "Ollama at {host} is unreachable ({error}, {n} try).",
                "Ollama at {host} is unreachable ({error}, {n} tries).",
                tries,
            ).format(host=settings.ollama_host, error=type(exc).__name__, n=tries),
            _(
                "Start it with `ollama serve` or set OLLAMA_HOST; or use "
                "ASSISTANT_LLM_BACKEND=embedded."
            ),
        )
    return None


class _ServerLLM(OpenAILike):  # type: ignore[misc]
    """OpenAILike that starts (or restarts) the embedded server before each call and follows
    its address, which changes when the server is restarted on another free port."""

    _server: Any = PrivateAttr()

    def __init__(self, server: LlamaServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server = server

    def _get_client(self) -> Any:
        base = self._server.base_url
        if self.api_base != base:
            self.api_base = base
            self._client = None
        return super()._get_client()
