"""The grounding policy: which cited spans support an answer, and whether the answer may stand.

Every function takes plain values and returns plain values; the orchestration in
``answering.py`` records what they reject. Terms are Dutch Snowball stems from
``assistant.core.text``, the same stems BM25 indexes, so a question term's document frequency
can be asked of the BM25 index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from assistant.citations import Evidence
from assistant.core.text import stem_words, terms
from assistant.documents import PinnedTexts
from assistant.prompting import Context
from assistant.types import Quote, RejectedQuote

#: Question words and generic verbs that say nothing about a question's subject.
_QUESTION_WORDS = (
    "hoeveel welke welk wanneer waarom waardoor waarmee waarover waaraan hoe wat wie waar "
    "hoelang noem geef beschrijf leg uit what which when why how who where many much "
    "een twee drie vier vijf zes zeven acht negen tien"
)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Support:
    """The cited spans that support an answer, the share of its terms they cover, and what was
    set aside on the way."""

    evidence: tuple[Evidence, ...]
    coverage: float
    rejected: tuple[RejectedQuote, ...] = ()
    notes: tuple[str, ...] = ()


def support(
    evidence: Sequence[Evidence],
    context: Context,
    answer: str,
    language: str,
    texts: PinnedTexts,
    min_support: float,
) -> Support:
    """The cited spans that support the answer, and the share of its terms they cover.

    A citation that shares no term with the answer is rejected (recorded). When the
    citations cover too little of the answer, the context sentences that best match it are
    added: the model's citations are a hint, the support is checked in code. English answers
    over Dutch sources share few words, so there the citations are taken as they are.
    """
    wanted = terms(answer)
    if language == "en" or not wanted:
        return Support(tuple(evidence), 1.0)
    supported: list[Evidence] = []
    rejected: list[RejectedQuote] = []
    notes: list[str] = []
    covered: set[str] = set()
    for item in evidence:
        text = texts.get(item.document).text.text[item.start : item.end]
        shared = terms(text) & wanted
        if shared:
            supported.append(item)
            covered |= shared
        else:
            rejected.append(
                RejectedQuote(
                    text.strip(), "cited, but shares no term with the answer", item.document
                )
            )
    if len(covered) / len(wanted) < min_support:
        ranked = sorted(
            context.sentences,
            key=lambda s: len(terms(s.text) & (wanted - covered)),
            reverse=True,
        )
        for sentence in ranked[:3]:
            gain = terms(sentence.text) & (wanted - covered)
            if len(gain) >= 2:
                supported.append(Evidence(sentence.document, sentence.start, sentence.end))
                covered |= gain
                notes.append(
                    f"added a context sentence that supports the answer: "
                    f"{sentence.text.strip()[:80]}"
                )
    return Support(tuple(supported), len(covered) / len(wanted), tuple(rejected), tuple(notes))


def missing_focus(
    question: str,
    quotes: Sequence[Quote],
    language: str,
    frequency: Callable[[str], float],
    limit: float,
) -> str:
    """The question's distinctive terms when none of them occurs in the quotes, else "".

    Distinctive: rarer than ``limit`` in the index (so "kabinet", which is in every other
    passage, does not count), question words and numerals left out. One of them (or a compound
    that starts with it) must be in the quotes. English questions over Dutch text are skipped.
    """
    if language == "en":
        return ""
    focus = {t for t in terms(question) - question_terms() if frequency(t) < limit}
    if not focus:
        return ""
    quoted = set().union(*(terms(q.text) for q in quotes))
    if any(related_terms(term, word) for term in focus for word in quoted):
        return ""
    return ", ".join(sorted(focus))


def unsupported_figures(answer: str, sources: str) -> list[str]:
    """Numbers in the answer (amounts, years, counts) that stand nowhere in the sources."""
    available = {f.replace(".", "").replace(",", "") for f in _FIGURE.findall(sources)}
    missing = []
    for figure in _FIGURE.findall(answer):
        if figure.replace(".", "").replace(",", "") not in available:
            missing.append(figure)
    return missing


def refusal_reason(
    *,
    text: str,
    repeats_instructions: bool,
    quotes: Sequence[Quote],
    coverage: float,
    min_support: float,
    question: str,
    language: str,
    frequency: Callable[[str], float],
    focus_limit: float,
) -> str | None:
    """Why the answer must be refused, or None when it may stand."""
    if not text:
        return "the model found no answer in the passages"
    if repeats_instructions:
        return "the answer repeats the assistant's own instructions"
    if not quotes:
        return "no verified quote supports the answer"
    if coverage < min_support:
        return f"the quotes cover only {coverage:.0%} of the answer's terms"
    sources = " ".join(q.text for q in quotes) + " " + question
    unsupported = unsupported_figures(text, sources)
    if unsupported:
        return f"the answer states figures not in the quotes: {', '.join(unsupported)}"
    missing = missing_focus(question, quotes, language, frequency, focus_limit)
    if missing:
        return f"the quotes do not mention what the question is about ({missing})"
    return None


def related_terms(a: str, b: str) -> bool:
    """Same stem, or one is the start of the other (Dutch compounds: casus/casusstudies)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 5 and long.startswith(short)


@cache
def question_terms() -> frozenset[str]:
    return frozenset(stem_words(_QUESTION_WORDS.split()))
