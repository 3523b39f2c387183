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
from assistant.core.errors import AssistantError, QuestionError
from assistant.core.settings import load_settings
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answering import Answerer
    from assistant.reverify import ExportCheck

_VERIFY_EXAMPLE = """\
example:
  python -m assistant verify antwoord.json
    [1] ongewijzigd: Kabinetsreactie Rli-advies, p. 2 (tekens 1520-1688)
    [2] verplaatst (staat er nog letterlijk): Nota (tekens 109-186, nu 154-231, brontekst 154-231)
        Het document is gewijzigd, maar het citaat staat er nog letterlijk, nu op tekens 154–231,
        brontekst 154–231.
        “Het kabinet trekt vijf miljoen euro uit voor de uitvoering van het programma.”
  2 van 2 citaten staan er nog.

exit status: 0 every quote still stands, 1 a quote is gone, its document removed or the
export edited, 2 the file or the index cannot be read."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant",
        description="Ask questions about the indexed documents; answers carry verified quotes.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="Answer one question.")
    ask.add_argument("question", help="The question, in Dutch or English.")
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="Print the full answer as JSON.")
    output.add_argument("--stream", action="store_true", help="Print the answer as it is written.")
    ask.add_argument("-v", "--verbose", action="store_true", help="Log what happens.")
    chat = commands.add_parser(
        "chat",
        help="A conversation in the terminal: ask on, the assistant understands follow-ups.",
        description="Type a question and Enter; follow-up questions may refer to the earlier "
        "ones (\"Hoe reageert het kabinet daarop?\"). 'nieuw' starts a new conversation, "
        "'stop' or Ctrl-D ends it. Answers stream in, with verified quotes and timings.",
    )
    chat.add_argument("-v", "--verbose", action="store_true", help="Log what happens.")
    verify = commands.add_parser(
        "verify",
        help="Check an exported answer (JSON) against the index: do its quotes still stand?",
        # Wrapped by hand: the raw formatter keeps the example's lines as they are.
        description="Check each quote of a JSON export (*Exporteer JSON* in the web UI) against\n"
        "the current index: unchanged, moved in an edited document but still verbatim\n"
        "(with its new offsets), gone, its document removed, or edited in the export\n"
        "itself. Reads the index only; no model is needed.",
        epilog=_VERIFY_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("export", type=Path, help="The exported answer, a .json file.")
    verify.add_argument("--json", action="store_true", help="Print the result as JSON.")
    verify.add_argument("-v", "--verbose", action="store_true", help="Log what happens.")
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
        assistant = build_assistant(load_settings())
        if assistant.backend.note:
            print(f"[{assistant.backend.note}]", file=sys.stderr)
        if args.command == "chat":
            return _chat(assistant)
        result = _ask(assistant, args.question, (), stream=args.stream, show=not args.json)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
        print(f"error: {exc}", file=sys.stderr)
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

    lines = [f"Vraag: {check.question}"] if check.question else []
    for quote in check.quotes:
        page = quote.current.page if quote.current else quote.exported.page
        where = quote.title + (f", p. {page}" if page is not None else "")
        span = f"tekens {quote.exported.start}-{quote.exported.end}"
        if quote.status == "moved" and quote.current is not None:
            span += f", nu {quote.current.start}-{quote.current.end}"
            if quote.current.source_start is not None:
                span += f", brontekst {quote.current.source_start}-{quote.current.source_end}"
        lines.append(f"  [{quote.number}] {quote.label}: {where} ({span})")
        if quote.status != "unchanged":
            lines.append(textwrap.indent(textwrap.fill(quote.message, 92), "      "))
            lines.append(textwrap.indent(textwrap.shorten(f"“{quote.text}”", 92), "      "))
    standing = sum(q.stands for q in check.quotes)
    if not check.quotes:
        lines.append("De export bevat geen citaten; er is niets te controleren.")
    else:
        lines.append(f"{standing} van {len(check.quotes)} citaten staan er nog.")
        failing = {LABELS[s]: n for s, n in check.counts().items() if s not in STANDING}
        if failing:
            lines.append(
                "Staan er niet meer: " + ", ".join(f"{n} {label}" for label, n in failing.items())
            )
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
    print("Stel een vraag ('nieuw': nieuw gesprek, 'stop' of Ctrl-D: einde).")
    while True:
        try:
            question = input("\nvraag> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.lower() in {"stop", "exit", "quit"}:
            return 0
        if question.lower() in {"nieuw", "new"}:
            history.clear()
            print("Nieuw gesprek.")
            continue
        if not question:
            continue
        try:
            history.append(_ask(assistant, question, history, stream=True))
        except QuestionError as exc:  # a bad question ends the turn, not the conversation
            print(f"fout: {exc}", file=sys.stderr)


def render(answer: Answer, *, with_text: bool = True) -> str:
    """The answer as plain text for a terminal."""
    lines = [answer.text, ""] if with_text else []
    if answer.standalone_question:
        lines[:0] = [f"Opgevat als: {answer.standalone_question}", ""]
    if answer.refused:
        lines.append("Mogelijk relevante passages:")
        for number, passage in enumerate(answer.passages[:3], start=1):
            where = f", p. {passage.page}" if passage.page else ""
            lines.append(f"  [{number}] {passage.title}{where}")
            lines.append(textwrap.indent(textwrap.fill(passage.text[:400], 96), "      "))
    else:
        lines.append("Bronnen (letterlijk, gecontroleerd):")
        for number, quote in enumerate(answer.quotes, start=1):
            where = f", p. {quote.page}" if quote.page else ""
            where += ", voetnoot" if quote.footnote else ""
            where += ", OCR: machinaal gelezen van een scan" if quote.machine_read else ""
            where += "".join(f", {part}" for part in quote.written_by)
            lines.append(f"  [{number}] {quote.title}{where} (tekens {quote.start}-{quote.end})")
            lines.append(textwrap.indent(textwrap.fill(f"“{quote.text}”", 96), "      "))
    t = answer.timings
    lines += [
        "",
        f"{answer.backend}: {answer.model} | {t.total:.1f} s ("
        + (f"herschrijven {t.rewrite:.1f}, " if t.rewrite else "")
        + f"zoeken {t.retrieve:.2f}, model "
        f"{t.llm:.1f}, controle {t.verify:.3f}) | {answer.prompt_tokens}+"
        f"{answer.completion_tokens} tokens | instellingen {answer.settings_hash}",
    ]
    if answer.rejected_quotes:
        lines.append(f"{len(answer.rejected_quotes)} citaat/citaten van het model afgekeurd.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
