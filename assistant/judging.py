"""Judging an answer: verify its cited spans, weigh the decision's signals, answer or refuse.

Three answer modes, one place for their verdicts (``answering.py`` only orchestrates):

- ``passages`` (``answer_mode=model``): the hand-set grounding policy of ``grounding.py``.
- ``evidence`` (``answer_mode=evidence``): the model cited numbered best-ranked sentences; the
  fitted decision (``decision.py``) weighs the signals; an answer text that misses what its own
  sentences say is replaced by those sentences instead of being refused.
- ``extract`` (``answer_mode=extractive``): the best sentences are the answer, no model.

Without a fitted decision for the mode (or with ``answer_decision=gates``) each mode falls back
on its hand-set gate, named in the refusal reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.citations import Evidence
from assistant.core.settings import Settings
from assistant.core.text import terms
from assistant.decision import Decision, Signals, Verdict, asks_for, holds, measure
from assistant.documents import PinnedTexts
from assistant.evidence import Sentence, choose
from assistant.grounding import refusal_reason, support, unsupported_figures
from assistant.injection import repeats_instructions
from assistant.prompting import Context
from assistant.retrieval import Retrieval
from assistant.types import Quote, RejectedQuote
from assistant.verification import verify_quotes


@dataclass(frozen=True)
class Judgement:
    """The verdict on a model's reply: the answer with its quotes, or the reason to refuse."""

    text: str
    quotes: tuple[Quote, ...]
    reason: str | None
    rejected: tuple[RejectedQuote, ...]
    notes: tuple[str, ...]
    signals: Signals | None = None
    probability: float | None = None


class Judge:
    """The verdicts of one assistant: its settings, its index's term frequencies, its fitted
    decision (or None) and its instructions (an answer must never echo them)."""

    def __init__(
        self,
        settings: Settings,
        frequency: Callable[[str], float],
        decision: Decision | None,
        instructions: Callable[[str], str],
    ) -> None:
        self._settings = settings
        self._frequency = frequency
        self._decision = decision
        self._instructions = instructions

    def passages(
        self,
        question: str,
        language: str,
        parsed: dict[str, Any],
        evidence: Sequence[Evidence],
        context: Context,
        texts: PinnedTexts,
    ) -> Judgement:
        """Verify the reply's sources and judge the answer (``grounding.py``)."""
        text = str(parsed.get("answer") or "").strip()
        backing = support(
            evidence, context, text, language, texts, self._settings.min_answer_support
        )
        quotes, failed = verify_quotes(backing.evidence, texts)
        repeats = bool(text) and repeats_instructions(text, self._instructions(language))
        reason = refusal_reason(
            text=text,
            repeats_instructions=repeats,
            quotes=quotes,
            coverage=backing.coverage,
            min_support=self._settings.min_answer_support,
            question=question,
            language=language,
            frequency=self._frequency,
            focus_limit=self._settings.focus_max_frequency,
        )
        notes = list(backing.notes)
        if reason is not None and text and not repeats:
            notes.append(f"draft answer: {text}")
        return Judgement(text, tuple(quotes), reason, (*backing.rejected, *failed), tuple(notes))

    def _signals(
        self,
        question: str,
        language: str,
        ranked: Sequence[Sentence],
        cited: Sequence[Evidence],
        quotes: Sequence[Quote],
        retrieval: Retrieval,
        *,
        model_answerable: bool,
        answer: str,
    ) -> Signals:
        position = {(s.document, s.start): n for n, s in enumerate(ranked, start=1)}
        return measure(
            question=question,
            language=language,
            ranked=ranked,
            cited_ranks=[position[k] for e in cited if (k := (e.document, e.start)) in position],
            quotes=quotes,
            similarity=retrieval.best_similarity,
            model_answerable=model_answerable,
            answer=answer,
            frequency=self._frequency,
            focus_limit=self._settings.focus_max_frequency,
        )

    def _verdict(self, signals: Signals, gate: str | None) -> Verdict:
        """The fitted decision when there is one, else the hand-set ``gate``."""
        if self._settings.answer_decision == "none":
            return Verdict(float("nan"), None)
        if self._decision is None:
            return Verdict(float("nan"), gate)
        return self._decision.judge(signals)

    def extract(
        self,
        question: str,
        language: str,
        retrieval: Retrieval,
        ranked: Sequence[Sentence],
        texts: PinnedTexts,
    ) -> Judgement:
        """``answer_mode=extractive``: the best-ranked sentences are the answer (no model)."""
        chosen = choose(ranked, self._settings.extractive_sentences)
        spans = [Evidence(s.document, s.start, s.end) for s in chosen]
        quotes, failed = verify_quotes(spans, texts)
        text = " ".join(q.text for q in quotes)
        signals = self._signals(
            question, language, ranked, spans, quotes, retrieval, model_answerable=True, answer=""
        )
        minimum = self._settings.extractive_min_overlap
        gate = None
        if ranked and ranked[0].overlap < minimum:
            gate = (
                f"the best sentence holds {ranked[0].overlap:.0%} of the question's distinctive "
                f"terms (< {minimum:.0%})"
            )
        elif quotes and not signals.focus_found:
            gate = "the sentences do not mention what the question is about"
        verdict = self._verdict(signals, gate)
        reason = "no sentence of the passages could be verified" if not quotes else verdict.reason
        return Judgement(text, tuple(quotes), reason, tuple(failed), (), signals, _p(verdict))

    def evidence(
        self,
        question: str,
        language: str,
        parsed: dict[str, Any],
        cited: Sequence[Evidence],
        context: Context,
        ranked: Sequence[Sentence],
        retrieval: Retrieval,
        texts: PinnedTexts,
    ) -> Judgement:
        """``answer_mode=evidence``: verify the cited sentences, weigh the signals, and state
        the asked fact: an answer text that misses what its own sentences say (a figure, an
        amount, a date) or adds figures they lack is replaced by those sentences; a sentence
        the answer does not restate follows it (``with_sentences``)."""
        text = str(parsed.get("answer") or "").strip()
        answerable = parsed.get("answerable") is True
        notes: list[str] = []
        if not cited and text:
            # Small models often answer right and cite nothing: the sentences of the context
            # that hold most of the answer's words are its evidence (checked in code).
            cited = answer_support(text, context)
            if cited:
                notes.append("the model cited no sentence; those holding its answer are cited")
        quotes, failed = verify_quotes(cited, texts)
        signals = self._signals(
            question,
            language,
            ranked,
            cited,
            quotes,
            retrieval,
            model_answerable=answerable,
            answer=text,
        )
        # The hand-set gates, for a model without a fitted decision: conservative, as before.
        gate = None
        if not answerable and not text:
            gate = "the model found no answer in the sentences"
        elif not signals.focus_found:
            gate = "the cited sentences do not mention what the question is about"
        elif signals.type_asked and not signals.type_found:
            gate = "the question asks for an amount, date or count the cited sentences do not hold"
        elif signals.unsupported_figures:
            gate = "the answer states figures that are not in its cited sentences"
        verdict = self._verdict(signals, gate)
        if text and repeats_instructions(text, self._instructions(language)):
            verdict = Verdict(
                verdict.probability, "the answer repeats the assistant's own instructions"
            )
        if verdict.reason is None and not quotes:
            # The decision says answer, the model cited nothing that verifies: the best-ranked
            # sentences are the evidence, as in extractive mode.
            chosen = choose(ranked, self._settings.extractive_sentences)
            quotes, more = verify_quotes(
                [Evidence(s.document, s.start, s.end) for s in chosen], texts
            )
            failed = [*failed, *more]
            text = ""
            notes.append("the model cited no sentence; the best-ranked ones are the evidence")
        if verdict.reason is None and not quotes:
            verdict = Verdict(verdict.probability, "no cited sentence could be verified")
        quoted = " ".join(q.text for q in quotes)
        kind = asks_for(question)
        if verdict.reason is None and (
            not text
            or unsupported_figures(text, quoted + " " + question)
            or (holds(kind, quoted) and not holds(kind, text))
        ):
            if text:
                notes.append(f"the model's answer missed or changed its sentences' facts: {text}")
            text = quoted
        elif verdict.reason is None:
            text = with_sentences(text, quotes)
        elif verdict.reason is not None and text:
            notes.append(f"draft answer: {text}")
        return Judgement(
            text, tuple(quotes), verdict.reason, tuple(failed), tuple(notes), signals, _p(verdict)
        )


def with_sentences(text: str, quotes: Sequence[Quote], *, restated: float = 0.5) -> str:
    """The answer followed by each cited sentence it does not restate.

    The 1.5B model answers in fragments ("2024", "60%", "Gemeente Zwolle") while the sentence it
    cites holds the law, the date and the second figure beside them: on dev, the cited sentences
    held twice the key facts of the answer text. A sentence counts as restated when the answer
    holds at least ``restated`` of its content words; those are not repeated. The sentences are
    verified quotes, so the composed text adds nothing the documents do not say.
    """
    said = terms(text)
    missing = []
    for quote in quotes:
        words = terms(quote.text)
        if words and len(words & said) / len(words) < restated and quote.text not in text:
            missing.append(quote.text)
    if not missing:
        return text
    return text.rstrip() + " — " + " ".join(f"“{sentence}”" for sentence in missing)


def answer_support(answer: str, context: Context, *, most: int = 2) -> list[Evidence]:
    """The context sentences that hold at least half of the answer's content words, best
    first (at most ``most``)."""
    wanted = terms(answer)
    if not wanted:
        return []
    scored = [(len(terms(s.text) & wanted) / len(wanted), s) for s in context.sentences]
    best = sorted((pair for pair in scored if pair[0] >= 0.5), key=lambda p: -p[0])[:most]
    return [Evidence(s.document, s.start, s.end) for _share, s in best]


def _p(verdict: Verdict) -> float | None:
    return None if math.isnan(verdict.probability) else round(verdict.probability, 4)
