"""Beleidsassistent: answers questions about Dutch government documents with verified quotes.

The public API (scripts and the eval suite rely on these names)::

    from assistant import answer, retrieve, stream_answer
    result = answer("Wat is de Actieagenda Sterk Bestuur?")
    result.text, result.quotes, result.refused, result.to_dict()
    follow_up = answer("Wie voert die uit?", history=[result])
    follow_up.standalone_question  # the question as understood, e.g. "Wie voert de Actieagenda ..."

The module-level functions use one lazily built assistant per distinct settings, and keep the
``MAX_DEFAULT_ASSISTANTS`` most recently used: asking with yet other settings closes the one used
longest ago (its model server and Chroma client; it would reopen them if still used).
:func:`close_default_assistants` closes and forgets them all (a parameter sweep calls it after
each point). Build your own with :func:`assistant.components.build_assistant` to control its
lifetime, and ``close()`` it when done.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings, load_settings
from assistant.types import Answer, Passage, Preview, Quote, RejectedQuote, Timings

if TYPE_CHECKING:
    from assistant.answering import Answerer

__all__ = [
    "Answer",
    "AssistantError",
    "Passage",
    "Preview",
    "Quote",
    "RejectedQuote",
    "Settings",
    "Timings",
    "answer",
    "close_default_assistants",
    "default_assistant",
    "load_settings",
    "retrieve",
    "stream_answer",
]

#: How many shared assistants (each with its own model backend and Chroma client) are kept.
MAX_DEFAULT_ASSISTANTS = 2

#: Settings JSON -> its shared assistant, the most recently used last.
_instances: OrderedDict[str, Answerer] = OrderedDict()
_lock = threading.Lock()


def default_assistant(settings: Settings | None = None) -> Answerer:
    """The shared assistant for these settings (built on first use)."""
    from assistant.components import build_assistant

    settings = settings or load_settings()
    key = settings.model_dump_json()
    evicted: list[Answerer] = []
    with _lock:
        instance = _instances.get(key)
        if instance is None:
            instance = build_assistant(settings)
            _instances[key] = instance
            while len(_instances) > MAX_DEFAULT_ASSISTANTS:
                evicted.append(_instances.popitem(last=False)[1])
        else:
            _instances.move_to_end(key)
    for old in evicted:  # outside the lock: stopping a model server takes a moment
        old.close()
    return instance


def close_default_assistants() -> None:
    """Close and forget every shared assistant; the next call builds a new one."""
    with _lock:
        instances = list(_instances.values())
        _instances.clear()
    with ExitStack() as stack:  # every one is closed, even if one fails
        for instance in instances:
            stack.callback(instance.close)


def answer(
    question: str, *, history: Sequence[Answer] | None = None, settings: Settings | None = None
) -> Answer:
    """Answer a question from the indexed documents, with verified quotes (or a refusal).

    ``history``: the earlier answers of the same conversation, oldest first; a follow-up that
    leans on them is answered as the standalone question recorded in
    ``Answer.standalone_question``. Without history a question costs what it always did.
    """
    return default_assistant(settings).answer(question, history=history or ())


def retrieve(
    question: str, *, k: int | None = None, settings: Settings | None = None
) -> list[Passage]:
    """The passages hybrid retrieval finds for a question, best first."""
    return default_assistant(settings).retrieve(question, k)


def stream_answer(
    question: str,
    *,
    history: Sequence[Answer] | None = None,
    settings: Settings | None = None,
    preview: bool = False,
) -> Iterator[str | Preview | Answer]:
    """Yield text deltas as the answer is written, then the final :class:`Answer`
    (``preview``: first a :class:`Preview`, the best-ranked sentences, verified;
    ``history`` as for :func:`answer`)."""
    return default_assistant(settings).stream_answer(
        question, history=history or (), preview=preview
    )
