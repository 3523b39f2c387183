"""Prompt injection: document text that addresses the model, and answers that leak the prompt.

Documents are data. A sentence in a document that tells "the assistant" to ignore its
instructions, to answer with a given word or to show its system prompt is withheld from the model
(the passage keeps a visible ``[…]`` in its place, and the answer's notes say so): a small model
follows such a sentence often enough, and the system prompt's rule that document instructions are
not orders is only a request. The patterns are the common phrasings in Dutch and English; no
offline classifier ships as a package (the known ones download their weights at run time).

After the model has answered, :func:`repeats_instructions` checks in code that the answer does not
reproduce the instructions it was given, whatever the question or the documents asked for.
"""

from __future__ import annotations

import re

_PATTERNS = (
    # English
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,60}?\b(?:instructions?|prompts?|rules"
    r"|guidelines|directions)\b",
    r"\bsystem\s*(?:prompt|message|instructions?)\b",
    r"\byou\s+are\s+now\b",
    r"\b(?:answer|respond|reply)\s+(?:only\s+)?(?:with|using)\s+(?:the\s+)?(?:word|text)\b",
    r"\b(?:reveal|print|show|repeat)\s+(?:me\s+)?(?:your|the)\s+(?:instructions|prompt)\b",
    # Dutch
    r"\b(?:negeer|vergeet|omzeil)\b[^.!?\n]{0,60}?\b(?:instructies?|opdrachten|regels|prompts?"
    r"|richtlijnen)\b",
    r"\bsysteem\s*-?\s*(?:prompt|instructies?|bericht)\b",
    r"\bje\s+bent\s+(?:nu|vanaf\s+nu)\b",
    r"\b(?:antwoord|reageer)\s+(?:alleen|uitsluitend|enkel)?\s*met\s+(?:het\s+)?woord\b",
    r"\b(?:toon|geef|laat|herhaal)\b[^.!?\n]{0,20}?\b(?:je|jouw|uw)\s+(?:instructies|prompt)\b",
)
_INSTRUCTION = re.compile("|".join(_PATTERNS), re.IGNORECASE)
_WORDS = re.compile(r"\w+")
#: Consecutive words an answer may share with the instructions before it counts as repeating them.
LEAK_WORDS = 8

WITHHELD = "[…]"


def addresses_the_model(sentence: str) -> bool:
    """Whether a document sentence reads as an instruction to the assistant."""
    return _INSTRUCTION.search(" ".join(sentence.split())) is not None


def repeats_instructions(answer: str, instructions: str) -> bool:
    """Whether ``answer`` contains a run of :data:`LEAK_WORDS` words of ``instructions``."""
    words = [w.lower() for w in _WORDS.findall(answer)]
    if len(words) < LEAK_WORDS:
        return False
    known = [w.lower() for w in _WORDS.findall(instructions)]
    runs = {tuple(known[i : i + LEAK_WORDS]) for i in range(len(known) - LEAK_WORDS + 1)}
    return any(tuple(words[i : i + LEAK_WORDS]) in runs for i in range(len(words) - LEAK_WORDS + 1))
