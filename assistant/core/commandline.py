"""Argument parsers that speak the interface language, for every command of this project.

argparse writes its own words ("usage:", "options", "the following arguments are required")
through the standard ``gettext`` of the ``argparse`` domain, for which Python ships no Dutch.
:func:`parser` routes those words through our catalogue instead (argparse looks its ``_`` and
``ngettext`` up at call time, module-global), so ``--help`` and a usage error read in Dutch like
the rest. The help texts themselves are ours: each command passes them through ``_()``.
"""

from __future__ import annotations

import argparse
import contextlib

from assistant.core import i18n
from assistant.core.errors import ConfigurationError
from assistant.core.i18n import N_

#: argparse's user-facing words (Python 3.11-3.13), here so that ``make messages`` puts them in
#: the catalogue; the argparse-internal errors for programmers are left in English.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("subcommands"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def _argparse_ngettext(singular: str, plural: str, count: int) -> str:
    return i18n.ngettext(singular, plural, count)


def _install() -> None:
    # argparse does ``from gettext import gettext as _, ngettext`` and calls them at run time.
    argparse._ = i18n._  # type: ignore[attr-defined]
    argparse.ngettext = _argparse_ngettext  # type: ignore[attr-defined]


def activate_interface_language() -> None:
    """Use the configured interface language (environment or ``.env``) from now on. Settings
    that do not load leave the environment's choice; the command reports them itself."""
    from assistant.core.settings import load_settings

    with contextlib.suppress(ConfigurationError):
        i18n.activate(load_settings().interface_language)


def parser(
    prog: str, description: str, epilog: str | None = None, **kwargs: object
) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose own words are in the interface language. Descriptions and
    epilogs keep their line breaks (they hold examples). Call
    :func:`activate_interface_language` first: the texts passed in are translated already."""
    _install()
    return argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,  # type: ignore[arg-type]
    )
