"""Ingestion benchmark: the whole pipeline against the embedder alone, and a no-op re-ingest.

    python benchmarks/ingest.py [--corpus DIR] [--json results.json]

Prints documents/s and chunks/s of a full ingest into a fresh embedded index, the embedder alone
on the very same chunk texts in the same run (so ``ingest / embedder`` is our overhead), and the
time of a no-op re-ingest in-process and as a fresh ``python -m ingest`` process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)
from assistant.core.settings import load_settings  # noqa: E402
from assistant.index.embed import build_embedder, embed_passages  # noqa: E402
from assistant.index.store import ChunkStore  # noqa: E402
from ingest import ingest  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--json", type=Path, help="Also write the numbers to this JSON file.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", corpus_dir=args.corpus)
        embedder = build_embedder(settings)
        embedder.get_query_embedding("opwarmen")  # load the model outside the timings

        started = time.perf_counter()
        report = ingest(settings=settings, progress=False, embedder=embedder)
        ingest_s = time.perf_counter() - started
        if not report.ok:
            print(report.summary(), file=sys.stderr)
            return 1

        texts = [node.get_content() for node in ChunkStore(settings, embedder).nodes()]
        started = time.perf_counter()
        batch = settings.embedding_batch_size
        for start in range(0, len(texts), batch):
            embed_passages(embedder, texts[start : start + batch])
        embed_s = time.perf_counter() - started

        started = time.perf_counter()
        noop = ingest(settings=settings, progress=False, embedder=embedder)
        noop_s = time.perf_counter() - started
        assert noop.chunks_written == 0

        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": str(settings.data_dir),
            "ASSISTANT_CORPUS_DIR": str(args.corpus),
        }
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ingest", "--quiet"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        noop_cli_s = time.perf_counter() - started

    documents, chunks = report.documents_total, report.chunks_total
    results = {
        "documents": documents,
        "chunks": chunks,
        "ingest_s": round(ingest_s, 2),
        "ingest_documents_per_s": round(documents / ingest_s, 3),
        "ingest_chunks_per_s": round(chunks / ingest_s, 2),
        "embedder_only_s": round(embed_s, 2),
        "embedder_chunks_per_s": round(chunks / embed_s, 2),
        "overhead_ratio_ingest_over_embedder": round(ingest_s / embed_s, 3),
        "noop_reingest_in_process_s": round(noop_s, 3),
        "noop_reingest_cli_s": round(noop_cli_s, 2),
        "embedding_model": settings.resolved_embedding_model,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "cpus": os.cpu_count(),
    }
    width = max(len(k) for k in results)
    print(f"Ingest benchmark ({args.corpus})")
    for key, value in results.items():
        print(f"  {key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
