"""The typed, immutable results the public API returns (the UI and the evals only read these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of a document, with where it stands in the document's clean text."""

    text: str
    document: str
    title: str
    score: float
    start: int
    end: int
    page: int | None = None
    heading: str | None = None
    chunk_id: str = ""
    source: str = ""


@dataclass(frozen=True)
class Quote:
    """A verified quote: ``text`` is exactly ``clean_text[start:end]`` of ``document``, and it
    stands as one contiguous passage ``[source_start, source_end)`` of the document's source
    text (the text as extracted from the file; see ``assistant/index/source.py``)."""

    text: str
    document: str
    title: str
    page: int | None
    start: int
    end: int
    source: str = ""
    heading: str | None = None  # the section the quote stands in, where the document has them
    source_start: int | None = None
    source_end: int | None = None
    #: The quote stands in a footnote of the document.
    footnote: bool = False
    #: The quote's page was read by OCR from a scan: the reader should know it is machine-read.
    machine_read: bool = False
    #: Labelled facts about the document shown with the quote (an e-mail's sender and date).
    details: tuple[tuple[str, str], ...] = ()
    #: SHA-256 of the document's source text the quote was proven against (``""``: unknown), so
    #: an export can be checked later against the index (``assistant/reverify.py``).
    document_sha256: str = ""

    @property
    def written_by(self) -> tuple[str, ...]:
        """An e-mail's sender and date, where the document has them: who wrote this, and when."""
        details = dict(self.details)
        return tuple(details[k] for k in ("Van", "Datum") if k in details)


@dataclass(frozen=True)
class RejectedQuote:
    """A citation the model gave that failed verification; never shown as a quote."""

    text: str
    reason: str
    document: str | None = None


@dataclass(frozen=True)
class Preview:
    """The best-ranked sentences for a question, verified like quotes, known before the model
    answers (``stream_answer(..., preview=True)`` yields it first): something to read while
    the answer is written. Not the answer's quotes: those come with the final Answer."""

    quotes: tuple[Quote, ...]


@dataclass(frozen=True)
class Timings:
    """Seconds spent per stage of one answer (``rewrite``: making a follow-up standalone)."""

    rewrite: float = 0.0
    retrieve: float = 0.0
    prompt: float = 0.0
    llm: float = 0.0
    verify: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class Answer:
    """One answer with its full provenance. ``refused`` answers carry no quotes; their
    ``passages`` are the "possibly relevant" ones."""

    question: str
    text: str
    refused: bool
    quotes: tuple[Quote, ...]
    rejected_quotes: tuple[RejectedQuote, ...]
    passages: tuple[Passage, ...]
    model: str
    backend: str
    prompt_version: str
    settings_hash: str
    timings: Timings
    prompt_tokens: int = 0
    completion_tokens: int = 0
    refusal_reason: str | None = None
    language: str = "nl"
    created_at: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The measured signals the answer-or-refuse decision weighed (``assistant/decision.py``).
    signals: tuple[tuple[str, float], ...] = ()
    #: The calibrated probability that the documents answer the question (None: no fitted
    #: decision ran, or the question was refused before it).
    answer_probability: float | None = None
    #: The question as the assistant understood it, when that differs from what was typed: a
    #: follow-up rewritten with the conversation ("Hoe reageert het kabinet daarop?" ->
    #: "Hoe reageert het kabinet op de hoofdaanbeveling van de Rli?").
    standalone_question: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready provenance of this answer."""
        return asdict(self)
