"""Beleidsassistent: answers questions about Dutch government documents with verified quotes.

The public API (scripts and the eval suite rely on these names)::

    from assistant import answer, retrieve, stream_answer
    result = answer("Wat is de Actieagenda Sterk Bestuur?")
    result.text, result.quotes, result.refused, result.to_dict()

The module-level functions use one lazily built assistant per distinct settings; build your own
with :func:`assistant.components.build_assistant` to control its lifetime.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings, load_settings
from assistant.types import Answer, Passage, Quote, RejectedQuote, Timings

if TYPE_CHECKING:
    from assistant.answering import Answerer

__all__ = [
    "Answer",
    "AssistantError",
    "Passage",
    "Quote",
    "RejectedQuote",
    "Settings",
    "Timings",
    "answer",
    "default_assistant",
    "load_settings",
    "retrieve",
    "stream_answer",
]

_instances: dict[str, Answerer] = {}
_lock = threading.Lock()


def default_assistant(settings: Settings | None = None) -> Answerer:
    """The shared assistant for these settings (built on first use)."""
    from assistant.components import build_assistant

    settings = settings or load_settings()
    key = settings.model_dump_json()
    with _lock:
        instance = _instances.get(key)
        if instance is None:
            instance = build_assistant(settings)
            _instances[key] = instance
        return instance


def answer(question: str, *, settings: Settings | None = None) -> Answer:
    """Answer a question from the indexed documents, with verified quotes (or a refusal)."""
    return default_assistant(settings).answer(question)


def retrieve(
    question: str, *, k: int | None = None, settings: Settings | None = None
) -> list[Passage]:
    """The passages hybrid retrieval finds for a question, best first."""
    return default_assistant(settings).retrieve(question, k)


def stream_answer(question: str, *, settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yield text deltas as the answer is written, then the final :class:`Answer`."""
    return default_assistant(settings).stream_answer(question)
