"""``beleidsassistent``: the one installed command, with a subcommand per job.

This package is the top of the layers, the composition root of the command line: it is the only
part of ``assistant/`` that imports ``ingest`` and ``evals`` (to hand them their subcommand), and
nothing imports it (tests/test_architecture.py). It lives inside ``assistant/`` because an entry
point must sit in an installed package. Each subcommand keeps its parser in its own module, so the
``python -m ingest``, ``python -m assistant``, ``python -m evals`` and ``python app.py`` forms run
the very same code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.commandline import activate_interface_language, parser
from assistant.core.errors import AssistantError
from assistant.core.i18n import N_, _

PROG = "beleidsassistent"

#: name -> one line of help (translated when shown).
COMMANDS: dict[str, str] = {
    "ingest": N_("Add documents to the index (only what changed)."),
    "ask": N_("Answer one question, with verified quotes."),
    "chat": N_("A conversation in the terminal: follow-up questions build on earlier ones."),
    "serve": N_("Start the web interface (http://127.0.0.1:7860)."),
    "eval": N_("Run the evaluation against the reference questions."),
    "verify": N_("Check whether the quotes of an exported answer still stand."),
    "config": N_("Show the settings in effect and where each value came from."),
}


def _epilog() -> str:
    width = max(len(name) for name in COMMANDS)
    listing = "\n".join(f"  {name:<{width}}  {_(text)}" for name, text in COMMANDS.items())
    return (
        _("commands:")
        + "\n"
        + listing
        + "\n\n"
        + _(
            "examples:\n"
            "  beleidsassistent ingest                 index the corpus/ folder\n"
            "  beleidsassistent ingest ~/Documenten/nota.pdf\n"
            '  beleidsassistent ask "Wat constateert de ROB over de publieke dienstverlening?"\n'
            "  beleidsassistent serve                  the web interface\n"
            "  beleidsassistent verify antwoord.json   do an export's quotes still stand?\n"
            "  beleidsassistent config                 settings and where they came from\n"
            "\n"
            "More about a command: beleidsassistent <command> --help\n"
            "The interface language: ASSISTANT_INTERFACE_LANGUAGE=nl (default) or en."
        )
    )


def _version() -> str:
    try:
        return metadata.version("beleidsassistent")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _ingest(argv: list[str]) -> int:
    from ingest.__main__ import main as ingest_main

    return ingest_main(argv, prog=f"{PROG} ingest")


def _query(command: str) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        from assistant.__main__ import main as query_main

        return query_main([command, *argv], prog=PROG)

    return run


def _serve(argv: list[str]) -> int:
    from assistant.webui import main as serve_main

    return serve_main(argv, prog=f"{PROG} serve")


def _eval(argv: list[str]) -> int:
    from evals.__main__ import main as eval_main

    return eval_main(argv, prog=f"{PROG} eval")


def _config(argv: list[str]) -> int:
    from assistant.cli import config

    command = parser(f"{PROG} config", config.description(), config.epilog())
    config.add_arguments(command)
    args = command.parse_args(argv)
    try:
        return config.run(args)
    except AssistantError as exc:
        print(_("error: {message}").format(message=exc), file=sys.stderr)
        return 2


_RUN: dict[str, Callable[[list[str]], int]] = {
    "ingest": _ingest,
    "ask": _query("ask"),
    "chat": _query("chat"),
    "serve": _serve,
    "eval": _eval,
    "verify": _query("verify"),
    "config": _config,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``beleidsassistent <command> ...``; the exit status of the command."""
    activate_interface_language()
    args = list(sys.argv[1:] if argv is None else argv)
    top = parser(
        PROG,
        _(
            "A local, private assistant that answers questions about your documents; every\n"
            "answer carries verbatim quotes that are checked against the sources."
        ),
        _epilog(),
    )
    top.add_argument("command", choices=list(COMMANDS), metavar=_("<command>"), help=_("see below"))
    top.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    if args and args[0] in _RUN:
        return _RUN[args[0]](args[1:])
    # No command, --help, --version or an unknown one: argparse prints help or the error.
    top.parse_args(args[:1] or ["--help"])
    return 2
