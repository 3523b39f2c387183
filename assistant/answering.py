"""answer(): retrieve, prompt, ask the model for a cited answer, verify, decide.

The model is never trusted. It returns JSON (enforced by a JSON schema) with its citations (copied
quotes or sentence numbers, see ``citations.py``) and its answer. Every citation is located in
the source document text and verified there; those that are not are rejected and recorded, and
one repair round tells the model which ones failed. The decision to answer or refuse is made in
code: at least one verified quote, quotes that cover the answer's terms, and figures in the
answer that must stand in the quotes. An empty answer is the model's own way to refuse.
One streaming path serves both ``stream_answer()`` and ``answer()`` (which consumes it).
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from llama_index.core.llms import ChatMessage, MessageRole
from pydantic_core import from_json

from assistant.citations import MODES, Evidence
from assistant.errors import IndexNotReadyError, QuestionError
from assistant.injection import repeats_instructions
from assistant.llm import LLMBackend
from assistant.prompting import (
    Context,
    build_context,
    count_tokens,
    detect_language,
    prompt_version,
    refusal_text,
    render,
)
from assistant.quotes import NormalizedText, locate, snap_to_words
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.settings import Settings
from assistant.types import Answer, Passage, Quote, RejectedQuote, Timings
from ingest.manifest import StoredDocument, read_document_text

#: Question words and generic verbs that say nothing about a question's subject.
_QUESTION_WORDS = (
    "hoeveel welke welk wanneer waarom waardoor waarmee waarover waaraan hoe wat wie waar "
    "hoelang noem geef beschrijf leg uit what which when why how who where many much "
    "een twee drie vier vijf zes zeven acht negen tien"
)
_EMPTY = Context(passage_text="", numbered_text="", sentences=(), passages=())
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass
class _Reply:
    """What one model call produced."""

    raw: str = ""
    parsed: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class _Draft:
    """Mutable state of one answer while it is being made (never leaves this module)."""

    question: str
    language: str
    started: float
    timings: dict[str, float] = field(default_factory=dict)
    rejected: list[RejectedQuote] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    texts: PinnedTexts | None = None  # the document texts this answer is verified against


class Answerer:
    """Answers questions over one index with one model; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        backend: LLMBackend,
        documents: DocumentTexts,
    ) -> None:
        self._settings = settings
        self._mode = MODES[settings.quote_mode]
        self._retriever = retriever
        self._backend = backend
        self._documents = documents

    @property
    def backend(self) -> LLMBackend:
        return self._backend

    # --- public -----------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        checked = self.check_question(question)
        return list(self._retriever.retrieve(checked, k or self._settings.top_k).passages)

    def answer(self, question: str) -> Answer:
        final: Answer | None = None
        for item in self.stream_answer(question):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream_answer(self, question: str) -> Iterator[str | Answer]:
        """Yield text deltas of the answer as the model writes it, then the final Answer.

        Only answers whose sources verify are streamed. The final Answer is authoritative: when a
        later check refuses (or a repair round replaced the answer), its text is what counts.
        """
        started = time.perf_counter()
        checked = self.check_question(question)
        draft = _Draft(question=checked, language=detect_language(checked), started=started)

        mark = time.perf_counter()
        retrieval = self._retriever.retrieve(checked, self._settings.top_k)
        retrieval, texts = self._pin(retrieval, draft)
        draft.timings["retrieve"] = time.perf_counter() - mark
        minimum = self._settings.refusal_min_similarity
        if retrieval.best_similarity < minimum:
            yield self._refusal(
                draft,
                retrieval.passages,
                f"no passage is similar enough to the question "
                f"({retrieval.best_similarity:.2f} < {minimum:.2f})",
            )
            return

        mark = time.perf_counter()
        context = build_context(retrieval.passages, self._context_budget(checked, draft.language))
        messages = self._mode.messages(checked, draft.language, context)
        draft.timings["prompt"] = time.perf_counter() - mark
        for sentence in context.withheld:
            draft.notes.append(
                f"withheld from the model, it reads as an instruction to it: "
                f"{sentence.text.strip()[:120]} ({sentence.document})"
            )

        llm_seconds = 0.0
        reply = _Reply()
        evidence: list[Evidence] = []
        for attempt in range(2):  # the first answer and at most one repair round
            mark = time.perf_counter()
            reply = _Reply()
            yield from self._call_model(messages, reply, context, texts)
            llm_seconds += time.perf_counter() - mark
            draft.prompt_tokens += reply.prompt_tokens
            draft.completion_tokens += reply.completion_tokens
            problem: str | None = "het was geen geldige JSON."
            if reply.parsed is not None:
                evidence, rejected = self._mode.evidence(reply.parsed, context, texts)
                draft.rejected.extend(rejected)
                problem = _problem(reply.parsed, evidence, rejected)
            if problem is None:
                break
            draft.notes.append(f"attempt {attempt + 1}: {problem}")
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
        draft.timings["llm"] = llm_seconds
        yield self._decide(draft, reply, evidence, context, retrieval)

    def prompt_for(self, question: str) -> list[ChatMessage]:
        """The exact messages the first model call for ``question`` gets (for benchmarks and
        debugging; ``stream_answer`` builds the same)."""
        checked = self.check_question(question)
        language = detect_language(checked)
        retrieval = self._retriever.retrieve(checked, self._settings.top_k)
        context = build_context(retrieval.passages, self._context_budget(checked, language))
        return self._mode.messages(checked, language, context)

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema the model's reply is constrained to."""
        return self._mode.schema

    def check_question(self, question: str) -> str:
        """The question, cleaned; QuestionError with a hint when it cannot be asked."""
        if not isinstance(question, str):
            raise QuestionError("The question must be text.")
        cleaned = unicodedata.normalize("NFC", question)
        bad = [ch for ch in cleaned if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r"]
        if bad:
            raise QuestionError(
                "The question contains control characters "
                f"({', '.join(sorted({repr(ch) for ch in bad})[:5])}).",
                hint="Type or paste the question again as plain text.",
            )
        # Invisible format characters (bidi overrides, zero-width spaces, BOM) can disguise what
        # a question says and split words for retrieval; joiners stay (some scripts need them).
        cleaned = "".join(
            ch for ch in cleaned if unicodedata.category(ch) != "Cf" or ch in "\u200c\u200d"
        )
        cleaned = " ".join(cleaned.split())
        if not cleaned:
            raise QuestionError("The question is empty.", hint="Type a question.")
        if not any(ch.isalnum() for ch in cleaned):
            raise QuestionError(
                "The question contains no words (only symbols, emoji or punctuation).",
                hint="Ask the question in words, for example: Wat zegt de ROB over de "
                "dienstverlening?",
            )
        tokens = count_tokens(cleaned)
        if tokens > self._settings.question_max_tokens:
            raise QuestionError(
                f"The question is too long ({tokens} tokens; the limit is "
                f"{self._settings.question_max_tokens}).",
                hint="Ask a shorter question; put long texts in a document and ingest it.",
            )
        return cleaned

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

    def _pin(self, retrieval: Retrieval, draft: _Draft) -> tuple[Retrieval, PinnedTexts]:
        """Fix the texts of the retrieved documents for this answer; passages whose document an
        ingest removed since retrieval are dropped."""
        texts, missing = self._documents.pin({p.document for p in retrieval.passages})
        draft.texts = texts
        if not missing:
            return retrieval, texts
        draft.notes.append(f"left out passages of documents removed meanwhile: {sorted(missing)}")
        kept = tuple(p for p in retrieval.passages if p.document not in missing)
        return Retrieval(passages=kept, best_similarity=retrieval.best_similarity), texts

    def _call_model(
        self, messages: list[ChatMessage], reply: _Reply, context: Context, texts: PinnedTexts
    ) -> Iterator[str]:
        """Stream one model call, yielding the growing ``answer`` field as text deltas.

        The schema puts the citations before the answer. When the answer starts, the citations
        are complete and are checked first: an answer none of whose sources verify is not
        streamed (it would be replaced by the repair round or a refusal anyway).
        """
        shown = ""
        allowed: bool | None = None
        for chunk in self._backend.stream_json(messages, self._mode.schema):
            reply.raw = chunk.text
            if chunk.prompt_tokens:
                reply.prompt_tokens = chunk.prompt_tokens
                reply.completion_tokens = chunk.completion_tokens
            partial = _parse(reply.raw, partial=True)
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
        parsed = _parse(reply.raw, partial=False)
        reply.parsed = parsed if isinstance(parsed, dict) else None
        if not reply.prompt_tokens:
            reply.prompt_tokens = sum(count_tokens(str(m.content)) for m in messages)
            reply.completion_tokens = count_tokens(reply.raw)

    def _decide(
        self,
        draft: _Draft,
        reply: _Reply,
        evidence: list[Evidence],
        context: Context,
        retrieval: Retrieval,
    ) -> Answer:
        mark = time.perf_counter()
        parsed = reply.parsed
        if parsed is None:
            return self._refusal(draft, retrieval.passages, "the model did not return valid JSON")
        text = str(parsed.get("answer") or "").strip()
        assert draft.texts is not None
        supporting, coverage = self._support(evidence, context, text, draft)
        quotes, rejected = self._verify(supporting, draft.texts)
        draft.rejected.extend(rejected)
        draft.timings["verify"] = time.perf_counter() - mark
        reason = None
        if not text:
            reason = "the model found no answer in the passages"
        elif repeats_instructions(text, self._instructions(draft.language)):
            reason = "the answer repeats the assistant's own instructions"
        elif not quotes:
            reason = "no verified quote supports the answer"
        elif coverage < self._settings.min_answer_support:
            reason = f"the quotes cover only {coverage:.0%} of the answer's terms"
        else:
            sources = " ".join(q.text for q in quotes) + " " + draft.question
            unsupported = _unsupported_figures(text, sources)
            missing = self._missing_focus(draft, quotes)
            if unsupported:
                reason = f"the answer states figures not in the quotes: {', '.join(unsupported)}"
            elif missing:
                reason = f"the quotes do not mention what the question is about ({missing})"
        if reason is not None:
            if text and not reason.startswith("the answer repeats"):
                draft.notes.append(f"draft answer: {text}")
            return self._refusal(draft, retrieval.passages, reason)
        return self._result(
            draft, text, tuple(quotes), context.passages, refused=False, reason=None
        )

    def _support(
        self, evidence: list[Evidence], context: Context, answer: str, draft: _Draft
    ) -> tuple[list[Evidence], float]:
        """The cited spans that support the answer, and the share of its terms they cover.

        A citation that shares no term with the answer is rejected (recorded). When the
        citations cover too little of the answer, the context sentences that best match it are
        added: the model's citations are a hint, the support is checked in code. English answers
        over Dutch sources share few words, so there the citations are taken as they are.
        """
        terms = _terms(answer)
        if draft.language == "en" or not terms:
            return evidence, 1.0
        assert draft.texts is not None
        texts = draft.texts
        supported: list[Evidence] = []
        covered: set[str] = set()
        for item in evidence:
            text = texts.get(item.document).text.text[item.start : item.end]
            shared = _terms(text) & terms
            if shared:
                supported.append(item)
                covered |= shared
            else:
                draft.rejected.append(
                    RejectedQuote(
                        text.strip(), "cited, but shares no term with the answer", item.document
                    )
                )
        if len(covered) / len(terms) < self._settings.min_answer_support:
            ranked = sorted(
                context.sentences,
                key=lambda s: len(_terms(s.text) & (terms - covered)),
                reverse=True,
            )
            for sentence in ranked[:3]:
                gain = _terms(sentence.text) & (terms - covered)
                if len(gain) >= 2:
                    supported.append(Evidence(sentence.document, sentence.start, sentence.end))
                    covered |= gain
                    draft.notes.append(
                        f"added a context sentence that supports the answer: "
                        f"{sentence.text.strip()[:80]}"
                    )
        return supported, len(covered) / len(terms)

    def _missing_focus(self, draft: _Draft, quotes: list[Quote]) -> str:
        """The question's distinctive terms when none of them occurs in the quotes, else "".

        Distinctive: rarer than ``focus_max_frequency`` in the index (so "kabinet", which is in
        every other passage, does not count), question words and numerals left out. One of them
        (or a compound that starts with it) must be in the quotes. English questions over Dutch
        text are skipped.
        """
        if draft.language == "en":
            return ""
        limit = self._settings.focus_max_frequency
        frequency = self._retriever.document_frequency
        focus = {t for t in _terms(draft.question) - _question_terms() if frequency(t) < limit}
        if not focus:
            return ""
        quoted = set().union(*(_terms(q.text) for q in quotes))
        if any(_related(term, word) for term in focus for word in quoted):
            return ""
        return ", ".join(sorted(focus))

    def _verify(
        self, evidence: list[Evidence], texts: PinnedTexts
    ) -> tuple[list[Quote], list[RejectedQuote]]:
        """Turn cited spans into quotes, each verified against the stored document text."""
        spans: list[tuple[str, int, int]] = []
        for item in sorted(set(evidence), key=lambda e: (e.document, e.start)):
            if spans and spans[-1][0] == item.document:
                document, start, end = spans[-1]
                if item.start - end <= 2:  # adjacent or overlapping spans make one quote
                    spans[-1] = (document, start, max(end, item.end))
                    continue
            spans.append((item.document, item.start, item.end))
        quotes: list[Quote] = []
        rejected: list[RejectedQuote] = []
        for document_id, start, end in spans:
            stored = texts.get(document_id)
            candidate = stored.text.text[start:end].strip()
            span = locate(candidate, texts.normalized(document_id), near=start)
            if span is not None:
                span = snap_to_words(stored.text.text, span)
            if span is None:
                rejected.append(
                    RejectedQuote(candidate, "not found verbatim in the document", document_id)
                )
                continue
            quotes.append(
                Quote(
                    text=stored.text.text[span.start : span.end],
                    document=document_id,
                    title=stored.title,
                    page=stored.text.page_at(span.start),
                    start=span.start,
                    end=span.end,
                    source=stored.source,
                    heading=stored.text.heading_at(span.start),
                )
            )
        return quotes, rejected

    def _refusal(self, draft: _Draft, passages: tuple[Passage, ...], reason: str) -> Answer:
        return self._result(
            draft, refusal_text(draft.language), (), passages, refused=True, reason=reason
        )

    def _result(
        self,
        draft: _Draft,
        text: str,
        quotes: tuple[Quote, ...],
        passages: tuple[Passage, ...],
        *,
        refused: bool,
        reason: str | None,
    ) -> Answer:
        total = time.perf_counter() - draft.started
        timings = Timings(
            retrieve=draft.timings.get("retrieve", 0.0),
            prompt=draft.timings.get("prompt", 0.0),
            llm=draft.timings.get("llm", 0.0),
            verify=draft.timings.get("verify", 0.0),
            total=total,
        )
        return Answer(
            question=draft.question,
            text=text,
            refused=refused,
            quotes=quotes,
            rejected_quotes=tuple(draft.rejected),
            passages=passages,
            model=self._backend.model,
            backend=self._backend.name,
            prompt_version=prompt_version(),
            settings_hash=self._settings.hash(),
            timings=timings,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
            refusal_reason=reason,
            language=draft.language,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            notes=tuple(draft.notes),
        )


class DocumentTexts:
    """Clean document texts (what quotes are verified against), read from the index's
    ``documents/`` folder and cached while the file stays the same (an ingest may replace it)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cache: dict[str, tuple[tuple[int, int], StoredDocument, NormalizedText]] = {}
        self._lock = threading.Lock()

    def get(self, document_id: str) -> StoredDocument:
        return self._entry(document_id)[0]

    def normalized(self, document_id: str) -> NormalizedText:
        return self._entry(document_id)[1]

    def pin(self, document_ids: set[str]) -> tuple[PinnedTexts, set[str]]:
        """The current texts of these documents, fixed for one answer, and the ids whose text is
        gone (removed by an ingest since the passages were retrieved)."""
        texts: dict[str, tuple[StoredDocument, NormalizedText]] = {}
        missing: set[str] = set()
        for document_id in sorted(document_ids):
            try:
                texts[document_id] = self._entry(document_id)
            except IndexNotReadyError:
                missing.add(document_id)
        return PinnedTexts(texts), missing

    def _entry(self, document_id: str) -> tuple[StoredDocument, NormalizedText]:
        path = self._directory / f"{document_id}.json"
        try:
            status = path.stat()
            version = (status.st_mtime_ns, status.st_size)
        except FileNotFoundError:
            version = (0, 0)  # read_document_text below says what is missing and what to do
        with self._lock:
            cached = self._cache.get(document_id)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        stored = read_document_text(self._directory, document_id)
        normalized = NormalizedText(stored.text.text)
        with self._lock:
            self._cache[document_id] = (version, stored, normalized)
        return stored, normalized


@dataclass(frozen=True)
class PinnedTexts:
    """The document texts one answer reads and verifies against, whatever an ingest does
    meanwhile."""

    texts: dict[str, tuple[StoredDocument, NormalizedText]]

    def get(self, document_id: str) -> StoredDocument:
        return self.texts[document_id][0]

    def normalized(self, document_id: str) -> NormalizedText:
        return self.texts[document_id][1]


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


def _unsupported_figures(answer: str, sources: str) -> list[str]:
    """Numbers in the answer (amounts, years, counts) that stand nowhere in the sources."""
    available = {f.replace(".", "").replace(",", "") for f in _FIGURE.findall(sources)}
    missing = []
    for figure in _FIGURE.findall(answer):
        if figure.replace(".", "").replace(",", "") not in available:
            missing.append(figure)
    return missing


@cache
def _stem_tools() -> tuple[Any, frozenset[str], frozenset[str]]:
    import Stemmer
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return Stemmer.Stemmer("dutch"), frozenset(STOPWORDS_DUTCH), frozenset(STOPWORDS_EN)


def _related(a: str, b: str) -> bool:
    """Same stem, or one is the start of the other (Dutch compounds: casus/casusstudies)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 5 and long.startswith(short)


@cache
def _question_terms() -> frozenset[str]:
    stemmer, _dutch, _english = _stem_tools()
    return frozenset(stemmer.stemWords(_QUESTION_WORDS.split()))


def _terms(text: str) -> set[str]:
    """Stemmed content words of a text (Dutch stemmer; stopwords of Dutch and English out)."""
    stemmer, dutch, english = _stem_tools()
    words = [w.lower() for w in _WORD.findall(text)]
    return set(stemmer.stemWords([w for w in words if w not in dutch and w not in english]))


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
