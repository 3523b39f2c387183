"""What a follow-up question costs before it is answered: the rewrite into a standalone question.

    python benchmarks/rewrite.py [--split dev] [--model qwen2.5-coder-1.5b] [--json F]

For every follow-up turn of the hand-written conversations (``evals/conversations.jsonl``), the
conversation before it is built from the reference set (each earlier turn: its question, its
reference answer as the answer text and its reference quotes as the verified quotes, as the
API would pass them), and two rewrites are timed on the same embedded model server, with the
prompt cache on as in use:

- ``assistant``: ours (:func:`assistant.conversation.rewrite`, ``prompts/rewrite_*.txt``, a
  JSON schema, the settings' history budget);
- ``llama-index condense`` (the baseline): the condense step of llama-index's
  ``CondensePlusContextChatEngine`` (its default prompt, the whole chat history, free text).

Printed: min / median / max seconds and the mean prompt tokens of each. The server is started
and warmed up outside the timings. Run it on a quiet machine: two cores shared with another job
double every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)
from assistant.core.settings import load_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="dev", choices=["dev", "holdout", "all"])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--limit", type=int, help="At most this many follow-up turns.")
    parser.add_argument("--json", type=Path, help="Also write the timings here.")
    args = parser.parse_args()

    from llama_index.core import PromptTemplate
    from llama_index.core.chat_engine.condense_plus_context import (
        DEFAULT_CONDENSE_PROMPT_TEMPLATE,
    )
    from llama_index.core.llms import ChatMessage, MessageRole

    from assistant.conversation import rewrite
    from assistant.llm.backends import build_backend
    from evals.conversations import load_conversations

    settings = load_settings(
        llm_backend="embedded", llm_embedded_model=args.model, llm_temperature=0.0
    )
    backend = build_backend(settings)
    cases = [
        (conversation[position].item.question, _history(conversation[:position]))
        for conversation in load_conversations()
        if args.split == "all" or conversation[0].item.split == args.split
        for position in range(1, len(conversation))
    ][: args.limit]
    condense = PromptTemplate(DEFAULT_CONDENSE_PROMPT_TEMPLATE)
    warm = [ChatMessage(role=MessageRole.USER, content="Zeg ja.")]
    for _chunk in backend.stream_json(warm, {"type": "string", "maxLength": 5}):
        pass  # start and load the model outside the timings

    rows: list[dict[str, Any]] = []
    for number, (question, history) in enumerate(cases, start=1):
        started = time.perf_counter()
        ours = rewrite(
            backend,
            question,
            history,
            budget_tokens=settings.history_budget_tokens,
            answer_words=settings.history_answer_words,
        )
        ours_s = time.perf_counter() - started
        chat_history = "\n".join(
            f"{role}: {text}"
            for earlier in history
            for role, text in (("user", earlier.question), ("assistant", earlier.text))
        )
        started = time.perf_counter()
        theirs = backend.llm.complete(condense.format(chat_history=chat_history, question=question))
        theirs_s = time.perf_counter() - started
        usage = (theirs.raw or {}).get("usage") if isinstance(theirs.raw, dict) else None
        rows.append(
            {
                "question": question,
                "assistant_s": round(ours_s, 2),
                "assistant_prompt_tokens": ours.prompt_tokens,
                "assistant_standalone": ours.question,
                "assistant_note": ours.note,
                "baseline_s": round(theirs_s, 2),
                "baseline_prompt_tokens": _prompt_tokens(theirs.raw, usage),
                "baseline_standalone": theirs.text.strip()[:300],
            }
        )
        print(
            f"[{number}/{len(cases)}] ours {ours_s:5.1f} s, condense {theirs_s:5.1f} s  "
            f"{question} -> {ours.question}",
            flush=True,
        )
    backend.close()
    print(f"\nfollow-up turns: {len(rows)} ({args.split}), model {backend.model}, embedded")
    print(f"{'rewrite':<26} {'min':>6} {'median':>7} {'max':>6} {'prompt tokens':>14}")
    for label, key in (("assistant", "assistant"), ("llama-index condense", "baseline")):
        seconds = [row[f"{key}_s"] for row in rows]
        tokens = [row[f"{key}_prompt_tokens"] for row in rows if row[f"{key}_prompt_tokens"]]
        mean_tokens = f"{statistics.mean(tokens):.0f}" if tokens else "?"
        print(
            f"{label:<26} {min(seconds):6.1f} {statistics.median(seconds):7.1f} "
            f"{max(seconds):6.1f} {mean_tokens:>14}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def _history(turns: list[Any]) -> list[Any]:
    """The earlier turns as the API returns them: question, answer text, verified quotes."""
    from assistant.types import Answer, Quote, Timings

    return [
        Answer(
            question=turn.item.question,
            text=turn.item.reference_answer or "",
            refused=not turn.item.answerable,
            quotes=tuple(
                Quote(
                    text=source.quote,
                    document=source.document,
                    title=source.document,
                    page=None,
                    start=0,
                    end=len(source.quote),
                )
                for source in turn.item.sources
                if source.quote
            ),
            rejected_quotes=(),
            passages=(),
            model="reference",
            backend="reference",
            prompt_version="reference",
            settings_hash="reference",
            timings=Timings(),
        )
        for turn in turns
    ]


def _prompt_tokens(raw: Any, usage: Any) -> int:
    if isinstance(usage, dict):
        return int(usage.get("prompt_tokens") or 0)
    found = getattr(getattr(raw, "usage", None), "prompt_tokens", 0) if raw is not None else 0
    return int(found or 0)


if __name__ == "__main__":
    sys.exit(main())
