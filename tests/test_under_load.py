"""Load: eight concurrent answers while a changed document is ingested, and memory over 200
sequential questions. Real index, real 0.5B model in llama.cpp, real ingest.

Long: run by ``make test-long`` (CI's second step). The figures land in
``test-artifacts/reliability/*.json`` and are printed; the README's "Reliability" section quotes
them.
"""

from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import psutil
import pytest

from assistant.answering import Answerer
from assistant.components import build_assistant
from assistant.core.settings import Settings
from assistant.index.manifest import Manifest, read_document_text
from assistant.index.store import ChunkStore
from assistant.types import Answer
from evals.reference import load_items
from ingest import ingest
from tests.conftest import CORPUS, REPO

pytestmark = [pytest.mark.slow, pytest.mark.long]

ARTIFACTS = REPO / "test-artifacts" / "reliability"
CHANGED = "2025-07-01-kabinetsreactie-rob-advies-naar-een-uitvoerende-macht.txt"
ADDITION = (
    "\n\nAanvulling juli 2025. Het kabinet richt per 1 oktober 2025 een Expertisecentrum "
    "Uitvoerbaarheid op. Het expertisecentrum krijgt 45 medewerkers en toetst nieuwe wetten op "
    "uitvoerbaarheid voordat ze naar de Tweede Kamer gaan.\n"
)
QUESTIONS = [
    "Wanneer is het Rli-advies 'De uitvoering aan zet' gepubliceerd?",
    "Sinds wanneer geldt de Regeling Agentschappen 2024 en wie heeft die vastgesteld?",
    "Via welke vaste functionaris binnen elk ministerie kunnen volksvertegenwoordigers "
    "rechtstreeks een ambtenaar spreken?",
    "Op welke vier zaken zet de Actieagenda Sterk Bestuur in?",
    "Wat houdt de 'decentralisatieparadox' in?",
    "Hoe proberen departementen het inhuren van externen terug te dringen?",
    "What share of external hiring at central government in 2022 was for ICT work?",
    "Hoeveel kost de nieuwe kazerne in Assen?",  # unanswerable: a refusal under load too
]
ANSWER_SETTINGS = {
    "llm_backend": "embedded",
    "llm_embedded_model": "qwen2.5-coder-0.5b",
    "llm_temperature": 0.0,
    "top_k": 3,
}


def _report(name: str, figures: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")


def _texts(settings: Settings) -> dict[str, str]:
    folder = settings.index_dir / "documents"
    return {
        p.stem: read_document_text(folder, p.stem).text.text for p in sorted(folder.glob("*.json"))
    }


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


@pytest.fixture
def own_index(
    tmp_path: Path, corpus_index: tuple[Settings, Any], make_settings: Callable[..., Settings]
) -> Settings:
    """A writable copy of the session's corpus index and of the corpus."""
    shutil.copytree(corpus_index[0].index_dir, tmp_path / "data" / "index")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return make_settings(corpus_dir=corpus, llm_parallel=2, **ANSWER_SETTINGS)


def test_eight_concurrent_answers_while_a_changed_document_is_ingested(
    own_index: Settings, embedder: Any, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    settings = own_index
    assistant = build_assistant(settings, embedder=embedder)
    assistant.backend.server.ensure_running()  # time answers, not the model's start-up
    before = _texts(settings)
    changed = settings.corpus_dir / CHANGED
    changed.write_text(changed.read_text(encoding="utf-8") + ADDITION, encoding="utf-8")

    latencies: list[float] = []
    ingest_window: list[float] = []
    start = threading.Barrier(len(QUESTIONS) + 1)

    def ask(question: str) -> Answer:
        start.wait()
        mark = time.perf_counter()
        answer = assistant.answer(question)
        latencies.append(time.perf_counter() - mark)
        return answer

    def reingest() -> Any:
        start.wait()
        mark = time.perf_counter()
        report = ingest(settings=settings, progress=False, embedder=embedder)
        ingest_window.extend([mark, time.perf_counter()])
        return report

    began = time.perf_counter()
    pool = ThreadPoolExecutor(len(QUESTIONS) + 1)
    try:
        asked = [pool.submit(ask, q) for q in QUESTIONS]
        ingested = pool.submit(reingest)
        _done, pending = wait([*asked, ingested], timeout=600)
        assert not pending, "answers or the ingest did not finish: a deadlock or a hang"
        wall = time.perf_counter() - began
        answers = [future.result() for future in asked]  # re-raises any error
        report = ingested.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        assistant.backend.server.stop()

    assert report.ok and report.summary()
    after = _texts(settings)
    # Every quote stands, at its offsets, in the document as it was when it was read.
    for answer in answers:
        assert answer.text and (answer.refused or answer.quotes)
        for quote in answer.quotes:
            versions = [v for v in (before.get(quote.document), after.get(quote.document)) if v]
            assert any(v[quote.start : quote.end] == quote.text for v in versions), quote
    assert answers[-1].refused  # the unanswerable question
    # The index after the concurrent run equals a clean build of the changed corpus.
    clean = make_settings(corpus_dir=settings.corpus_dir, data_dir=tmp_path / "clean")
    ingest(settings=clean, progress=False, embedder=embedder)
    assert _chunks(settings, embedder) == _chunks(clean, embedder)
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    assert sorted(_chunks(settings, embedder)) == manifest.chunk_ids()

    # ... and a fresh assistant over it finds the added paragraph.
    fresh = build_assistant(settings, embedder=embedder)
    try:
        new = fresh.answer("Hoeveel medewerkers krijgt het Expertisecentrum Uitvoerbaarheid?")
    finally:
        fresh.backend.server.stop()
    assert any("Expertisecentrum" in p.text for p in new.passages)
    if not new.refused:
        assert any("45 medewerkers" in q.text for q in new.quotes)

    _report(
        "concurrent-answers",
        {
            "concurrent_answers": len(QUESTIONS),
            "with_ingest_of_changed_document": CHANGED,
            "model": "qwen2.5-coder-0.5b (embedded, 2 slots), top_k 3",
            "errors": 0,
            "refused": sum(a.refused for a in answers),
            "wall_s": round(wall, 1),
            "throughput_answers_per_min": round(60 * len(answers) / wall, 2),
            "latency_p50_s": round(statistics.median(latencies), 1),
            "latency_p95_s": round(_p95(latencies), 1),
            "latency_max_s": round(max(latencies), 1),
            "ingest_s": round(ingest_window[1] - ingest_window[0], 1),
        },
    )


def _chunks(settings: Settings, embedder: Any) -> dict[str, tuple[str, int, int]]:
    store = ChunkStore(settings, embedder)
    return {
        node.node_id: (node.get_content(), node.metadata["start"], node.metadata["end"])
        for node in store.nodes()
    }


@pytest.mark.timeout(3600)
def test_memory_stays_bounded_over_200_sequential_questions(
    corpus_index: tuple[Settings, Any], make_settings: Callable[..., Settings], embedder: Any
) -> None:
    """RSS of this process and of the model server, after a warm-up and after 200 questions.

    A leak of a few kB per question grows by megabytes here; the bound allows for allocator
    noise, not for a leak. Twelve reference questions in turn: every step of ``answer()`` runs
    each time, while llama.cpp's prompt cache (``cache_ram``) serves the repeated prompts; in
    ``sentences`` mode the model's replies are short. Copied quotes and 77 distinct questions
    made this an hour on 2 cores.
    """
    settings = make_settings(
        data_dir=corpus_index[0].data_dir,
        llm_parallel=1,
        quote_mode="sentences",  # the model writes sentence numbers, not copies: short replies
        **{**ANSWER_SETTINGS, "top_k": 2},
    )
    questions = [item.question for item in load_items()][::6][:12]
    assistant: Answerer = build_assistant(settings, embedder=embedder)
    server = assistant.backend.server
    me = psutil.Process()
    try:
        for question in questions:  # warm-up: caches, lazy imports, the model's buffers
            assistant.answer(question)
        model = psutil.Process(server.pid)
        first = (me.memory_info().rss, model.memory_info().rss)
        samples = []
        refused = 0
        began = time.perf_counter()
        for number in range(200):
            answer = assistant.answer(questions[number % len(questions)])
            refused += answer.refused
            if number % 20 == 19:
                samples.append(round(me.memory_info().rss / 2**20))
        seconds = time.perf_counter() - began
        last = (me.memory_info().rss, model.memory_info().rss)
        assert model.pid == server.pid  # one server throughout: its RSS is comparable
    finally:
        server.stop()
    growth = [(b - a) / 2**20 for a, b in zip(first, last, strict=True)]
    _report(
        "memory-200-questions",
        {
            "questions": 200,
            "refused": refused,
            "seconds": round(seconds, 1),
            "app_rss_mib_start": round(first[0] / 2**20),
            "app_rss_mib_end": round(last[0] / 2**20),
            "app_rss_mib_every_20": samples,
            "model_server_rss_mib_start": round(first[1] / 2**20),
            "model_server_rss_mib_end": round(last[1] / 2**20),
        },
    )
    assert growth[0] < 64, f"this process grew by {growth[0]:.0f} MiB over 200 questions"
    assert growth[1] < 300, f"the model server grew by {growth[1]:.0f} MiB over 200 questions"
