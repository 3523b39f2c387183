"""Talking to an Ollama server that may be on another machine: timeouts, and retries with
exponential backoff (tenacity) for the failures that pass: a dropped connection, a timeout, a
busy or restarting server (429, 5xx). A missing model or a refused request is not retried.

Used by the chat model (assistant/llm/backends.py), the Ollama embedder
(assistant/index/embed.py) and the judge.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.core.settings import Settings

log = logging.getLogger(__name__)

#: Answers of a server (or the proxy in front of it) that is busy or restarting.
_PASSING_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def ollama_timeout(settings: Settings) -> Any:
    """httpx timeouts: a short one to connect (an unreachable host fails fast), a long one per
    read (a large model on a busy server takes a while to start answering)."""
    import httpx

    return httpx.Timeout(settings.ollama_timeout_s, connect=settings.ollama_connect_timeout_s)


def ollama_client(settings: Settings) -> Any:
    """The official client for ``settings.ollama_host`` with :func:`ollama_timeout`."""
    import ollama

    return ollama.Client(host=settings.ollama_host, timeout=ollama_timeout(settings))


def passing(exc: BaseException) -> bool:
    """Whether the failure is worth another try: the connection or the server, not the request."""
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        return exc.status_code in _PASSING_STATUS
    return isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError)


def retrying(settings: Settings, what: str, also: Any = None) -> Any:
    """A tenacity ``Retrying`` for one Ollama call: ``settings.ollama_retries`` more tries after
    the first, waits growing from ``ollama_retry_backoff_s`` (doubling, with jitter, at most
    30 s), each retry logged; the last failure is raised as it was. ``also``: an extra condition
    (a callable of the exception) that must hold for a retry."""
    import tenacity

    def worth_it(exc: BaseException) -> bool:
        return passing(exc) and (also is None or bool(also(exc)))

    def announce(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s at %s failed (%s: %s); try %d of %d in %.1f s",
            what,
            settings.ollama_host,
            type(error).__name__,
            error,
            state.attempt_number + 1,
            settings.ollama_retries + 1,
            wait,
        )

    backoff = settings.ollama_retry_backoff_s
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(settings.ollama_retries + 1),
        wait=tenacity.wait_exponential_jitter(
            initial=backoff, max=max(backoff, 30.0), jitter=backoff
        ),
        retry=tenacity.retry_if_exception(worth_it),
        before_sleep=announce,
        reraise=True,
    )
