"""Quotes stand in the source, not only in our clean copy: the cleaner never moves text, every
sentence of the clean text maps back to one contiguous span of the source, and a span that is
not in the source is never accepted (real corpus files and generated page texts)."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.core.settings import Settings
from assistant.index.manifest import read_document_text
from assistant.index.records import CleanDocument
from assistant.index.source import Alignment
from ingest.clean import audit, clean_document
from ingest.load import LoadedDocument, Segment, load_document
from tests.conftest import CORPUS

ACTIEAGENDA = CORPUS / "2024-06-12-brief-eerste-kamer-een-jaar-actieagenda-sterk-bestuur.txt"
VERSLAG = CORPUS / "2023-12-11-verslag-schriftelijk-overleg-staat-van-de-uitvoering-2022.txt"


def _clean(path: Path) -> CleanDocument:
    return clean_document(load_document(path, max_bytes=2**26))


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name[:40])
def test_every_sentence_of_the_corpus_maps_back_to_its_source(path: Path) -> None:
    assert audit(_clean(path)) == []


def test_a_line_that_starts_with_a_number_stays_in_its_sentence() -> None:
    text = _clean(ACTIEAGENDA).text
    assert (
        "In 16 NOVEX-gebieden waar de fysieke ruimtelijke opgaven op complexe wijze stapelen, "
        "zijn Rijk en medeoverheden overeengekomen dat daar versnelling en meer gezamenlijke "
        "regie nodig is."
    ) in text
    assert "In medeoverheden" not in text and "Rijk en 3 Bijlage" not in text
    verslag = _clean(VERSLAG).text
    assert "beraadslaagd over de brieven van 10 maart 2023 en 16 en 23 juni 2023" in verslag


def test_footnotes_are_cut_out_of_sentences_they_interrupted() -> None:
    verslag = _clean(VERSLAG)
    text = verslag.text
    assert "wordt geraakt, draagt deze uitvoeringsorganisatie bij aan dit advies" in text
    assert "rijksambtenaren blijven benadrukken." in text
    assert "Antwoord overheidsorganisaties" not in text
    assert "https://www.eipa.eu" not in text[: verslag.footnotes[0].start]
    # Each footnote is a paragraph of its own after the body, in the document's numbering.
    numbers = [int(text[f.start : f.end].split()[0]) for f in verslag.footnotes]
    assert numbers == list(range(1, 32))
    assert [
        int(n)
        for n in re.findall(
            r"^(\d+) ",
            "\n".join(
                _clean(ACTIEAGENDA).text[f.start : f.end] for f in _clean(ACTIEAGENDA).footnotes
            ),
            re.MULTILINE,
        )
    ] == list(range(1, 9))


def test_a_sentence_rejoined_over_a_page_foot_verifies_across_the_footnote() -> None:
    document = _clean(ACTIEAGENDA)
    assert document.source is not None
    sentence = "informeer ik uw Kamer over de meest relevante voortgang"
    start = document.text.index(sentence)
    span = Alignment(document).span(start, start + len(sentence))
    assert span is not None
    source = document.source.text[span.start : span.end]
    assert source.startswith("informeer ik uw Kamer") and source.endswith("relevante voortgang")
    assert "1 Kamerstukken II 2022-2023" in source  # the footnote the sentence goes around


def test_a_span_over_the_body_and_a_footnote_is_rejected() -> None:
    document = _clean(ACTIEAGENDA)
    alignment = Alignment(document)
    body_end = document.footnotes[0].start - 2
    assert alignment.span(body_end - 40, body_end) is not None
    assert alignment.span(body_end - 40, document.footnotes[0].start + 20) is None
    footnote = document.footnotes[2]
    assert alignment.span(footnote.start, footnote.end) is not None


# --- generated page texts ------------------------------------------------------------------------
def _word(rng: random.Random, used: set[str]) -> str:
    while True:
        word = "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        if word not in used:
            used.add(word)
            return word


def _document(
    rng: random.Random,
) -> tuple[LoadedDocument, list[str], list[list[str]], list[list[str]]]:
    """Pages of wrapped body lines with the traps the corpus has: body lines that start with a
    number, footnotes with and without markers, repeated lines, running headers and page
    numbers, hyphenated line ends. Returns the document, the body's words in order, and each
    real footnote's words."""
    used: set[str] = set()
    body: list[str] = []
    notes: list[list[str]] = []
    zones: list[list[str]] = []
    pages: list[str] = []
    pdf = rng.random() < 0.5
    footnote = 0
    for page in range(1, rng.randint(3 if pdf else 2, 5) + 1):
        lines = ["Tweede Kamer, vergaderjaar 2024-2025", ""] if pdf else []
        markers: list[int] = []
        for _ in range(rng.randint(4, 12)):
            words = [_word(rng, used) for _ in range(rng.randint(6, 11))]
            roll = rng.random()
            if roll < 0.15:  # a body line that starts with a number (a count, a date)
                words[0] = str(rng.randint(2, 40))
            elif roll < 0.3:  # a footnote marker glued to a word
                footnote += 1
                markers.append(footnote)
                words[-1] += str(footnote)
            elif roll < 0.4:  # a word broken at the line end
                words[-1] += "-"
            if words[-1].endswith("-"):
                body.extend(words[:-1])
                tail = words[-1]
            else:
                body.extend(words)
                tail = ""
            line = " ".join(words)
            lines.append(line)
            if tail:  # the next line starts with the rest of the word
                rest = _word(rng, used)
                body.append(tail + rest)
                lines.append(rest + " " + " ".join(more := [_word(rng, used) for _ in range(5)]))
                body.extend(more)
            if rng.random() < 0.1 and len(line) >= 20 and not tail:
                lines.append(line)  # repeated by a faulty extraction
            lines.append("")
        lines.append(" ")
        first = len(notes)
        for number in markers:  # the page's real footnotes, at its foot
            words = [_word(rng, used) for _ in range(rng.randint(3, 8))]
            notes.append([str(number), *words])
            lines.append(f"{number} " + " ".join(words))
            if rng.random() < 0.3:
                url = f"https://example.org/{_word(rng, used)}"
                notes[-1].append(url)
                lines.append(url)
        zones.append([word for note in notes[first:] for word in note])
        lines.append("")
        lines.append(str(page))
        pages.append("\n".join(lines))
    if pdf:
        segments = tuple(Segment(text, page=n) for n, text in enumerate(pages, start=1))
        return LoadedDocument(Path("x.pdf"), "pdf", "x", segments), body, notes, zones
    text = "\n".join(" " + page if n else page for n, page in enumerate(pages))
    return LoadedDocument(Path("x.txt"), "text", "x", (Segment(text),)), body, notes, zones


def _runs(words: list[str], part: list[str]) -> bool:
    """Is ``part`` a contiguous run of ``words``?"""
    n = len(part)
    return any(words[i : i + n] == part for i in range(len(words) - n + 1))


_seeds = st.integers(0, 2**32)


@settings(max_examples=80, deadline=None)
@given(_seeds)
def test_generated_pages_keep_their_words_in_order(seed: int) -> None:
    loaded, body, notes, _zones = _document(random.Random(seed))
    document = clean_document(loaded)
    first_note = document.footnotes[0].start if document.footnotes else len(document.text)
    assert document.text[:first_note].split() == body
    assert [document.text[f.start : f.end].split() for f in document.footnotes] == notes
    assert audit(document) == []


@settings(max_examples=80, deadline=None)
@given(_seeds, st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), max_size=10))
def test_random_spans_verify_only_when_they_stand_in_the_source(
    seed: int, cuts: list[tuple[float, float]]
) -> None:
    rng = random.Random(seed)
    loaded, body, _notes, zones = _document(rng)
    document = clean_document(loaded)
    alignment = Alignment(document)
    text = document.text
    for a, b in [*cuts, *((rng.random(), rng.random()) for _ in range(20))]:
        start, end = sorted((int(a * len(text)), int(b * len(text))))
        # Whole words only: a quote is snapped to word boundaries before it is checked.
        while 0 < start < len(text) and not text[start - 1].isspace():
            start -= 1
        while end < len(text) and not text[end].isspace():
            end += 1
        words = text[start:end].split()
        if not words:
            continue
        stands = _runs(body, words) or any(_runs(zone, words) for zone in zones)
        assert (alignment.span(start, end) is not None) == stands, words


# --- end to end: the real index and the real 0.5B model ------------------------------------------
NOVEX = (
    "In 16 NOVEX-gebieden waar de fysieke ruimtelijke opgaven op complexe wijze stapelen, zijn "
    "Rijk en medeoverheden overeengekomen dat daar versnelling en meer gezamenlijke regie nodig is."
)


@pytest.mark.slow
def test_the_novex_question_is_answered_only_with_what_the_letter_says(
    assistant: Any, small_settings: Settings
) -> None:
    passages = assistant.retrieve("Wat zijn de NOVEX-gebieden?", 8)
    assert any(NOVEX in " ".join(p.text.split()) for p in passages)
    answer = assistant.answer("Wat is er afgesproken over de NOVEX-gebieden?")
    for quote in answer.quotes:
        text = " ".join(quote.text.split())
        assert "Rijk en 3 Bijlage" not in text and "In medeoverheden" not in text
        if "NOVEX-gebieden waar" in text:
            assert "In 16 NOVEX-gebieden" in text and "medeoverheden overeengekomen" in text
        # The recorded source span is the quote in the document's source text, from its first
        # character to its last (a footnote it goes around may stand between) ...
        stored = read_document_text(small_settings.index_dir / "documents", quote.document)
        assert stored.text.source is not None
        source = stored.text.source.text
        assert quote.source_start is not None and quote.source_end is not None
        found = re.sub(r"\s", "", source[quote.source_start : quote.source_end])
        wanted = re.sub(r"\s", "", quote.text)
        assert found[:12] == wanted[:12] and found[-12:] == wanted[-12:]
        # ... and for a text file that source text is the file itself.
        if quote.source.endswith(".txt"):
            original = Path(quote.source).read_text(encoding="utf-8")
            assert source == unicodedata.normalize("NFC", original)
