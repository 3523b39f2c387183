"""Command line: ``python -m assistant ask "vraag" [--json] [--stream]``,
``python -m assistant chat`` (a conversation: follow-up questions lean on the earlier ones) and
``python -m assistant verify EXPORT.json [--json]`` (do an exported answer's quotes still
stand?)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.commandline import activate_interface_language
from assistant.core.commandline import parser as command_parser
from assistant.core.errors import AssistantError, QuestionError
from assistant.core.i18n import N_, _, ngettext
from assistant.core.settings import load_settings
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answering import Answerer
    from assistant.reverify import ExportCheck

# TRANSLATORS: the example shows the command's output; keep its layout (the lines are printed
# as they stand).
_ASK_EXAMPLES = N_("""\
examples:
  {prog} ask "Wat constateert de ROB over de publieke dienstverlening?"
  {prog} ask --stream "Wat is de Actieagenda Sterk Bestuur?"
  {prog} ask --json "When did the cabinet respond to the Rli advice?" > antwoord.json

The answer follows the question's language (Dutch or English); every quote is checked
against the source text before it is shown. Exit status: 0 answered or refused, 2 an error.""")
_CHAT_EXAMPLES = N_("""\
examples:
  {prog} chat
    vraag> Wat is de Actieagenda Sterk Bestuur?
    vraag> Wie voert die uit?
    vraag> nieuw
    vraag> stop""")
_VERIFY_EXAMPLE = N_("""\
examples:
  {prog} verify antwoord.json
  {prog} verify --json antwoord.json > controle.json

  {prog} verify antwoord.json
    [1] unchanged: Kabinetsreactie Rli-advies, p. 2 (characters 1520-1688)
    [2] moved (still stands verbatim): Nota (characters 109-186, now 154-231, source text 154-231)
        The document has changed, but the quote still stands in it verbatim, now at characters
        154–231, source text 154–231.
        “Het kabinet trekt vijf miljoen euro uit voor de uitvoering van het programma.”
  2 of 2 quotes still stand.

exit status: 0 every quote still stands, 1 a quote is gone, its document removed or the
export edited, 2 the file or the index cannot be read.""")


def main(argv: list[str] | None = None, *, prog: str = "python -m assistant") -> int:
    # First, so that the help texts below are already in the configured language (.env too).
    activate_interface_language()
    parser = command_parser(
        prog,
        _("Ask questions about the indexed documents; answers carry verified quotes."),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser(
        "ask",
        help=_("Answer one question."),
        description=_("Answer one question about the indexed documents, with verified quotes."),
        epilog=_(_ASK_EXAMPLES).format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument(
        "question", metavar=_("question"), help=_("The question, in Dutch or English.")
    )
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=_("Print the full answer as JSON."))
    output.add_argument(
        "--stream", action="store_true", help=_("Print the answer as it is written.")
    )
    ask.add_argument("-v", "--verbose", action="store_true", help=_("Log what happens."))
    chat = commands.add_parser(
        "chat",
        help=_("A conversation in the terminal: ask on, the assistant understands follow-ups."),
        description=_(
            "Type a question and Enter; follow-up questions may refer to the earlier "
            "ones (\"Hoe reageert het kabinet daarop?\"). 'new' starts a new conversation, "
            "'stop' or Ctrl-D ends it. Answers stream in, with verified quotes and timings."
        ),
        epilog=_(_CHAT_EXAMPLES).format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument("-v", "--verbose", action="store_true", help=_("Log what happens."))
    verify = commands.add_parser(
        "verify",
        help=_("Check an exported answer (JSON) against the index: do its quotes still stand?"),
        # TRANSLATORS: wrapped by hand: the raw formatter prints the lines as they stand.
        description=_(
            "Check each quote of a JSON export (*Exporteer JSON* in the web UI) against\n"
            "the current index: unchanged, moved in an edited document but still verbatim\n"
            "(with its new offsets), gone, its document removed, or edited in the export\n"
            "itself. Reads the index only; no model is needed."
        ),
        epilog=_(_VERIFY_EXAMPLE).format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "export", type=Path, metavar=_("EXPORT.json"), help=_("The exported answer, a .json file.")
    )
    verify.add_argument("--json", action="store_true", help=_("Print the result as JSON."))
    verify.add_argument("-v", "--verbose", action="store_true", help=_("Log what happens."))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "bm25s", "chromadb", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "verify":
        return _verify(args.export, as_json=args.json)

    from assistant.components import build_assistant

    try:
        settings = load_settings()
        if args.command == "ask":
            # A question that cannot be asked is refused before the model starts (seconds).
            from assistant.questions import check_question

            check_question(args.question, settings.question_max_tokens)
        assistant = build_assistant(settings)
        if assistant.backend.note:
            print(f"[{assistant.backend.note}]", file=sys.stderr)
        if args.command == "chat":
            return _chat(assistant)
        result = _ask(assistant, args.question, (), stream=args.stream, show=not args.json)
    except AssistantError as exc:
        print(_("error: {error}").format(error=exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    return 0


def _verify(path: Path, *, as_json: bool) -> int:
    """Check an export against the index: 0 every quote stands, 1 one does not, 2 an error."""
    from assistant.reverify import load_export, verify_export

    try:
        check = verify_export(load_export(path), load_settings())
    except AssistantError as exc:
        print(_("error: {error}").format(error=exc), file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(check.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_check(check))
    return 0 if check.ok else 1


def render_check(check: ExportCheck) -> str:
    """One line per quote with its verdict, then why (where it does not simply stand), then a
    summary."""
    from assistant.reverify import LABELS, STANDING

    lines = [_("Question: {question}").format(question=check.question)] if check.question else []
    for quote in check.quotes:
        page = quote.current.page if quote.current else quote.exported.page
        where = quote.title + (", " + _("p. {page}").format(page=page) if page is not None else "")
        span = _("characters {start}-{end}").format(
            start=quote.exported.start, end=quote.exported.end
        )
        if quote.status == "moved" and quote.current is not None:
            span += ", " + _("now {start}-{end}").format(
                start=quote.current.start, end=quote.current.end
            )
            if quote.current.source_start is not None:
                span += ", " + _("source text {start}-{end}").format(
                    start=quote.current.source_start, end=quote.current.source_end
                )
        lines.append(f"  [{quote.number}] {quote.label}: {where} ({span})")
        if quote.status != "unchanged":
            lines.append(textwrap.indent(textwrap.fill(quote.message, 92), "      "))
            lines.append(textwrap.indent(textwrap.shorten(f"“{quote.text}”", 92), "      "))
    standing = sum(q.stands for q in check.quotes)
    if not check.quotes:
        lines.append(_("The export contains no quotes; there is nothing to check."))
    else:
        # A ratio, not a count of things: the plural throughout.
        lines.append(
            _("{standing} of {total} quotes still stand.").format(
                standing=standing, total=len(check.quotes)
            )
        )
        # The labels are marked for the catalogue; translated where they are shown.
        failing = {_(LABELS[s]): n for s, n in check.counts().items() if s not in STANDING}
        if failing:
            counts = ", ".join(f"{n} {label}" for label, n in failing.items())
            lines.append(_("No longer standing: {counts}").format(counts=counts))
    lines += list(check.notes)
    return "\n".join(lines)


def _ask(
    assistant: Answerer,
    question: str,
    history: Sequence[Answer],
    *,
    stream: bool,
    show: bool = True,
) -> Answer:
    """Answer ``question``, streamed to the terminal when ``stream``, and print the result
    when ``show`` (not when the caller prints JSON)."""
    result: Answer | None = None
    streamed = ""
    for item in assistant.stream_answer(question, history=history):
        if isinstance(item, Answer):
            result = item
        elif stream and isinstance(item, str):
            streamed += item
            print(item, end="", flush=True)
    assert result is not None
    if streamed:
        print("\n")
    if show:
        # A streamed answer is on screen already, unless a later check replaced it.
        replaced = result.refused or streamed.strip() != result.text
        print(render(result, with_text=not streamed or replaced))
    return result


def _chat(assistant: Answerer) -> int:
    """The terminal conversation: each answer joins the history of the next question."""
    history: list[Answer] = []
    print(_("Ask a question ('new': new conversation, 'stop' or Ctrl-D: end)."))
    while True:
        try:
            question = input("\n" + _("question> ")).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.lower() in {"stop", "exit", "quit"}:
            return 0
        if question.lower() in {"nieuw", "new"}:
            history.clear()
            print(_("New conversation."))
            continue
        if not question:
            continue
        try:
            history.append(_ask(assistant, question, history, stream=True))
        except QuestionError as exc:  # a bad question ends the turn, not the conversation
            print(_("error: {error}").format(error=exc), file=sys.stderr)


def render(answer: Answer, *, with_text: bool = True) -> str:
    """The answer as plain text for a terminal."""
    lines = [answer.text, ""] if with_text else []
    if answer.standalone_question:
        understood = _("Understood as: {question}").format(question=answer.standalone_question)
        lines[:0] = [understood, ""]
    if answer.refused:
        lines.append(_("Possibly relevant passages:"))
        for number, passage in enumerate(answer.passages[:3], start=1):
            where = ", " + _("p. {page}").format(page=passage.page) if passage.page else ""
            lines.append(f"  [{number}] {passage.title}{where}")
            lines.append(textwrap.indent(textwrap.fill(passage.text[:400], 96), "      "))
    else:
        lines.append(_("Sources (verbatim, verified):"))
        for number, quote in enumerate(answer.quotes, start=1):
            where = ", " + _("p. {page}").format(page=quote.page) if quote.page else ""
            where += ", " + _("footnote") if quote.footnote else ""
            where += ", " + _("OCR: machine-read from a scan") if quote.machine_read else ""
            where += "".join(f", {part}" for part in quote.written_by)
            span = _("characters {start}-{end}").format(start=quote.start, end=quote.end)
            lines.append(f"  [{number}] {quote.title}{where} ({span})")
            lines.append(textwrap.indent(textwrap.fill(f"“{quote.text}”", 96), "      "))
    t = answer.timings
    steps = [_("rewrite {seconds}").format(seconds=f"{t.rewrite:.1f}")] if t.rewrite else []
    steps += [
        _("search {seconds}").format(seconds=f"{t.retrieve:.2f}"),
        _("model {seconds}").format(seconds=f"{t.llm:.1f}"),
        _("check {seconds}").format(seconds=f"{t.verify:.3f}"),
    ]
    lines += [
        "",
        _(
            "{backend}: {model} | {total} s ({steps}) | {prompt}+{completion} tokens | "
            "settings {settings}"
        ).format(
            backend=answer.backend,
            model=answer.model,
            total=f"{t.total:.1f}",
            steps=", ".join(steps),
            prompt=answer.prompt_tokens,
            completion=answer.completion_tokens,
            settings=answer.settings_hash,
        ),
    ]
    if answer.rejected_quotes:
        rejected = len(answer.rejected_quotes)
        lines.append(
            ngettext(
                "{n} quote of the model was rejected.",
                "{n} quotes of the model were rejected.",
                rejected,
            ).format(n=rejected)
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
