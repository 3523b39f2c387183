"""Follow-up questions: whether a question leans on the conversation (decided in code, so a
standalone question pays nothing), and the model's rewrite of it into a standalone question.

Only the question is rewritten. The answer is made from the documents as for any question, and
its quotes are verified in the documents: an earlier answer is never a source. The rewrite
sees a bounded piece of the conversation (the last turns first), so a long conversation costs
no more than a short one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llama_index.core.llms import ChatMessage, MessageRole

from assistant.core.settings import Settings
from assistant.core.text import clear_language, count_tokens, detect_language, terms
from assistant.grounding import question_terms, related_terms, unsupported_figures
from assistant.llm.backends import LLMBackend
from assistant.prompting import render
from assistant.types import Answer

#: The rewrite's reply: one standalone question, bounded so a rambling model stops in time.
REWRITE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"question": {"type": "string", "minLength": 3, "maxLength": 300}},
    "required": ["question"],
    "additionalProperties": False,
}

#: Words that point back into the conversation: "daarop", "ervan", "daarbinnen", "daar",
#: "iets vergelijkbaars", English "there" (not "is there", "there are").
_POINTING = re.compile(
    r"\b(?:(?:daar|hier|er)(?:op|van|in|mee|over|bij|voor|na|door|aan|uit|tegen|om|onder|naast"
    r"|tussen|toe|naar|achter|binnen|buiten|boven|omheen|zonder)|daar|daarnaast|daarom|daarna"
    r"|eerder genoemde?|bovengenoemde?|genoemde|vorige|vergelijkbaars?|vergelijkbare|"
    r"soortgelijke?s?|hetzelfde|dezelfde|similar|the same|likewise)\b"
    r"|(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )(?<!\bbe )\bthere\b(?!\s+(?:is|are|was|were)\b)",
    re.IGNORECASE,
)
#: A conversation goes on: "En de ROB?", "Ook voor gemeenten?", "What about the ROB?".
_CONTINUES = re.compile(
    r"^\s*(?:en|ook|maar|dus|and|also|but|so|what about|how about|wat dan met|hoe zit het met)\b",
    re.IGNORECASE,
)
#: Personal pronouns that need an antecedent; "zijn" is left out (it is mostly the verb).
_PRONOUN = re.compile(
    r"\b(?:zij|ze|hij|hem|hun|hen|haar|it|its|they|them|their|he|him|his|she|her)\b",
    re.IGNORECASE,
)
_DEMONSTRATIVES = r"(?:dat|dit|die|deze|that|this|these|those)"
#: Words after which "die"/"dat" is a demonstrative ("voor die acties", "is die brief", "of that
#: system"), not a relative pronoun or conjunction ("een gemeente die ...", "vinden dat ...").
_BEFORE_DEMONSTRATIVE = (
    r"(?:aan|met|van|voor|over|op|in|bij|uit|door|naar|om|tot|onder|tegen|na|sinds|volgens"
    r"|binnen|zonder|per|tijdens|vanuit|via|of|for|on|about|with|from|to|by|at|since|during"
    r"|is|was|zijn|waren|wordt|werd|worden|werden|heeft|hebben|had|komt|kost|kosten|geldt"
    r"|gelden|valt|vallen|gaat|gaan|moet|moeten|kan|kunnen|zal|zullen|wil|willen|doet|doen"
    r"|staat|staan|are|were|does|do|did|will|would|can|could|has|have)"
)
#: What follows a relative pronoun or a conjunction, not a demonstrative's noun.
_NOT_A_NOUN = (
    r"(?:de|het|een|the|a|an|er|daar|hier|zij|ze|hij|wij|we|hun|haar|zijn|niet|ook|al|nog|in"
    r"|op|aan|uit|van|voor|ge\w+[dt]|\w+ed)"
)
#: A demonstrative standing for something said before: right after the finite verb ("Wanneer is
#: dat gepubliceerd?", "Wie voert die uit?", "What does that mean?"), before a noun after a
#: preposition or verb ("Aan wie was die brief gericht?", "Welk budget is voor die acties?"),
#: or ending the question ("Kijkt het verder dan dat?"); "het"/"it" only as an object at the end
#: ("Hoeveel programma's brengt het samen?", "Over welk bedrag hebben we het dan?").
_DEMONSTRATIVE = re.compile(
    r"^\s*(?!welke\b|which\b|hoeveel\b)(?:\w+\s+){1,2}" + _DEMONSTRATIVES + r"\b"
    r"|\b" + _BEFORE_DEMONSTRATIVE + r"\s+" + _DEMONSTRATIVES + r"\s+(?!" + _NOT_A_NOUN + r"\b)\w+"
    r"|\b" + _DEMONSTRATIVES + r"\s*[?!.]?\s*$"
    r"|\b(?:het|it)(?:\s+(?:samen|uit|in|op|aan|mee|toe|af|over|door|bij|om|dan|nu|eigenlijk"
    r"|precies|ook|nog|al|ge\w+[dt]|\w+ed))?\s*[?!.]?\s*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
#: A name inside the question ("de Rli", "NOVEX", "Van Aartsen"), or a rare noun after an
#: article, can be what a pronoun refers to.
_NAME = re.compile(r"(?<=\s)[A-Z][\w-]+")
_NOUN = re.compile(r"\b(?:de|het|een|the|a|an)\s+([\w-]+)", re.IGNORECASE)
#: Where a question's second clause starts: a word pointing back after it can point into the
#: first ("Wat is de UDO, en hoeveel ervaring is ermee opgedaan?").
_CLAUSE = re.compile(
    r",|\b(?:en|of|and|or)\s+(?=(?:wat|wie|wanneer|waar|hoe|waarom|welke|hoeveel|what|who|when"
    r"|where|how|why|which)\b)",
    re.IGNORECASE,
)
#: "ervoor zorgen dat" (to make sure) and "op dit moment" (now) point nowhere.
_IDIOM = re.compile(
    r"\b(?:er|daar)voor\s+(?:te\s+)?zorg\w*"
    r"|\b(?:op|in|at)\s+(?:dit|dat|deze|this|that)\s+(?:moment|manier|geval|kader|stadium"
    r"|stage|point|time)\b",
    re.IGNORECASE,
)


def needs_rewrite(
    question: str,
    history: Sequence[Answer],
    frequency: Callable[[str], float],
    rare: float,
) -> bool:
    """Whether ``question`` leans on the conversation ``history`` (cheap, no model).

    True for a question that goes on from the last turn ("En de ROB?") or is too short to
    stand alone (at most three words); that stands a demonstrative right after its verb
    ("Wanneer is dat gepubliceerd?"); that points back ("daarop", "ervan") in its first
    clause; or that uses a pronoun ("hun", "haar", "they") with no name or rare noun (rarer
    than ``rare`` in the index: ``frequency`` is the share of chunks holding a stem) before
    it. "Hoe reageert het kabinet daarop?" leans on the conversation; "Wat is de UDO, en
    hoeveel ervaring is ermee opgedaan?" does not.
    """
    if not history:
        return False
    text = _IDIOM.sub(" ", question.strip())
    if len(_WORD.findall(text)) <= 3 or _CONTINUES.search(text):
        return True
    demonstrative = _DEMONSTRATIVE.search(text)
    if demonstrative and not _refers_within(
        text[: demonstrative.start()], frequency, rare, clause=True
    ):
        return True
    pointing = _POINTING.search(text)
    if pointing and not _refers_within(text[: pointing.start()], frequency, rare, clause=True):
        return True
    pronoun = _PRONOUN.search(text)
    return pronoun is not None and not _refers_within(
        text[: pronoun.start()], frequency, rare, clause=False
    )


def _refers_within(
    before: str, frequency: Callable[[str], float], rare: float, *, clause: bool
) -> bool:
    """Whether ``before`` (the question up to a referring word) holds what it refers to: a
    name or a rare noun; for a pointing word, in an earlier clause."""
    if clause:
        boundaries = [m.start() for m in _CLAUSE.finditer(before)]
        if not boundaries:
            return False
        before = before[: boundaries[-1]]
    if _NAME.search(before):
        return True
    return any(frequency(term) < rare for noun in _NOUN.findall(before) for term in terms(noun))


def conversation_text(history: Sequence[Answer], budget_tokens: int, answer_words: int) -> str:
    """The conversation for the rewrite, oldest first, as many of the last turns as fit
    ``budget_tokens``. An earlier turn is its question and its verified quotes, shortened to
    ``answer_words`` words (the rewrite only needs to know what was talked about): the model's
    own words in an earlier answer are never a source, so they do not reach the new question."""
    turns: list[str] = []
    used = 0
    for earlier in reversed(history):
        asked = earlier.standalone_question or earlier.question
        said = _quoted(earlier)
        words = said.split()
        if len(words) > answer_words:
            said = " ".join(words[:answer_words]) + " ..."
        turn = f"Vraag: {asked}\nUit de documenten: {said}" if said else f"Vraag: {asked}"
        cost = count_tokens(turn)
        if turns and used + cost > budget_tokens:
            break
        if not turns and cost > budget_tokens:  # the last turn alone is too long: its question
            turn = f"Vraag: {asked}"
        turns.append(turn)
        used += cost
    return "\n\n".join(reversed(turns))


def _quoted(earlier: Answer) -> str:
    if earlier.refused:
        return "(niet gevonden in de documenten)"
    return " ".join(dict.fromkeys(quote.text for quote in earlier.quotes))


@dataclass(frozen=True)
class Rewrite:
    """The standalone question; ``note`` says why the model's own rewrite was not used (then
    the question is the follow-up joined to the question before it)."""

    question: str
    prompt_tokens: int
    completion_tokens: int
    note: str | None = None


def rewrite(
    backend: LLMBackend,
    question: str,
    history: Sequence[Answer],
    *,
    budget_tokens: int,
    answer_words: int,
) -> Rewrite:
    """Ask the model for ``question`` as a standalone question (``prompts/rewrite_*.txt``)."""
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content=render("rewrite_system.txt")),
        ChatMessage(
            role=MessageRole.USER,
            content=render(
                "rewrite_user.txt",
                conversation=conversation_text(history, budget_tokens, answer_words),
                question=question,
            ),
        ),
    ]
    raw = ""
    prompt_tokens = completion_tokens = 0
    for chunk in backend.stream_json(messages, REWRITE_SCHEMA):
        raw = chunk.text
        if chunk.prompt_tokens:
            prompt_tokens, completion_tokens = chunk.prompt_tokens, chunk.completion_tokens
    standalone = _question(raw)
    if standalone is None:
        return _fallback(
            question, history, prompt_tokens, completion_tokens, "no question came back"
        )
    if question.rstrip().endswith("?") and not standalone.endswith("?"):
        # Small models sometimes answer instead of rewriting: a statement is not the question.
        return _fallback(
            question, history, prompt_tokens, completion_tokens, f"it is no question ({standalone})"
        )
    language = clear_language(question)
    if language and clear_language(standalone) not in (language, None):
        # The prompt's English example sometimes turns a Dutch follow-up into English (and
        # "escalatiemodel" into "escalation model", which the search then misses).
        return _fallback(
            question,
            history,
            prompt_tokens,
            completion_tokens,
            f"it changed the language ({standalone})",
        )
    brought = terms(standalone) - terms(question) - question_terms()
    if standalone.casefold() == question.strip().casefold() or not brought:
        # The question leans on the conversation (code decided so), but the model gave it back
        # as it was, or only swapped "die" for "de": small models often do.
        return _fallback(
            question,
            history,
            prompt_tokens,
            completion_tokens,
            "it gave the follow-up back as typed",
        )
    asked = _asked(question, history)
    if unsupported_figures(standalone, asked):
        # A figure the user never typed came from an earlier answer: an earlier answer is
        # never a source, so it must not slip into the question either.
        return _fallback(
            question,
            history,
            prompt_tokens,
            completion_tokens,
            f"it added figures from an earlier answer ({standalone})",
        )
    unquoted = answer_only_terms(standalone, question, history)
    if unquoted:
        # A word that only an earlier answer's own text holds (not the user's questions, not a
        # verified quote) is the model's, and an earlier answer is never a source.
        return _fallback(
            question,
            history,
            prompt_tokens,
            completion_tokens,
            f"it brought words only an earlier answer holds ({', '.join(sorted(unquoted))})",
        )
    wanted = {
        t
        for t in terms(question) - question_terms()
        if not (_POINTING.fullmatch(t) or _PRONOUN.fullmatch(t) or _DEMONSTRATIVE.fullmatch(t))
    }
    kept = {t for t in wanted if any(related_terms(t, w) for w in terms(standalone))}
    if wanted and len(kept) < len(wanted) / 2:
        # The small model sometimes answers with the earlier question instead of completing
        # this one ("Hoeveel euro heeft dat advies gekost?" -> "Wat adviseert de ROB?"): the
        # asked amount would be lost and the wrong question answered.
        return _fallback(
            question,
            history,
            prompt_tokens,
            completion_tokens,
            f"it dropped what the follow-up asks ({standalone})",
        )
    return Rewrite(standalone, prompt_tokens, completion_tokens)


def answer_only_terms(standalone: str, question: str, history: Sequence[Answer]) -> set[str]:
    """The terms the rewrite ``standalone`` added to ``question`` that stand in an earlier
    answer's text but in none of the questions typed or understood and in none of the verified
    quotes: the model's own words from an earlier answer."""
    asked = _asked(question, history)
    brought = terms(standalone) - terms(asked)
    said = terms(" ".join(earlier.text for earlier in history))
    quoted = terms(" ".join(quote.text for earlier in history for quote in earlier.quotes))
    sources = terms(asked) | quoted
    return {t for t in brought & said if not any(related_terms(t, s) for s in sources)}


def _asked(question: str, history: Sequence[Answer]) -> str:
    """Every question of the conversation as typed or understood: what the user said."""
    return " ".join([question, *(e.standalone_question or e.question for e in history)])


def _fallback(
    question: str, history: Sequence[Answer], prompt_tokens: int, completion_tokens: int, why: str
) -> Rewrite:
    """When the model's rewrite cannot be used: the follow-up as typed, with the (at most two)
    questions typed before it (the user's own words, never an earlier answer or rewrite), so
    that the search and the answer still know what "daarop" is about."""
    before = " / ".join(earlier.question for earlier in history[-2:])
    english = detect_language(question) == "en"
    joined = f"{question} ({'following' if english else 'naar aanleiding van'}: {before})"
    return Rewrite(
        joined,
        prompt_tokens,
        completion_tokens,
        f"the model's rewrite was not used, {why}; the follow-up was joined to the questions "
        "before it",
    )


def _question(raw: str) -> str | None:
    try:
        data = json.loads(raw.strip() or "null")
    except ValueError:
        return None
    text = data.get("question") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    return " ".join(text.split())


class FollowUps:
    """Follow-up questions for one assistant: its settings, model and index frequencies."""

    def __init__(
        self, settings: Settings, backend: LLMBackend, frequency: Callable[[str], float]
    ) -> None:
        self._settings = settings
        self._backend = backend
        self._frequency = frequency

    def leans_on(self, question: str, history: Sequence[Answer]) -> bool:
        """:func:`needs_rewrite`, with the index's term frequencies."""
        rare = self._settings.focus_max_frequency
        return needs_rewrite(question, history, self._frequency, rare)

    def rewrite(self, question: str, history: Sequence[Answer]) -> Rewrite:
        """:func:`rewrite` within the settings' conversation budget."""
        return rewrite(
            self._backend,
            question,
            history,
            budget_tokens=self._settings.history_budget_tokens,
            answer_words=self._settings.history_answer_words,
        )
