"""How the model cites its sources: two modes behind one small interface.

- ``verbatim``: the model copies the supporting sentences into ``quotes`` and then answers.
  Every copied quote is searched in the source documents; one that is not there verbatim
  (modulo whitespace and quote marks) is rejected and reported back in the repair round.
- ``sentences``: the context is given as numbered sentences and the model cites their numbers;
  a cited number maps to the exact source span, so quotes are verbatim by construction.
- ``evidence``: like ``sentences``, but over the best-ranked sentences only (evidence first,
  ``answer_mode=evidence``), with the model's own ``answerable`` as a signal of the decision.

Both produce :class:`Evidence` (document spans) for the verifier; neither trusts the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from llama_index.core.llms import ChatMessage, MessageRole

from assistant.prompting import Context, language_name, render
from assistant.quotes import NormalizedText, locate
from assistant.types import RejectedQuote

MAX_CITED = 5


@dataclass(frozen=True)
class Evidence:
    """A span of a source document the model cited."""

    document: str
    start: int
    end: int


class Documents(Protocol):
    """What a citation mode needs to look quotes up in the source texts."""

    def normalized(self, document_id: str) -> NormalizedText: ...


class CitationMode(Protocol):
    """One way of asking the model for cited answers."""

    name: str
    schema: dict[str, Any]

    def messages(self, question: str, language: str, context: Context) -> list[ChatMessage]: ...

    def evidence(
        self, reply: dict[str, Any], context: Context, documents: Documents
    ) -> tuple[list[Evidence], list[RejectedQuote]]: ...

    def repair_instruction(self, context: Context) -> str: ...


def _messages(prefix: str, question: str, language: str, context_text: str) -> list[ChatMessage]:
    name = language_name(language)
    return [
        ChatMessage(role=MessageRole.SYSTEM, content=render(f"{prefix}_system.txt", language=name)),
        ChatMessage(
            role=MessageRole.USER,
            content=render(
                f"{prefix}_user.txt", context=context_text, question=question, language=name
            ),
        ),
    ]


def _schema(
    citations: str, item: dict[str, Any], *, max_items: int, judged: bool = False
) -> dict[str, Any]:
    """The reply's JSON schema: a list of citations, then the answer, and nothing else
    (``judged``: between them the model's own ``answerable``, a signal of the decision).

    The model writes the fields in this order, citations first: the streaming code relies on it.
    """
    # After the citations: a small model that must judge before it has chosen sentences says
    # "no" to questions its own answer then answers.
    judgement: dict[str, Any] = {"answerable": {"type": "boolean"}} if judged else {}
    return {
        "type": "object",
        "properties": {
            citations: {"type": "array", "items": item, "maxItems": max_items},
            **judgement,
            # Bounded so the grammar closes the JSON before llm_max_tokens runs out: 3 x 400 +
            # 700 characters is about 500 tokens of Dutch. Longer values truncated the JSON.
            "answer": {"type": "string", "maxLength": 700},
        },
        "required": [citations, *judgement, "answer"],
        "additionalProperties": False,
    }


class VerbatimQuotes:
    """The model copies sentences; the code checks each copy against the documents."""

    name = "verbatim"
    schema = _schema("quotes", {"type": "string", "maxLength": 400}, max_items=3)

    def messages(self, question: str, language: str, context: Context) -> list[ChatMessage]:
        return _messages("quotes", question, language, context.passage_text)

    def evidence(
        self, reply: dict[str, Any], context: Context, documents: Documents
    ) -> tuple[list[Evidence], list[RejectedQuote]]:
        found: list[Evidence] = []
        rejected: list[RejectedQuote] = []
        quotes = reply.get("quotes") or []
        for quote in quotes[:MAX_CITED] if isinstance(quotes, list) else []:
            if not isinstance(quote, str) or not quote.strip():
                continue
            span = None
            for passage in context.passages:  # the retrieved documents, best first
                span = locate(quote, documents.normalized(passage.document), near=passage.start)
                if span is not None:
                    found.append(Evidence(passage.document, span.start, span.end))
                    break
            if span is None:
                rejected.append(RejectedQuote(quote, "not found verbatim in the source documents"))
        return found, rejected

    def repair_instruction(self, context: Context) -> str:
        return (
            'Kopieer in "quotes" alleen zinnen die letterlijk, teken voor teken, in de passages '
            "staan."
        )


class NumberedSentences:
    """The model cites sentence numbers; each number is an exact source span."""

    name = "sentences"
    schema = _schema("sentence_ids", {"type": "integer", "minimum": 1}, max_items=MAX_CITED)

    def messages(self, question: str, language: str, context: Context) -> list[ChatMessage]:
        return _messages("sentences", question, language, context.numbered_text)

    def evidence(
        self, reply: dict[str, Any], context: Context, documents: Documents
    ) -> tuple[list[Evidence], list[RejectedQuote]]:
        found: list[Evidence] = []
        rejected: list[RejectedQuote] = []
        for sentence_id in dict.fromkeys(_ids(reply)):
            sentence = context.sentence(sentence_id)
            if sentence is None:
                rejected.append(RejectedQuote(f"S{sentence_id}", "no such sentence in the context"))
            else:
                found.append(Evidence(sentence.document, sentence.start, sentence.end))
        return found, rejected

    def repair_instruction(self, context: Context) -> str:
        return (
            f'Gebruik in "sentence_ids" alleen nummers die hierboven staan (1 tot en met '
            f"{len(context.sentences)})."
        )


class EvidenceSentences(NumberedSentences):
    """Evidence first: the model gets only the best-ranked sentences (``evidence.py``), numbered
    in rank order, says whether they answer the question, cites their numbers and answers."""

    name = "evidence"
    schema = _schema(
        "sentence_ids", {"type": "integer", "minimum": 1}, max_items=MAX_CITED, judged=True
    )

    def messages(self, question: str, language: str, context: Context) -> list[ChatMessage]:
        # The system prompt is the same for every question, so llama.cpp reuses its cache.
        return [
            ChatMessage(role=MessageRole.SYSTEM, content=render("evidence_system.txt")),
            ChatMessage(
                role=MessageRole.USER,
                content=render(
                    "evidence_user.txt",
                    context=context.numbered_text,
                    question=question,
                    language=language_name(language),
                ),
            ),
        ]


def _ids(reply: dict[str, Any]) -> list[int]:
    values = reply.get("sentence_ids") or []
    ids: list[int] = []
    for value in values[:MAX_CITED] if isinstance(values, list) else []:
        if isinstance(value, int) and not isinstance(value, bool):
            ids.append(value)
        elif isinstance(value, str) and value.strip().lstrip("Ss").isdigit():
            ids.append(int(value.strip().lstrip("Ss")))
    return ids


MODES: dict[str, CitationMode] = {
    "verbatim": VerbatimQuotes(),
    "sentences": NumberedSentences(),
    "evidence": EvidenceSentences(),
}
