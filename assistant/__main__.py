"""Command line: ``python -m assistant ask "vraag" [--json] [--stream]``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap

from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import load_settings
from assistant.types import Answer


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
        result: Answer | None = None
        streamed = ""
        for item in assistant.stream_answer(args.question):
            if isinstance(item, Answer):
                result = item
            elif args.stream and isinstance(item, str):
                streamed += item
                print(item, end="", flush=True)
        assert result is not None
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        if streamed:
            print("\n")
        # A streamed answer is on screen already, unless a later check replaced it.
        replaced = result.refused or streamed.strip() != result.text
        print(render(result, with_text=not streamed or replaced))
    return 0


def render(answer: Answer, *, with_text: bool = True) -> str:
    """The answer as plain text for a terminal."""
    lines = [answer.text, ""] if with_text else []
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
        f"{answer.backend}: {answer.model} | {t.total:.1f} s (zoeken {t.retrieve:.2f}, model "
        f"{t.llm:.1f}, controle {t.verify:.3f}) | {answer.prompt_tokens}+"
        f"{answer.completion_tokens} tokens | instellingen {answer.settings_hash}",
    ]
    if answer.rejected_quotes:
        lines.append(f"{len(answer.rejected_quotes)} citaat/citaten van het model afgekeurd.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
