"""Command line: ``python -m assistant ask "vraag" [--json] [--stream]`` and
``python -m assistant chat`` (a conversation: follow-up questions lean on the earlier ones)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.errors import AssistantError, QuestionError
from assistant.core.settings import load_settings
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answering import Answerer


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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "bm25s", "chromadb", "root"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

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
