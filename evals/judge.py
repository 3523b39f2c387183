"""An optional LLM judge: llama-index's ``CorrectnessEvaluator`` with a model served by Ollama.

Off by default (``python -m evals --judge MODEL`` switches it on) and reported apart from the
other metrics: a small local judge is unreliable (it rewards fluent wrong answers and misreads
Dutch), so its scores are a second opinion, never a gate.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.core.errors import BackendError
from assistant.core.settings import Settings
from assistant.llm.backends import ollama_problem

log = logging.getLogger(__name__)


class Judge:
    """Scores an answer against the reference answer from 1 to 5 (passing: 4 or more)."""

    def __init__(self, settings: Settings, model: str) -> None:
        from llama_index.core.evaluation import CorrectnessEvaluator
        from llama_index.llms.ollama import Ollama

        from assistant.core.remote import ollama_client

        problem = ollama_problem(settings.model_copy(update={"llm_model": model}))
        if problem is not None:
            raise BackendError(f"The judge cannot run: {problem[0]}", hint=problem[1])
        self.model = model
        llm = Ollama(
            model=model,
            base_url=settings.ollama_host,
            request_timeout=settings.ollama_timeout_s,
            client=ollama_client(settings),
            temperature=0.0,
        )
        self._evaluator = CorrectnessEvaluator(llm=llm)

    def __call__(self, question: str, answer: str, reference: str) -> dict[str, Any]:
        """``judge_score`` (1-5 or None when the judge's reply had no score), ``judge_passing``
        and the judge's own words; a failing call is recorded, not raised."""
        try:
            result = self._evaluator.evaluate(query=question, response=answer, reference=reference)
        except Exception as exc:  # the judge's reply format or its server: one item, not the run
            log.warning("judge failed on %r: %s", question[:80], exc)
            return {"judge_score": None, "judge_passing": None, "judge_feedback": f"error: {exc}"}
        return {
            "judge_score": result.score,
            "judge_passing": result.passing if result.score is not None else None,
            "judge_feedback": (result.feedback or "")[:1000],
        }
