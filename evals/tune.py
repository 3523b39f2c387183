"""Retrieval tuning: ``python -m evals.tune [--split dev] [--out FILE]``.

Builds one index per chunking (in a temporary folder: the real index is not touched) and scores
retrieval of the reference passages for every combination of fusion mode and candidate count,
without asking the model, so a whole grid takes minutes. Prints one table (and writes it as
JSON); the winners then go into a full run with answers (``python -m evals``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant import close_default_assistants
from assistant.core import runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.core.settings import load_settings
from assistant.index.embed import build_embedder
from evals.reference import load_items, select
from evals.runner import evaluate
from ingest.pipeline import ingest

CHUNKINGS = ((200, 40), (300, 50), (400, 60), (512, 80))
FUSIONS = ("reciprocal_rerank", "relative_score", "dist_based_score")
CANDIDATES = (10, 20, 40)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.tune", description=__doc__)
    parser.add_argument("--split", default="dev", choices=["dev", "holdout", "all"])
    parser.add_argument("--out", type=Path, help="Write the table as JSON here too.")
    args = parser.parse_args(argv)

    items = [i for i in select(load_items(), split=args.split) if i.answerable]
    embedder = build_embedder(load_settings())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tune-") as tmp:
        for size, overlap in CHUNKINGS:
            base = {
                "data_dir": Path(tmp) / f"c{size}",
                "chunk_size": size,
                "chunk_overlap": overlap,
            }
            started = time.perf_counter()
            report = ingest(settings=load_settings(**base), progress=False, embedder=embedder)
            seconds = time.perf_counter() - started
            print(f"chunks {size}/{overlap}: {report.chunks_total} chunks, {seconds:.0f} s")
            for fusion, candidates in itertools.product(FUSIONS, CANDIDATES):
                settings = load_settings(
                    **base, fusion_mode=fusion, retrieval_candidates=candidates
                )
                try:
                    run = evaluate(items, settings, progress=False, retrieval_only=True)
                finally:
                    # Each grid point has its own settings, so its own shared assistant (model
                    # backend, Chroma client): closed here rather than kept until the end.
                    close_default_assistants()
                overall = run.summary["overall"]
                rows.append(
                    {
                        "chunk_size": size,
                        "chunk_overlap": overlap,
                        "chunks": report.chunks_total,
                        "fusion_mode": fusion,
                        "candidates": candidates,
                        **{m: overall[m] for m in ("hit@1", "hit@3", "hit@5", "mrr@10")},
                        "hit@top_k": _hit_within(run.items, settings.top_k),
                        "retrieve_p50_s": overall["retrieve_p50_s"],
                    }
                )
    print(_table(rows, len(items)))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


def _hit_within(results: list[dict[str, Any]], k: int) -> float:
    """Share of items whose reference passage is among the ``k`` passages the model gets."""
    hits = [r["metrics"]["rank"] is not None and r["metrics"]["rank"] <= k for r in results]
    return round(sum(hits) / len(hits), 3) if hits else 0.0


def _table(rows: list[dict[str, Any]], items: int) -> str:
    header = (
        f"{'chunk':>8} {'chunks':>6} {'fusion':<18} {'cand':>4} {'hit@1':>6} {'hit@3':>6} "
        f"{'hit@5':>6} {'mrr@10':>6} {'hit@k':>6}"
    )
    lines = [f"\nRetrieval over {items} answerable items", header, "-" * len(header)]
    for r in sorted(rows, key=lambda r: (-r["mrr@10"], -r["hit@5"])):
        lines.append(
            f"{r['chunk_size']:>4}/{r['chunk_overlap']:<3} {r['chunks']:>6} {r['fusion_mode']:<18} "
            f"{r['candidates']:>4} {r['hit@1']:>6.3f} {r['hit@3']:>6.3f} {r['hit@5']:>6.3f} "
            f"{r['mrr@10']:>6.3f} {r['hit@top_k']:>6.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
