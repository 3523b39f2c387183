from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.clean import clean_block, clean_document, drop_repeated_page_lines, vocabulary_of
from ingest.load import LoadedDocument, Segment, load_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ACTIEAGENDA = CORPUS / "2024-06-12-brief-eerste-kamer-een-jaar-actieagenda-sterk-bestuur.txt"
VERSLAG = CORPUS / "2023-12-11-verslag-schriftelijk-overleg-staat-van-de-uitvoering-2022.txt"


def _clean(path: Path) -> str:
    return clean_document(load_document(path, max_bytes=2**26)).text


def test_pdf_extraction_lines_are_rejoined_mid_sentence() -> None:
    raw = ACTIEAGENDA.read_text(encoding="utf-8")
    assert "met \n\nname het sociaal domein" in raw  # the defect as delivered
    text = _clean(ACTIEAGENDA)
    assert "gedecentraliseerde taken in met name het sociaal domein" in text
    assert "zorgt dat beleid werkt voor inwoners in verschillende regio’s" in text


def test_footnote_is_moved_out_of_the_sentence_it_interrupted() -> None:
    raw = ACTIEAGENDA.read_text(encoding="utf-8")
    assert re.search(r"uw Kamer \s*\n\s*\n\s*\n1 Kamerstukken II", raw)
    text = _clean(ACTIEAGENDA)
    assert "informeer ik uw Kamer over de meest relevante voortgang" in text
    assert "\n\n1 Kamerstukken II 2022-2023, 33 047, nr. 25." in text


def test_line_end_hyphens_of_compounds_are_kept_and_glued() -> None:
    text = _clean(ACTIEAGENDA)
    assert "kloppend bestuurlijk-financieel arrangement" in text
    assert "het (door-)ontwikkelen en in samenhang" in text
    verslag = _clean(VERSLAG)
    assert "digitaal en niet-digitaal, altijd adequaat" in verslag
    assert "van dat hokjes-denken wil het kabinet af" in verslag
    assert "(semi-)publieke dienstverleners" in verslag


def test_page_numbers_and_space_runs_are_gone() -> None:
    for path in (ACTIEAGENDA, VERSLAG):
        text = _clean(path)
        assert "  " not in text
        assert not re.search(r"^\s*\d{1,3}\s*$", text, re.MULTILINE)
        assert "\n\n\n" not in text
    assert "\n10 \n" in VERSLAG.read_text(encoding="utf-8")


def test_soft_hyphen_is_removed_only_when_the_joined_word_is_known() -> None:
    vocabulary = vocabulary_of("De verantwoordelijkheid ligt bij het Rijk.")
    text = clean_block(
        "Dat is de verant-\nwoordelijkheid van de minister-\npresident.", vocabulary=vocabulary
    )
    assert text == "Dat is de verantwoordelijkheid van de minister-president."


def test_repeated_headers_and_footers_are_dropped_from_pages() -> None:
    bodies = ["Over beleid.", "Over uitvoering.", "Over toezicht.", "Over de begroting."]
    pages = [
        f"Tweede Kamer, vergaderjaar 2024\n{body}\nPagina {n} van 4"
        for n, body in enumerate(bodies, start=1)
    ]
    cleaned = drop_repeated_page_lines(pages)
    assert all("vergaderjaar" not in p and "van 4" not in p for p in cleaned)
    assert [p.strip() for p in cleaned] == bodies


def test_page_offsets_follow_the_pages() -> None:
    document = LoadedDocument(
        path=Path("x.pdf"),
        format="pdf",
        title="x",
        segments=(
            Segment("Eerste pagina. Het beleid loopt door op de", page=1),
            Segment("volgende pagina zonder breuk.", page=2),
            Segment("Derde pagina.", page=3),
        ),
    )
    clean = clean_document(document)
    assert "loopt door op de volgende pagina" in clean.text
    assert clean.page_at(clean.text.index("Eerste")) == 1
    assert clean.page_at(clean.text.index("volgende")) == 2
    assert clean.page_at(clean.text.index("Derde")) == 3


_word = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzéëABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=12
)
_gap = st.sampled_from([" ", "  ", "\n", " \n", "\n\n", " \n \n", "\t"])


@settings(max_examples=200, deadline=None)
# Unique words: a line of 20 characters or more that repeats the line before it is left out on
# purpose (an extraction that wrote it twice; the test below), so it is no counterexample here.
@given(st.lists(st.tuples(_word, _gap), min_size=1, max_size=80, unique_by=lambda p: p[0]))
def test_cleaning_never_changes_or_reorders_words(pieces: list[tuple[str, str]]) -> None:
    text = "".join(word + gap for word, gap in pieces)
    assert clean_block(text).split() == [word for word, _gap in pieces]


def test_a_long_line_written_twice_in_a_row_is_left_out_once() -> None:
    """The one way cleaning drops words: the very line again, at once, 20 characters or more
    (Hypothesis found this case; short repeats such as "Ja" or a table cell stay)."""
    assert clean_block("AAAAAAAAAA AAAAAAAAAA\nAAAAAAAAAA AAAAAAAAAA ").split() == [
        "AAAAAAAAAA",
        "AAAAAAAAAA",
    ]
    assert clean_block("Ja\nJa\n").split() == ["Ja", "Ja"]
    assert clean_block("Een regel van ruim twintig tekens\nEen andere regel daarna\n").split() == (
        "Een regel van ruim twintig tekens Een andere regel daarna".split()
    )
