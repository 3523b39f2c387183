"""The answer-or-refuse decision: measured signals in, one calibrated probability out.

The hand-set gates of ``grounding.py`` (term coverage, focus terms, figures) each cost answers
without catching inventions. Here every such heuristic is a *signal* (a number), and one
logistic regression, fitted on the dev split of the reference set by ``python -m evals.calibrate``
(scikit-learn), turns them into the probability that the question can be answered from the
documents. The threshold is chosen there for a stated false-refusal rate on dev; the fitted
weights live in ``assistant/decisions/`` (one file per answer mode and model, see
:func:`decision_file`), read here without scikit-learn.

A refusal's reason names the signal that pulled the probability down most.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path

from assistant.core.errors import ConfigurationError
from assistant.core.i18n import _
from assistant.core.text import terms
from assistant.evidence import Sentence
from assistant.grounding import missing_focus, question_terms, unsupported_figures
from assistant.types import Quote

DECISIONS_DIR = Path(__file__).resolve().parent / "decisions"

# What a question asks FOR (shared/notes/evidence-first-probe.md): an amount, a date, a count.
_ASKS_AMOUNT = re.compile(
    r"\b(hoeveel (geld|euro)|welk bedrag|hoe ?veel kost|budget|bedrag|how much (money)?|"
    r"what amount|cost)\b",
    re.IGNORECASE,
)
_ASKS_DATE = re.compile(
    r"\b(wanneer|sinds wanneer|in welk jaar|welk jaar|per wanneer|datum|when|what year|"
    r"which year|since when)\b",
    re.IGNORECASE,
)
_ASKS_COUNT = re.compile(r"\b(hoeveel|how many|aantal|number of)\b", re.IGNORECASE)
_AMOUNT = re.compile(r"(€|\beuro\b|\bmiljoen\b|\bmiljard\b|\bmln\b|\bmld\b)", re.IGNORECASE)
_MONTHS = "januari februari maart april mei juni juli augustus september oktober november december"
_DATE = re.compile(rf"\b(1[89]\d\d|20\d\d|{'|'.join(_MONTHS.split())})\b", re.IGNORECASE)
_COUNT = re.compile(
    r"\b(\d+|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|twintig|honderd|"
    r"duizend)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Signals:
    """What the decision weighs, each a number measured on this question and its evidence."""

    #: Cosine of the question and the most similar chunk of the whole index.
    retrieval_similarity: float = 0.0
    #: Cosine of the question and the best-ranked sentence.
    best_dense: float = 0.0
    #: Share of the question's distinctive terms in the best of the three top-ranked sentences.
    best_overlap: float = 0.0
    #: The same share in the best sentence the answer cites.
    cited_overlap: float = 0.0
    #: 1 when a rare term of the question (its focus) stands in the cited sentences.
    focus_found: float = 0.0
    #: 1 when the question asks for an amount, a date or a count ...
    type_asked: float = 0.0
    #: ... and 1 when the cited sentences hold one (0 when none was asked for).
    type_found: float = 0.0
    #: 1 when the question is in English (Dutch sources share few of its words).
    english: float = 0.0
    #: The model's own ``answerable`` (1 in extractive mode: there is no model).
    model_answerable: float = 1.0
    #: 1 / rank of the best-ranked sentence the answer cites (1: it cites the top sentence).
    cited_rank: float = 0.0
    #: 1 when the model's answer states figures that are not in its cited sentences.
    unsupported_figures: float = 0.0

    def items(self) -> tuple[tuple[str, float], ...]:
        return tuple((name, round(float(value), 4)) for name, value in asdict(self).items())


SIGNAL_NAMES = tuple(f.name for f in fields(Signals))

#: What a low value of each signal means, for the refusal reason.
_LOW = {
    "retrieval_similarity": "no chunk of the documents is close to the question",
    "best_dense": "no sentence is close in meaning to the question",
    "best_overlap": "the best sentences hold few of the question's distinctive terms",
    "cited_overlap": "the cited sentences hold few of the question's distinctive terms",
    "focus_found": "the cited sentences do not mention what the question is about",
    "type_found": "the question asks for an amount, date or count the sentences do not hold",
    "model_answerable": "the model found no answer in the sentences",
    "cited_rank": "the model cites none of the best-ranked sentences",
    "english": "an English question",
    "type_asked": "the kind of fact the question asks for",
    "unsupported_figures": "the model's answer states figures its sentences do not hold",
}


def asks_for(question: str) -> str | None:
    """The kind of fact the question asks for: "amount", "date", "count", or None."""
    if _ASKS_AMOUNT.search(question):
        return "amount"
    if _ASKS_DATE.search(question):
        return "date"
    if _ASKS_COUNT.search(question):
        return "count"
    return None


def holds(kind: str | None, text: str) -> bool:
    """Whether ``text`` holds a fact of that kind (an amount needs a figure and a currency)."""
    if kind == "amount":
        return bool(_AMOUNT.search(text)) and bool(re.search(r"\d", text))
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "count":
        return bool(_COUNT.search(text))
    return False


@dataclass(frozen=True)
class Verdict:
    """The decision on one answer: the probability, and why it refuses (None: it answers)."""

    probability: float
    reason: str | None


@dataclass(frozen=True)
class Decision:
    """A fitted logistic regression over standardised signals and its threshold."""

    mode: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def contributions(self, signals: Signals) -> dict[str, float]:
        values = dict(signals.items())
        return {
            name: c * (values[name] - m) / (s or 1.0)
            for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef, strict=True)
        }

    def probability(self, signals: Signals) -> float:
        z = self.intercept + sum(self.contributions(signals).values())
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def judge(self, signals: Signals) -> Verdict:
        p = self.probability(signals)
        if p >= self.threshold:
            return Verdict(p, None)
        contributions = self.contributions(signals)
        worst = min(contributions, key=contributions.__getitem__)
        value = dict(signals.items())[worst]
        return Verdict(
            p,
            f"the answer-or-refuse decision: p(answerable) {p:.2f} < {self.threshold:.2f}; "
            f"it turned on {worst} = {value:.2f} ({_LOW.get(worst, worst)})",
        )

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def decision_file(mode: str, model: str) -> Path:
    """Where the decision of an answer mode with a model is kept. The model's own
    ``answerable`` is one of the signals, and models differ in how often they say yes, so a
    decision is fitted per model; ``extractive`` asks no model."""
    if mode == "extractive":
        return DECISIONS_DIR / "extractive.json"
    return DECISIONS_DIR / f"{mode}-{re.sub(r'[^A-Za-z0-9.-]+', '_', model)}.json"


def load_decision(mode: str, model: str = "", path: Path | None = None) -> Decision | None:
    """The fitted decision for an answer mode and model, or None when none has been fitted
    (then the hand-set gates decide)."""
    return _load(path or decision_file(mode, model))


@cache
def _load(path: Path) -> Decision | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        decision = Decision(
            mode=str(data["mode"]),
            features=tuple(data["features"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(
            _("The answer-or-refuse decision {path} cannot be read ({reason}).").format(
                path=path, reason=exc
            ),
            hint=_(
                "Fit it again with `python -m evals.calibrate RUN`, or restore it from the "
                "repository."
            ),
        ) from exc
    unknown = set(decision.features) - set(SIGNAL_NAMES)
    if unknown:
        raise ConfigurationError(
            _(
                "The answer-or-refuse decision {path} weighs signals this version does not "
                "measure: {signals}."
            ).format(path=path, signals=sorted(unknown)),
            hint=_("Fit it again with `python -m evals.calibrate RUN`."),
        )
    return decision


def measure(
    *,
    question: str,
    language: str,
    ranked: Sequence[Sentence],
    cited_ranks: Sequence[int],
    quotes: Sequence[Quote],
    similarity: float,
    model_answerable: bool,
    answer: str,
    frequency: Callable[[str], float],
    focus_limit: float,
) -> Signals:
    """The signals of one answer: ``ranked`` the sentences best first, ``cited_ranks`` the
    1-based ranks of those the answer cites, ``quotes`` their verified quotes."""
    wanted = terms(question) - question_terms()
    quoted = " ".join(q.text for q in quotes)

    def share(text: str) -> float:
        return len(terms(text) & wanted) / len(wanted) if wanted else 0.0

    kind = asks_for(question)
    focus = missing_focus(question, quotes, language, frequency, focus_limit)
    return Signals(
        retrieval_similarity=similarity,
        best_dense=ranked[0].dense if ranked else 0.0,
        best_overlap=max((share(s.text) for s in ranked[:3]), default=0.0),
        cited_overlap=max((share(q.text) for q in quotes), default=0.0),
        focus_found=float(bool(quotes) and not focus),
        type_asked=float(kind is not None),
        type_found=float(kind is not None and holds(kind, quoted)),
        english=float(language == "en"),
        model_answerable=float(model_answerable),
        cited_rank=1.0 / min(cited_ranks) if cited_ranks else 0.0,
        unsupported_figures=float(bool(unsupported_figures(answer, quoted + " " + question))),
    )
