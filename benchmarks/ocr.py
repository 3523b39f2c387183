"""OCR benchmark: how well scanned pages are read, and what scanning costs retrieval.

    python benchmarks/ocr.py [--pages 20] [--dpi 150 300] [--engines] [--skip-retrieval]
                             [--json benchmarks/results/ocr.json]

Pages are typeset from the clean text of the corpus documents (``tests/sample_files.py``),
cycling through three fonts, every fourth skewed by 1 degree; each DPI's pages go into one
image-only PDF and are read back through the product path, ``load_document(pdf,
ocr=OcrSettings(dpi=DPI))``. Per DPI: character and word error rate against the page's text
(Levenshtein distance by rapidfuzz / reference length, whitespace collapsed), Tesseract's mean
word confidence, seconds per page (``ocr_seconds / ocr_read``, and ``load_document``'s wall time).

``--engines``: the same 300-DPI pages, each read in turn by the product's ``ingest.ocr.Reader``
(tesserocr, in-process) and by the system's ``tesseract`` program through pytesseract (same
language data, ``--psm 3``), with the environment as is and with ``OMP_THREAD_LIMIT=1``.

Retrieval: the corpus indexed as it is, and with three documents replaced by image-only PDFs of
their text (300 DPI); hit@5 over the answerable reference questions quoting those documents,
a hit when a quote stands in a top-5 passage (whitespace-normalised, or rapidfuzz
``partial_ratio`` >= 90, as OCR misreads a character here and there), the same rule for both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.core import runtime_env  # noqa: E402, F401  (environment before heavy imports)

if TYPE_CHECKING:
    from PIL import Image

CORPUS = REPO / "corpus"
#: The documents replaced by scans for the retrieval comparison (27 + 9 + 38 reference questions).
SCANNED = (
    "2024-03-25-kabinetsreactie-rli-advies-de-uitvoering-aan-zet.md",
    "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt",
    "2025-07-01-kabinetsreactie-rob-advies-naar-een-uitvoerende-macht.txt",
)
SKEW_EVERY, SKEW_DEGREES = 4, 1.0
FUZZY_MIN = 90.0
MAX_BYTES = 1 << 30
CER_GOAL, HIT_GAP_GOAL = 0.02, 0.05
ENGINE_DPI = 300


@dataclass(frozen=True)
class Page:
    """One typeset page: where its text comes from and how it is set."""

    document: str
    number: int  # 1-based page of the document
    lines: list[str]
    font: str
    rotate: float

    @property
    def reference(self) -> str:
        return normalise("\n".join(self.lines))


def normalise(text: str) -> str:
    return " ".join(text.split())


def error_rates(read: str, reference: str) -> tuple[float, float]:
    """(CER, WER) of ``read`` against ``reference``, both whitespace-normalised."""
    from rapidfuzz.distance import Levenshtein

    read, reference = normalise(read), normalise(reference)
    cer = Levenshtein.distance(read, reference) / max(1, len(reference))
    words = reference.split()
    wer = Levenshtein.distance(read.split(), words) / max(1, len(words))
    return cer, wer


def document_pages(name: str) -> list[list[str]]:
    """The clean text of a corpus document (as ingest makes it) as pages of lines."""
    from ingest.clean import clean_document
    from ingest.load import load_document
    from tests.sample_files import lines_per_page, page_lines

    text = clean_document(load_document(CORPUS / name, max_bytes=MAX_BYTES)).text
    lines, size = page_lines(text), lines_per_page()
    pages = [lines[start : start + size] for start in range(0, len(lines), size)]
    return [page for page in pages if normalise(" ".join(page))]


def styled(pages: list[tuple[str, int, list[str]]]) -> list[Page]:
    """(document, page number, lines) as Pages: the fonts in turn, every SKEW_EVERY-th skewed."""
    from tests.sample_files import FONTS

    return [
        Page(document, number, lines, FONTS[i % len(FONTS)], 0.0)
        if (i + 1) % SKEW_EVERY
        else Page(document, number, lines, FONTS[i % len(FONTS)], SKEW_DEGREES)
        for i, (document, number, lines) in enumerate(pages)
    ]


def sample_pages(count: int) -> list[Page]:
    """``count`` pages taken round-robin over the corpus documents (page 1 of each, then 2...)."""
    names = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".txt", ".md"))
    queues = {name: document_pages(name) for name in names}
    chosen: list[tuple[str, int, list[str]]] = []
    depth = 0
    while len(chosen) < count and any(depth < len(q) for q in queues.values()):
        chosen += [(n, depth + 1, q[depth]) for n, q in queues.items() if depth < len(q)]
        depth += 1
    return styled(chosen[:count])


def image_pdf(path: Path, pages: list[Page], dpi: int) -> Path:
    from tests.sample_files import render_page, write_image_pdf

    images = [render_page(p.lines, dpi=dpi, font=p.font, rotate=p.rotate) for p in pages]
    return write_image_pdf(path, images)


def measure_dpi(pages: list[Page], dpi: int, folder: Path) -> dict[str, Any]:
    from ingest.load import load_document
    from ingest.ocr import OcrSettings

    pdf = image_pdf(folder / f"pages-{dpi}.pdf", pages, dpi)
    started = time.perf_counter()
    loaded = load_document(pdf, max_bytes=MAX_BYTES, ocr=OcrSettings(dpi=dpi, cache_dir=None))
    wall = time.perf_counter() - started
    assert loaded.ocr_read == len(pages), f"{loaded.ocr_read} of {len(pages)} pages OCR'd"
    rows: list[dict[str, Any]] = []
    for page, segment in zip(pages, loaded.segments, strict=True):
        assert segment.machine_read, f"page {segment.page} of {pdf} was not OCR'd"
        cer, wer = error_rates(segment.text, page.reference)
        rows.append(
            {
                "document": page.document,
                "page": page.number,
                "font": Path(page.font).stem,
                "rotate": page.rotate,
                "cer": round(cer, 5),
                "wer": round(wer, 5),
                "confidence": segment.confidence,
            }
        )
    summary = {
        "dpi": dpi,
        **summarise(rows),
        "ocr_s_per_page": loaded.ocr_seconds / loaded.ocr_read,
        "load_document_s_per_page": wall / len(rows),
    }
    texts = [segment.text for segment in loaded.segments]
    return {"summary": summary, "pages": rows, "pdf": str(pdf), "texts": texts}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary = {
        "pages": len(rows),
        "mean_cer": statistics.mean(r["cer"] for r in rows),
        "mean_wer": statistics.mean(r["wer"] for r in rows),
        "worst_cer": max(r["cer"] for r in rows),
        "mean_confidence": statistics.mean(float(r["confidence"] or 0) for r in rows),
    }
    if all("seconds" in r for r in rows):
        seconds = [r["seconds"] for r in rows]
        summary |= {"seconds_median": statistics.median(seconds), "seconds_max": max(seconds)}
    return summary


def rendered(pdf: Path, dpi: int) -> list[Image.Image]:
    """The pages of ``pdf`` as ``ingest/scans.py`` renders them for OCR."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    images = []
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                images.append(page.render(scale=dpi / 72, grayscale=True).to_pil())
            finally:
                page.close()
    finally:
        document.close()
    return images


@contextmanager
def environment(name: str, value: str | None) -> Iterator[None]:
    """``os.environ[name]`` set to ``value`` (None: as it is) while inside, then as it was."""
    before = os.environ.get(name)
    if value is not None:
        os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def pytesseract_reader(omp_thread_limit: str | None) -> Callable[[Image.Image], tuple[str, float]]:
    """A page reader through the system's ``tesseract`` program: (text, mean word confidence)."""
    import pytesseract

    from ingest.ocr import OcrSettings, tessdata

    folder = tessdata(OcrSettings())
    config = f'--psm 3 --tessdata-dir "{folder}"' if folder else "--psm 3"

    def read(image: Image.Image) -> tuple[str, float]:
        with environment("OMP_THREAD_LIMIT", omp_thread_limit):
            data = pytesseract.image_to_data(
                image, lang="nld+eng", config=config, output_type=pytesseract.Output.DICT
            )
        words = [
            (w, float(c)) for w, c in zip(data["text"], data["conf"], strict=True) if w.strip()
        ]
        confidence = statistics.mean(c for _, c in words) if words else 0.0
        return " ".join(w for w, _ in words), round(confidence, 1)

    return read


def compare_engines(run: dict[str, Any], pages: list[Page]) -> dict[str, Any]:
    """The product's Reader and the system's tesseract program on the same page images."""
    import pytesseract
    import tesserocr

    from ingest.ocr import OcrSettings, Reader, engine_version

    images = rendered(Path(run["pdf"]), ENGINE_DPI)
    as_is = os.environ.get("OMP_THREAD_LIMIT")
    system = f"tesseract {pytesseract.get_tesseract_version()}"
    engines: dict[str, dict[str, Any]] = {
        "product": {
            "engine": f"{engine_version()} in-process (tesserocr {tesserocr.__version__})",
            "rows": [],
        },
        "pytesseract": {
            "engine": f"{system} program (pytesseract {pytesseract.__version__})",
            "omp_thread_limit": as_is,
            "rows": [],
        },
        "pytesseract_omp1": {
            "engine": f"{system} program (pytesseract {pytesseract.__version__})",
            "omp_thread_limit": "1",
            "rows": [],
        },
    }
    system_reads = {
        "pytesseract": pytesseract_reader(None),
        "pytesseract_omp1": pytesseract_reader("1"),
    }
    same_text = 0
    with Reader(OcrSettings(dpi=ENGINE_DPI, cache_dir=None)) as reader:
        for page, image, product_text in zip(pages, images, run["texts"], strict=True):
            read = reader.read(image)
            same_text += read.text == product_text
            results = {"product": (read.text, read.confidence, read.seconds)}
            for name, system_read in system_reads.items():
                started = time.perf_counter()
                text, confidence = system_read(image)
                results[name] = (text, confidence, time.perf_counter() - started)
            for name, (text, confidence, seconds) in results.items():
                cer, wer = error_rates(text, page.reference)
                engines[name]["rows"].append(
                    {
                        "cer": round(cer, 5),
                        "wer": round(wer, 5),
                        "confidence": confidence,
                        "seconds": round(seconds, 3),
                    }
                )
    for engine in engines.values():
        engine |= summarise(engine["rows"])
    return {"dpi": ENGINE_DPI, "product_text_as_load_document": same_text, **engines}


# --- retrieval -----------------------------------------------------------------------------------
def found(quote: str, passage: str) -> bool:
    from rapidfuzz import fuzz

    quote, passage = normalise(quote), normalise(passage)
    return quote in passage or fuzz.partial_ratio(quote, passage) >= FUZZY_MIN


def build_index(label: str, corpus: Path, root: Path, embedder: Any) -> tuple[Any, Any]:
    from assistant.core.settings import load_settings
    from ingest.pipeline import ingest

    settings = load_settings(
        data_dir=root / f"data-{label}",
        corpus_dir=corpus,
        model_cache_dir=root / "models",
        llm_backend="embedded",
        llm_embedded_model="qwen2.5-coder-0.5b",  # built, never started: retrieval only
    )
    report = ingest(settings=settings, progress=False, embedder=embedder)
    if not report.ok:
        raise SystemExit(f"ingest of the {label} corpus failed:\n{report.summary()}")
    return settings, report


def retrieval(root: Path) -> dict[str, Any]:
    import assistant
    from assistant.core.settings import load_settings
    from assistant.index.embed import build_embedder
    from evals.metrics import hit_at
    from evals.reference import Source, load_items
    from evals.runner import retrieval_rank

    scanned_corpus = root / "corpus-scanned"
    shutil.copytree(CORPUS, scanned_corpus)
    for name in SCANNED:
        numbered = [(name, n, lines) for n, lines in enumerate(document_pages(name), start=1)]
        image_pdf(scanned_corpus / f"{Path(name).stem}.pdf", styled(numbered), 300)
        (scanned_corpus / name).unlink()
    embedder = build_embedder(load_settings())
    items = []
    for item in load_items():
        quotes: tuple[Source, ...] = tuple(s for s in item.sources if s.document in SCANNED)
        if item.answerable and quotes:
            items.append(replace(item, sources=quotes))
    result: dict[str, Any] = {"documents": list(SCANNED), "questions": len(items)}
    for label, corpus in (("born-digital", CORPUS), ("scanned", scanned_corpus)):
        started = time.perf_counter()
        settings, report = build_index(label, corpus, root, embedder)
        row: dict[str, Any] = {
            "ingest_s": time.perf_counter() - started,
            "chunks": report.chunks_total,
            "ocr_pages": report.ocr_pages,
            "ocr_s": report.ocr_seconds,
            "uncertain_pages": len(report.uncertain),
        }
        hits, spans = [], []
        for item in items:
            passages = assistant.retrieve(item.question, k=10, settings=settings)
            matched = [any(found(s.quote, p.text) for s in item.sources) for p in passages]
            hits.append(hit_at(matched.index(True) + 1 if any(matched) else None, 5))
            if label == "born-digital":  # the eval's own rule: spans in the original files
                spans.append(hit_at(retrieval_rank(item, item.question, settings), 5))
        row["hit@5"] = statistics.mean(hits)
        if spans:
            row["span_hit@5"] = statistics.mean(spans)
        assistant.close_default_assistants()
        result[label] = row
    return result


# --- the driver ----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20, help="Pages to OCR per DPI.")
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--engines", action="store_true", help="Also the tesseract program.")
    parser.add_argument("--skip-retrieval", action="store_true")
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    args = parser.parse_args()

    from ingest.ocr import OcrSettings, engine_version, tessdata

    cpus = len(os.sched_getaffinity(0))
    omp = os.environ.get("OMP_THREAD_LIMIT", "unset")
    print(
        f"nproc: {cpus}; {engine_version()} in-process through tesserocr, language data "
        f"{tessdata(OcrSettings())}; OMP_THREAD_LIMIT {omp}"
    )
    pages = sample_pages(args.pages)
    skewed = sum(p.rotate != 0 for p in pages)
    print(f"{len(pages)} pages of {len({p.document for p in pages})} documents, {skewed} skewed\n")
    payload: dict[str, Any] = {"nproc": cpus, "tesseract": engine_version(), "ocr": []}
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        root = Path(tmp)
        runs = {dpi: measure_dpi(pages, dpi, root) for dpi in args.dpi}
        payload["ocr"] = [
            {k: v for k, v in run.items() if k not in ("pdf", "texts")} for run in runs.values()
        ]
        print_ocr(runs)
        if args.engines:
            if ENGINE_DPI not in runs:
                runs[ENGINE_DPI] = measure_dpi(pages, ENGINE_DPI, root)
            payload["engines"] = print_engines(compare_engines(runs[ENGINE_DPI], pages))
        if not args.skip_retrieval:
            payload["retrieval"] = print_retrieval(retrieval(root))
    payload["goals"] = print_goals(runs, payload.get("retrieval"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


def print_ocr(runs: dict[int, dict[str, Any]]) -> None:
    from tests.sample_files import FONTS

    print("DPI | pages | mean CER | mean WER | worst CER | mean conf | OCR s/page | load s/page")
    for dpi, run in runs.items():
        s = run["summary"]
        print(
            f"{dpi:>3} | {s['pages']:>5} | {s['mean_cer']:>8.2%} | {s['mean_wer']:>8.2%} | "
            f"{s['worst_cer']:>9.2%} | {s['mean_confidence']:>9.1f} | "
            f"{s['ocr_s_per_page']:>10.2f} | {s['load_document_s_per_page']:>11.2f}"
        )
    print(
        "OCR s/page: the document's ocr_seconds / ocr_read (Tesseract, one Reader); "
        "load s/page: load_document's wall time / pages (rendering included)"
    )
    print("\nmean CER by kind of page")
    kinds: dict[str, tuple[str, Any]] = {Path(f).stem: ("font", Path(f).stem) for f in FONTS}
    kinds |= {"straight": ("rotate", 0.0), f"skewed {SKEW_DEGREES:g} deg": ("rotate", SKEW_DEGREES)}
    print(f"{'':<22} | " + " | ".join(f"{dpi:>4} DPI" for dpi in runs))
    for title, (key, value) in kinds.items():
        cells = []
        for run in runs.values():
            chosen = [r["cer"] for r in run["pages"] if r[key] == value]
            cells.append(f"{statistics.mean(chosen):>8.2%}" if chosen else f"{'-':>8}")
        print(f"{title:<22} | " + " | ".join(cells))
    worst = max(runs[max(runs)]["pages"], key=lambda r: r["cer"])
    print(
        f"worst page at {max(runs)} DPI: {worst['document']} p. {worst['page']} ({worst['font']})"
    )


def print_engines(result: dict[str, Any]) -> dict[str, Any]:
    as_is = result["pytesseract"]["omp_thread_limit"] or "unset"
    labels = {
        "product": "product (tesserocr)",
        "pytesseract": f"pytesseract, OMP_THREAD_LIMIT {as_is}",
        "pytesseract_omp1": "pytesseract, OMP_THREAD_LIMIT=1",
    }
    print(f"\nengines at {result['dpi']} DPI (same page images, read in turn page by page)")
    print(f"{'engine':<35} | mean CER | mean WER | mean conf | s/page p50 | s/page max")
    for name, label in labels.items():
        e = result[name]
        print(
            f"{label:<35} | {e['mean_cer']:>8.2%} | {e['mean_wer']:>8.2%} | "
            f"{e['mean_confidence']:>9.1f} | {e['seconds_median']:>10.2f} | "
            f"{e['seconds_max']:>10.2f}"
        )
    for name, label in labels.items():
        print(f"{label}: {result[name]['engine']}")
    print(
        f"product text equal to load_document's: {result['product_text_as_load_document']} of "
        f"{result['product']['pages']} pages; its first page includes the model load"
    )
    return result


def print_retrieval(result: dict[str, Any]) -> dict[str, Any]:
    print(
        f"\nretrieval hit@5, {result['questions']} answerable reference questions with a quote in "
        f"the {len(SCANNED)} scanned documents"
    )
    print(
        "match: quote in a top-5 passage, whitespace-normalised, or rapidfuzz "
        f"fuzz.partial_ratio >= {FUZZY_MIN:g} (both indexes)"
    )
    print("index        | hit@5 | eval span hit@5 | chunks | OCR pages | OCR s | ingest s")
    for label in ("born-digital", "scanned"):
        row = result[label]
        span = f"{row['span_hit@5']:.3f}" if "span_hit@5" in row else "-"
        print(
            f"{label:<12} | {row['hit@5']:.3f} | {span:>15} | {row['chunks']:>6} | "
            f"{row['ocr_pages']:>9} | {row['ocr_s']:>5.0f} | {row['ingest_s']:>8.0f}"
        )
    return result


def print_goals(runs: dict[int, dict[str, Any]], retrieved: dict[str, Any] | None) -> list[Any]:
    goals = []
    if 300 in runs:
        cer = runs[300]["summary"]["mean_cer"]
        goals.append((f"CER <= {CER_GOAL:.0%} at 300 DPI", f"{cer:.2%}", cer <= CER_GOAL))
    if retrieved:
        gap = retrieved["born-digital"]["hit@5"] - retrieved["scanned"]["hit@5"]
        name = f"hit@5 within {HIT_GAP_GOAL} of born-digital"
        goals.append((name, f"{gap:+.3f} lower", gap <= HIT_GAP_GOAL))
    print()
    for name, value, passed in goals:
        print(f"{'PASS' if passed else 'FAIL'}  {name} (measured: {value})")
    return [{"goal": n, "measured": v, "pass": p} for n, v, p in goals]


if __name__ == "__main__":
    sys.exit(main())
