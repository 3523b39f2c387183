"""answer(): retrieve, prompt, ask the model for a cited answer, verify, decide.

The model is never trusted. It returns JSON (enforced by a JSON schema) with its citations (copied
quotes or sentence numbers, see ``citations.py``) and its answer. Every citation is located in
the source document text and verified there (``verification.py``); those that are not are
rejected and recorded, and one repair round tells the model which ones failed. The decision to
answer or refuse is made in code (``judging.py``): by default (``answer_mode=evidence``) the
model sees only the best-ranked sentences (``evidence.py``) and a fitted decision weighs the
measured signals (``decision.py``). One streaming path serves both ``stream_answer()`` and
``answer()`` (which consumes it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from llama_index.core.llms import ChatMessage, MessageRole
from pydantic_core import from_json

from assistant.citations import MODES, Evidence
from assistant.conversation import FollowUps
from assistant.core.errors import QuestionError
from assistant.core.settings import Settings
from assistant.core.text import count_tokens, detect_language
from assistant.decision import load_decision
from assistant.documents import DocumentTexts, PinnedTexts
from assistant.evidence import Sentence, evidence_context, rank, split_sentences
from assistant.judging import Judge, Judgement
from assistant.llm.backends import LLMBackend
from assistant.prompting import Context, build_context, prompt_version, refusal_text, render
from assistant.questions import check_question
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.types import Answer, Passage, Preview, Quote, RejectedQuote, Timings
from assistant.verification import verify_quotes

#: Best-ranked sentences shown before the model's answer (``stream_answer(preview=True)``).
PREVIEW_SENTENCES = 3
_EMPTY = Context(passage_text="", numbered_text="", sentences=(), passages=())


@dataclass(frozen=True)
class _Reply:
    """What one model call produced."""

    raw: str = ""
    parsed: dict[str, Any] | None = None
    shown: str = ""  # the answer text streamed while the model wrote it
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class _Trace:
    """What one answer recorded on its way to the result (built once, when it ends)."""

    question: str
    language: str
    started: float
    standalone: str | None
    timings: dict[str, float]
    rejected: tuple[RejectedQuote, ...]
    notes: tuple[str, ...]
    prompt_tokens: int
    completion_tokens: int


class Answerer:
    """Answers questions over one index with one model; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        backend: LLMBackend,
        documents: DocumentTexts,
        *,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._settings = settings
        evidence_first = settings.answer_mode == "evidence"
        self._mode = MODES["evidence" if evidence_first else settings.quote_mode]
        #: The fitted answer-or-refuse decision of this answer mode (None: the hand-set gates).
        calibrated = settings.answer_decision == "calibrated"
        decision = load_decision(settings.answer_mode, backend.model) if calibrated else None
        self._judge = Judge(settings, retriever.document_frequency, decision, self._instructions)
        self._follow_ups = FollowUps(settings, backend, retriever.document_frequency)
        self._retriever = retriever
        self._backend = backend
        self._documents = documents
        #: What this assistant owns and :meth:`close` releases (given by its builder).
        self._closers = tuple(closers)

    @property
    def backend(self) -> LLMBackend:
        return self._backend

    def close(self) -> None:
        """Release what this assistant owns: its Chroma client and, when it built its backend,
        the model server; each is opened again if the assistant is used after all."""
        with ExitStack() as stack:  # every one runs, in reverse order, even if one fails
            for close in self._closers:
                stack.callback(close)

    # --- public -----------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        checked = self.check_question(question)
        return list(self._retriever.retrieve(checked, k or self._settings.top_k).passages)

    def answer(self, question: str, *, history: Sequence[Answer] = ()) -> Answer:
        final: Answer | None = None
        for item in self.stream_answer(question, history=history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream_answer(
        self, question: str, *, history: Sequence[Answer] = (), preview: bool = False
    ) -> Iterator[str | Preview | Answer]:
        """Yield text deltas of the answer as the model writes it, then the final Answer
        (``preview``: first a :class:`Preview` of the best-ranked sentences, once known).

        ``history``: the earlier answers of this conversation, oldest first. A question that
        leans on them ("Hoe reageert het kabinet daarop?") is first rewritten into a standalone
        question, which is answered from the documents like any other; both are searched.

        Only answers whose sources verify are streamed. The final Answer is authoritative: when a
        later check refuses (or a repair round replaced the answer), its text is what counts.
        """
        started = time.perf_counter()
        typed = self.check_question(question)
        timings: dict[str, float] = {}
        rejected: list[RejectedQuote] = []
        notes: list[str] = []
        tokens = [0, 0]  # prompt, completion
        standalone = None
        if self.is_follow_up(typed, history):
            mark = time.perf_counter()
            done = self._follow_ups.rewrite(typed, history)
            tokens = [done.prompt_tokens, done.completion_tokens]
            notes.extend([done.note] if done.note else [])
            standalone = self._checked_rewrite(done.question, notes)
            timings["rewrite"] = time.perf_counter() - mark
        checked = standalone or typed
        language = detect_language(checked)

        def trace() -> _Trace:
            return _Trace(
                typed,
                language,
                started,
                standalone,
                dict(timings),
                tuple(rejected),
                tuple(notes),
                *tokens,
            )

        mark = time.perf_counter()
        also = (typed,) if standalone else ()
        retrieval = self._retriever.retrieve(checked, self._settings.top_k, also=also)
        retrieval, texts, dropped = self._pin(retrieval)
        notes.extend(dropped)
        timings["retrieve"] = time.perf_counter() - mark
        minimum = self._settings.refusal_min_similarity
        if retrieval.best_similarity < minimum:
            yield self._refusal(
                trace(),
                retrieval.passages,
                f"no passage is similar enough to the question "
                f"({retrieval.best_similarity:.2f} < {minimum:.2f})",
            )
            return

        ranked: list[Sentence] = []
        if self._settings.answer_mode != "model":
            mark = time.perf_counter()
            ranked = self._rank(checked, retrieval)
            timings["prompt"] = time.perf_counter() - mark
            if preview and self._settings.answer_mode == "evidence":
                best = [Evidence(s.document, s.start, s.end) for s in ranked[:PREVIEW_SENTENCES]]
                yield Preview(tuple(verify_quotes(best, texts)[0]))
        if self._settings.answer_mode == "extractive":
            mark = time.perf_counter()
            decision = self._judge.extract(checked, language, retrieval, ranked, texts)
            rejected.extend(decision.rejected)
            timings["verify"] = time.perf_counter() - mark
            yield from self._conclude(trace(), decision, retrieval.passages)
            return

        mark = time.perf_counter()
        context = self._context(checked, language, retrieval, ranked)
        messages = self._mode.messages(checked, language, context)
        timings["prompt"] = timings.get("prompt", 0.0) + time.perf_counter() - mark
        for sentence in context.withheld:
            notes.append(
                f"withheld from the model, it reads as an instruction to it: "
                f"{sentence.text.strip()[:120]} ({sentence.document})"
            )

        llm_seconds = 0.0
        reply = _Reply()
        evidence: list[Evidence] = []
        for attempt in range(2):  # the first answer and at most one repair round
            mark = time.perf_counter()
            reply = yield from self._call_model(messages, context, texts)
            llm_seconds += time.perf_counter() - mark
            tokens[0] += reply.prompt_tokens
            tokens[1] += reply.completion_tokens
            problem: str | None = "het was geen geldige JSON."
            if reply.parsed is not None:
                evidence, failed = self._mode.evidence(reply.parsed, context, texts)
                rejected.extend(failed)
                problem = _problem(reply.parsed, evidence, failed)
            if problem is None:
                break
            notes.append(f"attempt {attempt + 1}: {problem}")
            if attempt == 0:
                messages = [
                    *messages,
                    ChatMessage(role=MessageRole.ASSISTANT, content=reply.raw or "{}"),
                    ChatMessage(
                        role=MessageRole.USER,
                        content=render(
                            "repair.txt",
                            problem=problem,
                            instruction=self._mode.repair_instruction(context),
                        ),
                    ),
                ]
        timings["llm"] = llm_seconds

        mark = time.perf_counter()
        if reply.parsed is None:
            yield self._refusal(trace(), retrieval.passages, "the model did not return valid JSON")
            return
        if ranked:
            decision = self._judge.evidence(
                checked, language, reply.parsed, evidence, context, ranked, retrieval, texts
            )
        else:
            decision = self._judge.passages(
                checked, language, reply.parsed, evidence, context, texts
            )
        rejected.extend(decision.rejected)
        notes.extend(decision.notes)
        timings["verify"] = time.perf_counter() - mark
        yield from self._conclude(
            trace(), decision, retrieval.passages, context.passages, reply.shown
        )

    def prompt_for(self, question: str) -> list[ChatMessage]:
        """The exact messages the first model call for ``question`` gets (for benchmarks and
        debugging; ``stream_answer`` builds the same)."""
        checked = self.check_question(question)
        language = detect_language(checked)
        retrieval = self._retriever.retrieve(checked, self._settings.top_k)
        ranked = self._rank(checked, retrieval) if self._settings.answer_mode == "evidence" else []
        context = self._context(checked, language, retrieval, ranked)
        return self._mode.messages(checked, language, context)

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema the model's reply is constrained to."""
        return self._mode.schema

    def check_question(self, question: str) -> str:
        """The question, cleaned; QuestionError with a hint when it cannot be asked."""
        return check_question(question, self._settings.question_max_tokens)

    def _checked_rewrite(self, question: str, notes: list[str]) -> str | None:
        try:
            return self.check_question(question)
        except QuestionError:
            notes.append("the rewritten follow-up was not a question; it was answered as typed")
            return None

    def is_follow_up(self, question: str, history: Sequence[Answer]) -> bool:
        """Whether ``question`` leans on the conversation and is rewritten before it is
        answered (decided in code: a standalone question pays nothing)."""
        return self._follow_ups.leans_on(question, history)

    # --- steps ------------------------------------------------------------------------------
    def _context_budget(self, question: str, language: str) -> int:
        fixed = sum(
            count_tokens(str(m.content)) for m in self._mode.messages(question, language, _EMPTY)
        )
        budget = self._settings.llm_context_window - self._settings.llm_max_tokens - fixed - 64
        return max(200, budget)

    def _instructions(self, language: str) -> str:
        """The text of the prompts without question and passages: what must never be echoed."""
        return "\n".join(str(m.content) for m in self._mode.messages("", language, _EMPTY))

    def _pin(self, retrieval: Retrieval) -> tuple[Retrieval, PinnedTexts, list[str]]:
        """Fix the texts of the retrieved documents for this answer; passages whose document an
        ingest removed since retrieval are dropped (and a note says so)."""
        texts, missing = self._documents.pin({p.document for p in retrieval.passages})
        if not missing:
            return retrieval, texts, []
        note = f"left out passages of documents removed meanwhile: {sorted(missing)}"
        kept = tuple(p for p in retrieval.passages if p.document not in missing)
        kept_retrieval = Retrieval(kept, retrieval.best_similarity, retrieval.query_vector)
        return kept_retrieval, texts, [note]

    def _call_model(
        self, messages: list[ChatMessage], context: Context, texts: PinnedTexts
    ) -> Generator[str, None, _Reply]:
        """Stream one model call, yielding the growing ``answer`` field as text deltas; returns
        the whole reply.

        The schema puts the citations before the answer. When the answer starts, the citations
        are complete and are checked first: an answer none of whose sources verify is not
        streamed (it would be replaced by the repair round or a refusal anyway).
        """
        raw = ""
        prompt_tokens = completion_tokens = 0
        shown = ""
        allowed: bool | None = None
        for chunk in self._backend.stream_json(messages, self._mode.schema):
            raw = chunk.text
            if chunk.prompt_tokens:
                prompt_tokens, completion_tokens = chunk.prompt_tokens, chunk.completion_tokens
            partial = _parse(raw, partial=True)
            if not isinstance(partial, dict):
                continue
            text = partial.get("answer")
            if not isinstance(text, str) or not text:
                continue
            if allowed is None:
                evidence, _rejected = self._mode.evidence(partial, context, texts)
                allowed = bool(evidence)
            if allowed and text.startswith(shown) and len(text) > len(shown):
                yield text[len(shown) :]
                shown = text
        parsed = _parse(raw, partial=False)
        if not prompt_tokens:
            prompt_tokens = sum(count_tokens(str(m.content)) for m in messages)
            completion_tokens = count_tokens(raw)
        return _Reply(
            raw=raw,
            parsed=parsed if isinstance(parsed, dict) else None,
            shown=shown,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    def _context(
        self, question: str, language: str, retrieval: Retrieval, ranked: Sequence[Sentence]
    ) -> Context:
        """What the model reads: the best-ranked sentences (evidence mode) or the passages."""
        if ranked:
            settings = self._settings
            return evidence_context(
                ranked,
                retrieval.passages,
                settings.evidence_sentences,
                settings.evidence_budget_tokens,
            )
        return build_context(retrieval.passages, self._context_budget(question, language))

    def _rank(self, question: str, retrieval: Retrieval) -> list[Sentence]:
        vector = retrieval.query_vector or tuple(self._retriever.question_vector(question))
        sentences = split_sentences(retrieval.passages)
        return rank(question, sentences, vector, self._retriever.embed_texts)

    def _conclude(
        self,
        trace: _Trace,
        decision: Judgement,
        retrieved: tuple[Passage, ...],
        used: tuple[Passage, ...] | None = None,
        streamed: str = "",
    ) -> Iterator[str | Answer]:
        """The final answer or the refusal. Text composed in code is streamed first: all of it
        (no model), or what it adds to the ``streamed`` model text (the cited sentences that
        follow a fragment answer), so the deltas still add up to the final text."""
        signals = decision.signals.items() if decision.signals else ()
        if decision.reason is not None:
            yield self._result(
                trace,
                refusal_text(trace.language),
                (),
                retrieved,
                refused=True,
                reason=decision.reason,
                signals=signals,
                probability=decision.probability,
            )
            return
        if used is None:
            yield decision.text
        elif (said := streamed.strip()) and decision.text.startswith(said):
            rest = decision.text[len(said) :]
            if rest:
                yield rest.lstrip() if streamed != streamed.rstrip() else rest
        yield self._result(
            trace,
            decision.text,
            decision.quotes,
            used or retrieved,
            refused=False,
            reason=None,
            signals=signals,
            probability=decision.probability,
        )

    def _refusal(self, trace: _Trace, passages: tuple[Passage, ...], reason: str) -> Answer:
        return self._result(
            trace, refusal_text(trace.language), (), passages, refused=True, reason=reason
        )

    def _result(
        self,
        trace: _Trace,
        text: str,
        quotes: tuple[Quote, ...],
        passages: tuple[Passage, ...],
        *,
        refused: bool,
        reason: str | None,
        signals: tuple[tuple[str, float], ...] = (),
        probability: float | None = None,
    ) -> Answer:
        timings = Timings(
            rewrite=trace.timings.get("rewrite", 0.0),
            retrieve=trace.timings.get("retrieve", 0.0),
            prompt=trace.timings.get("prompt", 0.0),
            llm=trace.timings.get("llm", 0.0),
            verify=trace.timings.get("verify", 0.0),
            total=time.perf_counter() - trace.started,
        )
        return Answer(
            question=trace.question,
            text=text,
            refused=refused,
            quotes=quotes,
            rejected_quotes=trace.rejected,
            passages=passages,
            model=self._backend.model,
            backend=self._backend.name,
            prompt_version=prompt_version(),
            settings_hash=self._settings.hash(),
            timings=timings,
            prompt_tokens=trace.prompt_tokens,
            completion_tokens=trace.completion_tokens,
            refusal_reason=reason,
            language=trace.language,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            notes=trace.notes,
            signals=signals,
            answer_probability=probability,
            standalone_question=trace.standalone,
        )


# --- helpers -------------------------------------------------------------------------------------
def _parse(raw: str, *, partial: bool) -> Any:
    text = raw.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    if not text:
        return None
    try:
        if partial:
            return from_json(text, allow_partial="trailing-strings")
        return json.loads(text)
    except ValueError:
        return None


def _problem(
    parsed: dict[str, Any], evidence: list[Evidence], rejected: list[RejectedQuote]
) -> str | None:
    """Why a reply deserves the repair round, or None when it can be judged as it is.

    Only a reply with no verifiable source at all is sent back: when some quotes verify, the
    failed ones are dropped (and recorded) rather than paying for a second model call.
    """
    answer = str(parsed.get("answer") or "").strip()
    if evidence or not answer:
        return None
    if rejected:
        listed = "; ".join(f"«{r.text[:120]}»" for r in rejected[:3])
        return f"deze bronnen staan niet in de documenten: {listed}."
    return "er staan geen bronnen bij het antwoord."
