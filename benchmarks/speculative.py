"""Speculative decoding on 2 cores: does it make the 1.5B model answer faster?

    python benchmarks/speculative.py [--kinds none ngram draft] [--data-dir data] [--json F]

For each kind (``none``, the baseline; ``ngram``, llama.cpp drafting from the prompt's own word
sequences, which suits answers that copy their sentences; ``draft``, Qwen2.5-Coder-0.5B drafting
for the 1.5B) a fresh embedded model server is started and the same evidence-first prompts (the
questions of benchmarks/answer.py, built once from the index in ``--data-dir``) are sent with the
prompt cache off, each ``--repeats`` times. Printed per kind: the median seconds per call and
the completion tokens, and whether the replies equal the baseline's (they should: speculative
decoding must not change what greedy decoding writes; sampling at temperature 0.1 may).
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

from assistant.components import build_assistant  # noqa: E402
from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)
from assistant.core.settings import load_settings  # noqa: E402
from benchmarks.answer import QUESTIONS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["none", "ngram", "draft"])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data", help="An ingested index.")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    base = load_settings(data_dir=args.data_dir, llm_backend="embedded", llm_temperature=0.0)
    prompts = None
    rows: list[dict[str, Any]] = []
    replies: dict[str, list[str]] = {}
    for kind in args.kinds:
        assistant = build_assistant(base.model_copy(update={"llm_speculative": kind}))
        if prompts is None:
            prompts = [assistant.prompt_for(q) for q in QUESTIONS]
        backend = assistant.backend
        backend.prompt_cache = False
        for _chunk in backend.stream_json(prompts[0], assistant.schema):
            pass  # start the server outside the timings
        replies[kind] = []
        for number, messages in enumerate(prompts, start=1):
            for _repeat in range(args.repeats):
                started = time.perf_counter()
                chunks = list(backend.stream_json(messages, assistant.schema))
                last = chunks[-1] if chunks else None
                seconds = time.perf_counter() - started
                assert last is not None
                rows.append(
                    {
                        "kind": kind,
                        "question": number,
                        "seconds": round(seconds, 2),
                        "completion_tokens": last.completion_tokens,
                        "prompt_tokens": last.prompt_tokens,
                    }
                )
            replies[kind].append(last.text)
        assistant.close()
        if backend.server is not None:
            backend.server.stop()

    print(f"speculative decoding, embedded 1.5B, {args.repeats} calls per prompt, cache off")
    print(f"  {'kind':<6} {'p50 s':>7} {'min s':>7} {'max s':>7} {'tokens':>7} same-as-none")
    baseline = replies.get("none")
    for kind in args.kinds:
        mine = [r["seconds"] for r in rows if r["kind"] == kind]
        tokens = statistics.fmean(r["completion_tokens"] for r in rows if r["kind"] == kind)
        same = "-" if baseline is None or kind == "none" else str(replies[kind] == baseline)
        print(
            f"  {kind:<6} {statistics.median(mine):>7.2f} {min(mine):>7.2f} {max(mine):>7.2f}"
            f" {tokens:>7.0f} {same}"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "replies": replies}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
