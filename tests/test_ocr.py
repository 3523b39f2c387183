"""Scanned documents, read by the real Tesseract (tesserocr, with Debian's Dutch data; a
prerequisite of the tests, installed by ``.ci/run``: without it these tests fail, not skip).

The scans are made here: pages of a corpus document typeset with Pillow in a few fonts, one
skewed, one at 150 DPI, wrapped as a PDF of images and nothing else, as a scanner makes them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.core.errors import DocumentError
from assistant.core.settings import Settings
from assistant.index.manifest import Manifest, read_document_text
from assistant.types import Answer, Preview
from ingest import ingest
from ingest.load import load_document
from ingest.ocr import OcrSettings
from tests.conftest import CORPUS, SMALL_MODEL
from tests.sample_files import (
    FONTS,
    page_lines,
    render_page,
    write_binary,
    write_image_pdf,
)
from tests.servers import ingest_process

NEWS = CORPUS / "2024-03-25-nieuwsbericht-kabinetsreactie-de-uitvoering-aan-zet.txt"
LIMIT = 50 * 2**20


def _news_pages() -> list[list[str]]:
    """The news item's text in three pages of lines."""
    lines = page_lines(NEWS.read_text(encoding="utf-8"))
    third = len(lines) // 3 + 1
    return [lines[:third], lines[third : 2 * third], lines[2 * third :]]


def _scan(path: Path, pages: list[list[str]] | None = None) -> Path:
    """An image-only PDF: a serif page at 300 DPI, a sans page skewed by 1 degree, and a
    condensed page scanned at 150 DPI."""
    pages = pages or _news_pages()
    looks: list[dict[str, Any]] = [
        {"dpi": 300, "font": FONTS[0]},
        {"dpi": 300, "font": FONTS[1], "rotate": 1.0},
        {"dpi": 150, "font": FONTS[2]},
    ]
    images = [render_page(lines, **looks[i % 3]) for i, lines in enumerate(pages)]
    return write_image_pdf(path, images)


def _words(text: str) -> list[str]:
    return text.split()


def test_a_scanned_pdf_is_read_page_by_page_with_its_confidence(tmp_path: Path) -> None:
    document = load_document(_scan(tmp_path / "scan.pdf"), max_bytes=LIMIT)
    assert [s.page for s in document.segments] == [1, 2, 3]
    assert all(s.machine_read for s in document.segments)
    expected = _news_pages()
    for segment, lines in zip(document.segments, expected, strict=True):
        assert segment.confidence is not None and segment.confidence > 80, segment
        truth = _words(" ".join(lines))
        read = set(_words(segment.text))
        found = sum(1 for word in truth if word in read)
        assert found / len(truth) > 0.9, (segment.page, segment.text[:300])
    assert document.ocr_read == 3 and document.ocr_seconds > 0


def test_a_mixed_pdf_keeps_its_text_layer_and_reads_only_the_scanned_page(tmp_path: Path) -> None:
    typed = ["Pagina een is getypt: de begroting voor 2025 bedraagt 12 miljoen euro."]
    scanned = render_page(page_lines("De scan op pagina twee noemt het Ketenloket Oost."))
    path = write_image_pdf(tmp_path / "mixed.pdf", [scanned], typed={0: typed})
    document = load_document(path, max_bytes=LIMIT)
    first, second = document.segments
    assert not first.machine_read and first.text.strip() == typed[0]  # exact, not re-read
    assert second.machine_read and "Ketenloket Oost" in second.text
    assert document.ocr_read == 1


def test_a_multi_page_tiff_is_a_document_of_pages(tmp_path: Path) -> None:
    pages = [
        render_page(
            page_lines("Eerste pagina: de Woo-beslissing over de dijkversterking."), dpi=200
        ),
        render_page(page_lines("Tweede pagina: het bezwaar is ongegrond verklaard."), dpi=200),
    ]
    path = tmp_path / "beslissing.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    document = load_document(path, max_bytes=LIMIT)
    assert document.format == "image"
    assert [(s.page, s.machine_read) for s in document.segments] == [(1, True), (2, True)]
    assert "dijkversterking" in document.segments[0].text
    assert "ongegrond" in document.segments[1].text


def test_an_image_without_text_is_reported_and_not_indexed(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    from PIL import Image, ImageDraw

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    photo = Image.new("RGB", (1200, 900), "white")
    ImageDraw.Draw(photo).ellipse((200, 150, 1000, 750), fill=(40, 120, 60))
    photo.save(corpus / "foto.png")
    (corpus / "notitie.txt").write_text("Een notitie over de dijkversterking in 2031.\n")
    report = ingest(settings=make_settings(corpus_dir=corpus), progress=False, embedder=embedder)
    assert [Path(p).name for p in report.added] == ["notitie.txt"]
    (failure,) = report.failed
    assert failure.path.endswith("foto.png") and "OCR found no text" in failure.reason
    assert failure.hint


def test_a_corrupt_image_and_a_decompression_bomb_are_refused_with_a_reason(
    tmp_path: Path,
) -> None:
    from PIL import Image

    broken = tmp_path / "kapot.jpg"
    good = tmp_path / "goed.jpg"
    render_page(["Een pagina."], dpi=100).save(good)
    broken.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DocumentError) as info:
        load_document(broken, max_bytes=LIMIT)
    assert info.value.hint and "image" in info.value.reason
    with pytest.raises(DocumentError, match="not a readable image"):
        load_document(write_binary(tmp_path / "ruis.png"), max_bytes=LIMIT)
    # 30,000 x 30,000 pixels in a few hundred kB: decoded, 900 MB.
    bomb = tmp_path / "bom.png"
    Image.new("1", (30_000, 30_000), 1).save(bomb, optimize=True)
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(DocumentError, match="megapixels") as info:
        load_document(bomb, max_bytes=LIMIT)
    assert info.value.hint


def test_a_scan_over_the_page_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = _scan(tmp_path / "scan.pdf")
    started = time.perf_counter()
    with pytest.raises(DocumentError, match="3 pages need OCR, over the limit of 2") as info:
        load_document(path, max_bytes=LIMIT, ocr=OcrSettings(max_pages=2))
    assert "ASSISTANT_OCR_MAX_PAGES" in (info.value.hint or "")
    assert time.perf_counter() - started < 5  # refused up front, not after reading two pages


def test_without_the_dutch_ocr_data_a_scan_fails_with_the_install_command_and_the_rest_is_in(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    """Tesseract's Dutch data absent: SIMULATED by pointing the data folder at an empty one
    (it is installed on this machine)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _scan(corpus / "scan.pdf", _news_pages()[:1])
    (corpus / "notitie.txt").write_text("Een notitie over de dijkversterking in 2031.\n")
    empty = tmp_path / "tessdata"
    empty.mkdir()
    settings = make_settings(corpus_dir=corpus, ocr_tessdata_dir=empty)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert [Path(p).name for p in report.added] == ["notitie.txt"]
    (failure,) = report.failed
    assert "language data for nld, eng is not installed" in failure.reason
    assert "sudo apt install tesseract-ocr-nld tesseract-ocr-eng" in (failure.hint or "")


def test_ocr_text_is_cached_by_content_and_low_confidence_pages_are_named(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _scan(corpus / "scan.pdf")
    settings = make_settings(corpus_dir=corpus, ocr_min_confidence=99.5)
    first = ingest(settings=settings, progress=False, embedder=embedder)
    assert first.ok and first.ocr_pages == 3 and first.ocr_cached == 0
    assert len(first.uncertain) == 3  # nobody reads at 99.5%: each page is named...
    assert "LOW OCR CONFIDENCE" in first.summary() and "p. 2" in first.summary()
    record = next(iter(Manifest.load(settings.index_dir / "manifest.json").documents.values()))
    assert record.pages == 3  # ...and still indexed
    again = ingest(settings=settings, progress=False, embedder=embedder)
    assert again.unchanged and again.ocr_pages == 0  # an unchanged file is not loaded at all
    rebuilt = ingest(settings=settings, progress=False, embedder=embedder, rebuild=True)
    assert rebuilt.ocr_pages == 3 and rebuilt.ocr_cached == 3  # a rebuild reads no page again
    assert "3 from the OCR cache" in rebuilt.summary()


def test_killed_during_ocr_then_rerun_equals_a_clean_run(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pages = _news_pages()
    _scan(corpus / "scan.pdf", pages + pages)  # six pages: seconds of OCR to land a kill in
    (corpus / "notitie.txt").write_text("Een notitie over de dijkversterking in 2031.\n")
    clean = make_settings(corpus_dir=corpus, data_dir=tmp_path / "clean")
    assert ingest(settings=clean, progress=False, embedder=embedder).ok

    killed = make_settings(corpus_dir=corpus, data_dir=tmp_path / "killed")
    cache = killed.data_dir / "ocr-cache"
    process = ingest_process(killed)
    deadline = time.monotonic() + 300
    while not any(cache.rglob("*.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "ingest ended before a page was read: nothing was killed"
    process.send_signal(signal.SIGKILL)  # mid-OCR: one page read, five to go
    process.wait()
    read_before = len(list(cache.rglob("*.json")))
    assert 1 <= read_before < 6

    report = ingest(settings=killed, progress=False, embedder=embedder)
    assert report.ok and report.ocr_cached >= read_before
    for settings in (clean, killed):
        manifest = Manifest.load(settings.index_dir / "manifest.json")
        assert sorted(Path(r.source).name for r in manifest.documents.values()) == [
            "notitie.txt",
            "scan.pdf",
        ]
    texts = [
        {d: read_document_text(s.index_dir / "documents", d).text.text for d in _ids(s)}
        for s in (clean, killed)
    ]
    assert texts[0] == texts[1]


def _ids(settings: Settings) -> list[str]:
    return sorted(Manifest.load(settings.index_dir / "manifest.json").documents)


@pytest.mark.slow
def test_a_scanned_page_is_retrieved_and_quoted_with_its_page_and_the_ocr_mark(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _scan(corpus / "kabinetsreactie-scan.pdf")
    settings = make_settings(corpus_dir=corpus, **SMALL_MODEL)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok and report.ocr_pages == 3, report.summary()
    assistant = build_assistant(settings, embedder=embedder)
    try:
        passages = assistant.retrieve("brief van de secretarissen-generaal aan de informateur")
        assert "15 januari 2024" in passages[0].text
        questions = [
            "Aan wie stuurde de minister de kabinetsreactie?",
            "Wanneer stuurden de secretarissen-generaal een brief aan de informateur?",
        ]
        answers: list[Answer] = []
        for question in questions:
            items = list(assistant.stream_answer(question, preview=True))
            preview = items[0]
            assert isinstance(preview, Preview) and preview.quotes
            assert all(q.machine_read and q.page in (1, 2, 3) for q in preview.quotes)
            final = items[-1]
            assert isinstance(final, Answer)
            answers.append(final)
    finally:
        if assistant.backend.server is not None:
            assistant.backend.server.stop()
    answered = [a for a in answers if not a.refused]
    assert answered, [(a.refusal_reason, a.notes) for a in answers]
    stored = read_document_text(settings.index_dir / "documents", _ids(settings)[0])
    for answer in answered:
        for quote in answer.quotes:
            assert stored.text.text[quote.start : quote.end] == quote.text
            assert quote.source_start is not None  # proved against the OCR text as stored
            assert quote.machine_read and quote.page in (1, 2, 3)
    from assistant.presentation import answer_html
    from assistant.provenance import export_markdown, provenance

    assert "ba-ocr" in answer_html(answered[0])
    assert all(q["ocr"] for q in provenance(answered[0])["quotes"])
    assert "OCR (machine-read from a scan)" in export_markdown(answered[0])
    from assistant.__main__ import render

    assert "OCR: machine-read from a scan" in render(answered[0])  # the terminal too
