"""The eval's quote validity is measured against the original files (evals/sourcecheck.py), a
check written apart from the index's own, so it cannot agree with a defect of the cleaner."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.text import sentence_spans
from evals.sourcecheck import stands_in_file
from ingest.clean import clean_document
from ingest.load import LoadedDocument, Segment, load_document
from tests.conftest import CORPUS

ACTIEAGENDA = CORPUS / "2024-06-12-brief-eerste-kamer-een-jaar-actieagenda-sterk-bestuur.txt"
VERSLAG = CORPUS / "2023-12-11-verslag-schriftelijk-overleg-staat-van-de-uitvoering-2022.txt"


@pytest.mark.parametrize(
    ("quote", "path"),
    [
        # What the old cleaner produced and the index verified against its own clean text.
        ("In medeoverheden overeengekomen dat daar versnelling", ACTIEAGENDA),
        (
            "16 NOVEX-gebieden waar de fysieke ruimtelijke opgaven op complexe wijze stapelen, "
            "zijn Rijk en 3 Bijlage 3 bij het Ontwerp Beleidsprogramma Klimaat",
            ACTIEAGENDA,
        ),
        ("Antwoord overheidsorganisaties is het hoogst bij werkloos raken", VERSLAG),
        (
            "wordt geraakt, https://www.binnenlandsbestuur.nl/carriere/vakbond-gebrek-aan-kennis-"
            "en-kunde-ambtenaren draagt deze uitvoeringsorganisatie",
            VERSLAG,
        ),
        ("kennis van rijksambtenaren blijven https://www.eipa.eu/services/", VERSLAG),
        ("Het kabinet reageert niet op het advies", ACTIEAGENDA),
    ],
)
def test_quotes_that_are_not_in_the_file_are_invalid(quote: str, path: Path) -> None:
    assert not stands_in_file(quote, path)


@pytest.mark.parametrize(
    ("quote", "path"),
    [
        (
            "In 16 NOVEX-gebieden waar de fysieke ruimtelijke opgaven op complexe wijze stapelen, "
            "zijn Rijk en medeoverheden overeengekomen dat daar versnelling en meer gezamenlijke "
            "regie nodig is.",
            ACTIEAGENDA,
        ),
        # Sentences that go on over a page foot (footnotes and links in between).
        ("informeer ik uw Kamer over de meest relevante voortgang", ACTIEAGENDA),
        ("wordt geraakt, draagt deze uitvoeringsorganisatie bij aan dit advies", VERSLAG),
        ("rijksambtenaren blijven benadrukken. Daarnaast buigt ABD Topconsult", VERSLAG),
        ("kloppend bestuurlijk-financieel arrangement", ACTIEAGENDA),
    ],
)
def test_quotes_that_stand_in_the_file_are_valid(quote: str, path: Path) -> None:
    assert stands_in_file(quote, path)


def test_every_sentence_the_cleaner_keeps_stands_in_its_file() -> None:
    for path in sorted(CORPUS.iterdir()):
        text = clean_document(load_document(path, max_bytes=2**26)).text
        for paragraph in text.split("\n\n"):
            for start, end in sentence_spans(paragraph):
                sentence = paragraph[start:end]
                assert not sentence.strip() or stands_in_file(sentence, path), sentence


def test_a_pdf_page_foot_and_running_header_are_passed_over(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "brief.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pages = [
        [
            "Tweede Kamer, vergaderjaar 2024",
            "Het kabinet investeert dit jaar1 in een betere",
            "",
            "1 Kamerstukken II 2023-2024, 36 550, nr. 1.",
        ],
        ["Tweede Kamer, vergaderjaar 2024", "uitvoering van de regelingen voor burgers."],
        ["Tweede Kamer, vergaderjaar 2024", "Een derde pagina."],
    ]
    for lines in pages:
        for number, line in enumerate(lines):
            pdf.drawString(72, 800 - 20 * number, line)
        pdf.showPage()
    pdf.save()
    quote = "in een betere uitvoering van de regelingen voor burgers."
    assert stands_in_file(quote, path)
    assert not stands_in_file("in een betere Kamerstukken II 2023-2024", path)
    loaded = load_document(path, max_bytes=2**20)
    assert isinstance(loaded, LoadedDocument) and all(
        isinstance(s, Segment) for s in loaded.segments
    )
    clean = clean_document(loaded)
    assert quote in clean.text  # the footnote went out of the sentence, to its own paragraph
    assert clean.text[clean.footnotes[0].start :].startswith("1 Kamerstukken II")
