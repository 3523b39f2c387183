"""answer() benchmark: per-stage timings, prompt tokens, and our overhead over the bare model
call, for each answer mode in the same run.

    python benchmarks/answer.py [--model qwen2.5-coder-1.5b] [--modes evidence model] [--json F]

Builds a fresh index of the corpus (embedded defaults), then for each answer mode (default:
``evidence``, the default design, against ``model``, the whole-passages prompt it replaced) and
each question measures, on the same model server: the whole ``answer()`` (retrieval, sentence
ranking, prompt, model, verify, a repair round if one happens) and the bare model call on the
very same first prompt. The ratio ``answer / bare`` is our overhead; the modes side by side are
what the shorter prompt buys. The prompt cache of llama.cpp is switched off for both, so neither
profits from the other having run first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.components import build_assistant  # noqa: E402
from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)
from assistant.core.settings import load_settings  # noqa: E402
from ingest import ingest  # noqa: E402

QUESTIONS = [
    "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?",
    "Welke drie hardnekkige fouten constateert de ROB in de publieke dienstverlening?",
    "Wanneer stuurde de minister de kabinetsreactie op 'De uitvoering aan zet' naar de Kamer?",
    "Wat is de Actieagenda Sterk Bestuur en waarop is ingezet?",
    "Hoeveel geld trekt het kabinet uit voor de Omgevingswet in 2026?",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model",
        default="qwen2.5-coder-1.5b",
        choices=["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"],
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["evidence", "model"],
        choices=["evidence", "model", "extractive"],
        help="Answer modes to measure side by side (default: evidence model).",
    )
    parser.add_argument("--data-dir", type=Path, help="Reuse this data dir (index, model cache).")
    parser.add_argument("--json", type=Path, help="Also write the numbers to this JSON file.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-answer-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        settings = load_settings(
            data_dir=data_dir,
            corpus_dir=REPO / "corpus",
            llm_backend="embedded",
            llm_embedded_model=args.model,
            llm_parallel=1,
        )
        report = ingest(settings=settings, progress=False)
        if not report.ok:
            print(report.summary(), file=sys.stderr)
            return 1
        rows = []
        for mode in args.modes:
            assistant = build_assistant(settings.model_copy(update={"answer_mode": mode}))
            rows += _measure(assistant, mode)
            assistant.close()
            if assistant.backend.server is not None:
                assistant.backend.server.stop()

    header = [
        "retrieve_s",
        "prompt_s",
        "llm_s",
        "verify_s",
        "total_s",
        "bare_llm_s",
        "overhead_ratio",
        "prompt_tokens",
        "completion_tokens",
        "repair_round",
        "refused",
        "quotes",
    ]
    print(f"answer() benchmark, embedded {args.model}, settings {settings.hash()}")
    print("  mode      #  " + "  ".join(f"{h:>14}" for h in header))
    for number, row in enumerate(rows, start=1):
        cells = "  ".join(f"{row[h]!s:>14}" for h in header)
        print(f"  {row['mode']:<8} {(number - 1) % len(QUESTIONS) + 1}  {cells}")
    print()
    print(
        f"  {'mode':<9} {'prompt tokens, mean':>20} {'answer p50 s':>13} {'bare model p50 s':>17}"
        f" {'overhead p50':>13} {'own ms p50':>11}"
    )
    for mode in args.modes:
        mine = [r for r in rows if r["mode"] == mode]
        tokens = statistics.fmean(r["prompt_tokens"] for r in mine)
        total = statistics.median(r["total_s"] for r in mine)
        bare = statistics.median(r["bare_llm_s"] for r in mine)
        ratio = statistics.median(r["overhead_ratio"] for r in mine)
        own = statistics.median(r["total_s"] - r["llm_s"] for r in mine) * 1000
        print(
            f"  {mode:<9} {tokens:>20.0f} {total:>13.1f} {bare:>17.1f} {ratio:>13.3f} {own:>11.0f}"
        )
    for number, question in enumerate(QUESTIONS, start=1):
        print(f"  {number}: {question}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "rows": rows}, indent=2))
    return 0


def _measure(assistant: Any, mode: str) -> list[dict[str, Any]]:
    backend = assistant.backend
    backend.prompt_cache = False
    for _chunk in backend.stream_json(assistant.prompt_for(QUESTIONS[0]), assistant.schema):
        pass  # start the server and load the model outside the timings
    rows = []
    for question in QUESTIONS:
        messages = assistant.prompt_for(question)
        started = time.perf_counter()
        for _chunk in backend.stream_json(messages, assistant.schema):
            pass
        bare = time.perf_counter() - started
        answer = assistant.answer(question)
        t = answer.timings
        rows.append(
            {
                "mode": mode,
                "question": question,
                "refused": answer.refused,
                "quotes": len(answer.quotes),
                "rejected": len(answer.rejected_quotes),
                "retrieve_s": round(t.retrieve, 3),
                "prompt_s": round(t.prompt, 3),
                "llm_s": round(t.llm, 2),
                "verify_s": round(t.verify, 4),
                "total_s": round(t.total, 2),
                "bare_llm_s": round(bare, 2),
                "overhead_ratio": round(t.total / bare, 3),
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
                "repair_round": any("attempt 1" in n for n in answer.notes),
            }
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
