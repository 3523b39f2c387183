"""Evidence first: the sentences of the retrieved passages, ranked against the question.

The answer's quality should come from choosing the right sentences, not from hoping the model
copies them. Each passage is split into paragraphs (a heading is a paragraph of its own: headings
carry recommendations and the names of measures) and those into sentences; each sentence is
scored as ``cosine(question, sentence) + TERM_WEIGHT x share of the question's distinctive terms
it contains`` (the formula of ``shared/notes/evidence-first-probe.md``). The dense part uses the
index's own embedder, the term part the stems BM25 uses (``assistant.core.text``).

Used by ``answer_mode=evidence`` (the model gets only the best sentences, numbered in rank
order: a prompt of a few hundred tokens instead of 2,300) and ``answer_mode=extractive`` (the
best sentences are the answer, no model), which is the floor every model answer must beat and
the fast option for a weak machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.text import count_tokens, sentence_spans, terms
from assistant.grounding import question_terms
from assistant.injection import addresses_the_model
from assistant.prompting import Context
from assistant.prompting import Sentence as NumberedSentence
from assistant.types import Passage

#: Weight of the share of the question's terms in a sentence's score.
TERM_WEIGHT = 0.5
#: Sentences shorter than this many words are left out unless they are a heading.
MIN_WORDS = 4


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage, where it stands in its document, and its scores."""

    document: str
    start: int
    end: int
    text: str
    passage: int  # index of its passage in the retrieval
    heading: bool
    dense: float = 0.0
    overlap: float = 0.0

    @property
    def score(self) -> float:
        return self.dense + TERM_WEIGHT * self.overlap


def split_sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """The sentences of the passages, in order, without repeats (passages overlap)."""
    found: list[Sentence] = []
    seen: set[tuple[str, int]] = set()
    for number, passage in enumerate(passages):
        offset = 0
        for paragraph in passage.text.split("\n\n"):
            heading = passage.heading is not None and paragraph.strip() == passage.heading.strip()
            for start, end in sentence_spans(paragraph):
                text = paragraph[start:end].strip()
                words = len(text.split())
                if not text or (words < MIN_WORDS and not heading):
                    continue
                absolute = passage.start + offset + paragraph.index(text, start)
                key = (passage.document, absolute)
                if key in seen:
                    continue
                seen.add(key)
                end = absolute + len(text)
                found.append(Sentence(passage.document, absolute, end, text, number, heading))
            offset += len(paragraph) + 2
    return found


def rank(
    question: str,
    sentences: Sequence[Sentence],
    question_vector: Sequence[float],
    embed: Callable[[list[str]], list[list[float]]],
) -> list[Sentence]:
    """``sentences`` scored against the question, best first."""
    if not sentences:
        return []
    wanted = terms(question) - question_terms()
    vectors = embed([s.text for s in sentences])
    scored = [
        Sentence(
            s.document,
            s.start,
            s.end,
            s.text,
            s.passage,
            s.heading,
            dense=_cosine(question_vector, vector),
            overlap=len(terms(s.text) & wanted) / len(wanted) if wanted else 0.0,
        )
        for s, vector in zip(sentences, vectors, strict=True)
    ]
    return sorted(scored, key=lambda s: s.score, reverse=True)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def choose(ranked: Sequence[Sentence], most: int, *, margin: float = 0.1) -> list[Sentence]:
    """The best sentence and up to ``most - 1`` others scoring within ``margin`` of it, in
    document order (a list or an explanation often runs over two sentences)."""
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best, *[s for s in ranked[1:] if s.score >= best.score - margin][: most - 1]]
    return sorted(chosen, key=lambda s: (s.document, s.start))


def evidence_context(
    ranked: Sequence[Sentence], passages: Sequence[Passage], most: int, budget_tokens: int
) -> Context:
    """The ``most`` best-ranked sentences, numbered 1.. in rank order, while they fit in the
    budget: the whole context the model gets in ``answer_mode=evidence``.

    A heading is marked as such (it often *is* the answer: a recommendation, a measure); a
    sentence addressed to the model (``injection.py``) is withheld.
    """
    numbered: list[NumberedSentence] = []
    withheld: list[NumberedSentence] = []
    lines: list[str] = []
    spent = 0
    full = False
    for sentence in ranked:
        text = " ".join(sentence.text.split())
        item = NumberedSentence(
            id=len(numbered) + 1,
            passage=sentence.passage + 1,
            document=sentence.document,
            start=sentence.start,
            end=sentence.end,
            text=sentence.text,
        )
        if addresses_the_model(text):
            # Every such sentence of the passages is recorded, also below the cut-off: the
            # answer's notes say the documents held instructions to the assistant.
            withheld.append(item)
            continue
        if full:
            continue
        line = f"[{item.id}] {'(kop) ' if sentence.heading else ''}{text}"
        cost = count_tokens(line) + 1
        if numbered and spent + cost > budget_tokens:
            full = True
            continue
        numbered.append(item)
        lines.append(line)
        spent += cost
        full = len(numbered) >= most
    used = sorted({s.passage for s in numbered})
    return Context(
        passage_text="",
        numbered_text="\n".join(lines),
        sentences=tuple(numbered),
        passages=tuple(passages[number - 1] for number in used),
        withheld=tuple(withheld),
    )
