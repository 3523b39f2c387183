"""Prompts: templates from ``prompts/`` rendered strictly, and the context packed under a
token budget (counted with tiktoken) with numbered passages and numbered sentences."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from assistant.core.errors import ConfigurationError
from assistant.core.i18n import _
from assistant.core.text import count_tokens, sentence_spans
from assistant.injection import WITHHELD, addresses_the_model
from assistant.types import Passage


def _prompts_dir() -> Traversable:
    try:
        return resources.files("assistant.prompts")
    except ModuleNotFoundError:
        # A checkout run without installing it (PYTHONPATH=.): the source folder itself.
        return Path(__file__).resolve().parents[1] / "prompts"


#: The prompt files: the top-level prompts/ folder of the checkout, shipped in the wheel as the
#: data package ``assistant.prompts`` (pyproject.toml maps one onto the other).
PROMPTS_DIR: Traversable = _prompts_dir()
_LANGUAGE_NAMES = {"nl": "Nederlands", "en": "Engels"}
#: tiktoken counts cl100k tokens; the local models' tokenizers need somewhat more for Dutch.
_TOKEN_SAFETY = 1.15


@cache
def _template(name: str) -> string.Template:
    path = PROMPTS_DIR / name
    try:
        return string.Template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            _("The prompt template {name} cannot be read ({reason}).").format(
                name=name, reason=exc.strerror
            ),
            hint=_("Restore the prompts/ folder from the repository, or reinstall the package."),
        ) from exc


def render(name: str, **variables: object) -> str:
    """Render ``prompts/<name>``; a variable the template needs but was not given is an error."""
    try:
        return _template(name).substitute(variables)
    except KeyError as exc:
        raise ConfigurationError(
            _(
                "The prompt template {name} needs the variable {variable!r}, which was not given."
            ).format(name=name, variable=exc.args[0]),
            hint=_("The template and the code disagree; check recent edits to prompts/."),
        ) from exc


def _prompt_files() -> list[Traversable]:
    return [p for p in PROMPTS_DIR.iterdir() if p.is_file() and p.name.endswith(".txt")]


@cache
def prompt_version() -> str:
    """A short hash of all prompt files: stamped on every answer."""
    digest = hashlib.sha256()
    for path in sorted(_prompt_files(), key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"v1-{digest.hexdigest()[:8]}"


@cache
def refusal_text(language: str) -> str:
    lines = (PROMPTS_DIR / "refusal.txt").read_text(encoding="utf-8").splitlines()
    texts = dict(line.split("=", 1) for line in lines if "=" in line)
    return texts.get(language, texts["nl"]).strip()


def language_name(language: str) -> str:
    return _LANGUAGE_NAMES.get(language, "Nederlands")


@dataclass(frozen=True)
class Sentence:
    """A numbered sentence of the context and where it stands in its document."""

    id: int
    passage: int
    document: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Context:
    """The passages given to the model, as plain numbered passages and as numbered sentences."""

    passage_text: str
    numbered_text: str
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...]
    #: Document sentences addressed to the model (prompt injection), left out of the prompt.
    withheld: tuple[Sentence, ...] = ()

    def sentence(self, sentence_id: int) -> Sentence | None:
        if 1 <= sentence_id <= len(self.sentences):
            return self.sentences[sentence_id - 1]
        return None


def build_context(passages: tuple[Passage, ...], budget_tokens: int) -> Context:
    """Number the passages and their sentences, in rank order, while they fit in the budget.

    A sentence that addresses the model (see ``injection.py``) is withheld: it gets no number and
    the plain passage shows ``[…]`` in its place.
    """
    plain: list[str] = []
    blocks: list[str] = []
    sentences: list[Sentence] = []
    withheld: list[Sentence] = []
    used: list[Passage] = []
    spent = 0
    for number, passage in enumerate(passages, start=1):
        header = f"[Passage {number}] {passage.title}"
        if passage.page is not None:
            header += f", pagina {passage.page}"
        lines = [header]
        numbered: list[Sentence] = []
        held: list[Sentence] = []
        for start, end in sentence_spans(passage.text):
            text = " ".join(passage.text[start:end].split())
            sentence = Sentence(
                id=len(sentences) + len(numbered) + 1,
                passage=number,
                document=passage.document,
                start=passage.start + start,
                end=passage.start + end,
                text=passage.text[start:end],
            )
            if addresses_the_model(text):
                held.append(sentence)
                continue
            numbered.append(sentence)
            lines.append(f"[S{sentence.id}] {text}")
        block = "\n".join(lines)
        passage_block = f"{header}\n{_without(passage, held)}"
        cost = int(count_tokens(block) * _TOKEN_SAFETY) + 2
        if used and spent + cost > budget_tokens:
            break
        blocks.append(block)
        plain.append(passage_block)
        sentences.extend(numbered)
        withheld.extend(held)
        used.append(passage)
        spent += cost
    return Context(
        passage_text="\n\n".join(plain),
        numbered_text="\n\n".join(blocks),
        sentences=tuple(sentences),
        passages=tuple(used),
        withheld=tuple(withheld),
    )


def _without(passage: Passage, held: list[Sentence]) -> str:
    """The passage's text with the withheld sentences replaced by a visible mark."""
    text = passage.text
    for sentence in reversed(held):
        start, end = sentence.start - passage.start, sentence.end - passage.start
        text = text[:start] + WITHHELD + text[end:]
    return text
