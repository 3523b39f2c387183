"""The interface's language: every message a user reads comes from one gettext catalogue.

Messages are written in English in the code (``_("The question is empty.")``) and translated by
the catalogue ``assistant/locale/<lang>/LC_MESSAGES/beleidsassistent.po`` (compiled to ``.mo``;
``make messages`` extracts, updates and compiles them with Babel). Dutch is the default; English
is the other language. Answers are not translated: they follow the question's language.

The language is chosen by ``ASSISTANT_INTERFACE_LANGUAGE`` (``nl`` or ``en``) and can be switched
with :func:`activate` (the entry points call it with the loaded settings, so a ``.env`` file
counts too). Messages are translated when they are shown, never at import: a module-level
message is marked with :func:`N_` and passed through :func:`_` where it is used.

How to write one:

- Placeholders are named, filled with ``str.format``: ``_("{count} documents").format(count=n)``;
  an f-string cannot be extracted into the catalogue.
- A count that decides the word form uses :func:`ngettext`.
- Log lines (for developers) stay English and untranslated.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from importlib import resources
from typing import Literal

DOMAIN = "beleidsassistent"
Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
DEFAULT_LANGUAGE: Language = "nl"
ENVIRONMENT_VARIABLE = "ASSISTANT_INTERFACE_LANGUAGE"

_active: Language | None = None


def _from_environment() -> Language:
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    # An unknown value falls back to Dutch here; Settings refuses it with a message of its own.
    for lang in LANGUAGES:
        if value == lang:
            return lang
    return DEFAULT_LANGUAGE


def language() -> Language:
    """The interface language now in use."""
    return _active if _active is not None else _from_environment()


def activate(chosen: str | None) -> None:
    """Use ``chosen`` (``nl``/``en``) from now on; ``None`` goes back to the environment's."""
    global _active
    if chosen is None:
        _active = None
        return
    for lang in LANGUAGES:
        if chosen == lang:
            _active = lang
            return
    raise ValueError(f"unknown interface language {chosen!r}; choose one of {LANGUAGES}")


@cache
def catalogue(lang: Language) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang``, read from the installed package (wheel or checkout)."""
    locale_dir = resources.files("assistant") / "locale"
    with resources.as_file(locale_dir) as path:
        # fallback=False: a missing catalogue is a broken install, not something to hide.
        return gettext.translation(DOMAIN, localedir=path, languages=[lang])


def _(message: str) -> str:
    """``message`` in the interface language."""
    return catalogue(language()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of ``singular``/``plural`` for ``count``, in the interface language."""
    return catalogue(language()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it yet (module-level constants)."""
    return message
