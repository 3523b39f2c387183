"""Answers made by hand, for tests that need an earlier turn or an answer to export: the
provenance fields (model, backend, prompt version, settings hash, timings) are placeholders."""

from __future__ import annotations

import dataclasses
from typing import Any

from assistant.types import Answer, Timings


def made_answer(question: str, text: str, **changes: Any) -> Answer:
    """An answered question with no quotes unless ``changes`` gives them."""
    answer = Answer(
        question=question,
        text=text,
        refused=False,
        quotes=(),
        rejected_quotes=(),
        passages=(),
        model="m",
        backend="embedded",
        prompt_version="v",
        settings_hash="h",
        timings=Timings(),
    )
    return dataclasses.replace(answer, **changes)
