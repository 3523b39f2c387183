"""OpenDocument loading (ingest/odf.py) on real files that odfdo writes in the test."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from odfdo import (
    Annotation,
    Document,
    DrawPage,
    Frame,
    Header,
    LineBreak,
    List,
    Note,
    Paragraph,
    Spacer,
    Tab,
    Table,
)

from assistant.core.errors import DocumentError
from ingest.load import Segment
from ingest.odf import load_odf

MAX = 10 * 2**20


def _text_document() -> Document:
    document = Document("text")
    document.body.clear()
    return document


def _save(document: Document, path: Path) -> Path:
    document.save(path)
    return path


def _pairs(segments: list[Segment]) -> list[tuple[str, int | None]]:
    return [(s.text, s.heading_level) for s in segments]


def test_headings_paragraphs_and_list_items_in_order(tmp_path: Path) -> None:
    document = _text_document()
    document.body.append(Header(1, "Inleiding"))
    document.body.append(Paragraph("Eerste alinea."))
    document.body.append(Header(2, "Achtergrond"))
    document.body.append(List(["punt een", "punt twee"]))
    document.body.append(Paragraph("Hoofdtitel", style="Title"))
    title, segments = load_odf(_save(document, tmp_path / "nota.odt"), MAX)
    assert _pairs(segments) == [
        ("Inleiding", 1),
        ("Eerste alinea.", None),
        ("Achtergrond", 2),
        ("punt een", None),
        ("punt twee", None),
        ("Hoofdtitel", 1),
    ]
    assert title == "Inleiding"


def test_title_comes_from_the_metadata_first(tmp_path: Path) -> None:
    document = _text_document()
    document.body.append(Header(1, "Kop"))
    document.meta.title = "Kamerbrief over water"
    title, _ = load_odf(_save(document, tmp_path / "brief.odt"), MAX)
    assert title == "Kamerbrief over water"


def test_title_falls_back_to_the_file_name(tmp_path: Path) -> None:
    document = _text_document()
    document.body.append(Paragraph("Alleen tekst."))
    title, _ = load_odf(_save(document, tmp_path / "2024-06-12-brief-x.odt"), MAX)
    assert title == "Brief x"


def test_table_rows_skip_empty_and_merged_cells(tmp_path: Path) -> None:
    document = _text_document()
    table = Table("T", width=3, height=3)
    table.set_value((0, 0), "a")
    table.set_value((1, 0), "b")
    table.set_value((0, 1), "samen")
    table.set_value((2, 1), "c")
    table.set_span((0, 1, 1, 1))
    document.body.append(table)
    _, segments = load_odf(_save(document, tmp_path / "tabel.odt"), MAX)
    assert [s.text for s in segments] == ["a | b", "samen | c"]


def test_footnote_body_is_a_segment_after_its_paragraph(tmp_path: Path) -> None:
    document = _text_document()
    paragraph = Paragraph("De wet geldt")
    paragraph.append(Note(note_id="n1", citation="1", body="Zie artikel 3."))
    paragraph.append(" vanaf 2025.")
    document.body.append(paragraph)
    document.body.append(Paragraph("Volgende alinea."))
    _, segments = load_odf(_save(document, tmp_path / "noot.odt"), MAX)
    assert [s.text for s in segments] == [
        "De wet geldt vanaf 2025.",
        "Zie artikel 3.",
        "Volgende alinea.",
    ]


def test_breaks_tabs_spaces_and_comments(tmp_path: Path) -> None:
    document = _text_document()
    paragraph = Paragraph("een")
    for part in (LineBreak(), "twee", Tab(), "drie", Spacer(3), "vier"):
        paragraph.append(part)
    paragraph.append(Annotation("Interne opmerking", creator="X"))
    document.body.append(paragraph)
    _, segments = load_odf(_save(document, tmp_path / "tekens.odt"), MAX)
    assert [s.text for s in segments] == ["een\ntwee drie   vier"]


def test_flat_odt_reads_like_a_package(tmp_path: Path) -> None:
    document = _text_document()
    document.body.append(Header(1, "Plat"))
    path = tmp_path / "plat.fodt"
    document.save(path, packaging="xml")
    title, segments = load_odf(path, MAX)
    assert (title, _pairs(segments)) == ("Plat", [("Plat", 1)])


def test_spreadsheet_gives_sheet_names_and_rows(tmp_path: Path) -> None:
    document = Document("spreadsheet")
    document.body.clear()
    sheet = Table("Begroting", width=3, height=3)
    sheet.set_value((0, 0), "post")
    sheet.set_value((1, 0), "bedrag")
    sheet.set_value((0, 1), "subsidie")
    sheet.set_value((1, 1), 1200)
    document.body.append(sheet)
    document.body.append(Table("Leeg", width=2, height=2))
    _, segments = load_odf(_save(document, tmp_path / "begroting.ods"), MAX)
    assert _pairs(segments) == [
        ("Begroting", 2),
        ("post | bedrag", None),
        ("subsidie | 1200", None),
    ]


def test_presentation_gives_slide_titles_and_text(tmp_path: Path) -> None:
    document = Document("presentation")
    document.body.clear()
    for number, (heading, lines) in enumerate(
        [("Doelen", ["Minder uitstoot", "Meer groen"]), ("Planning", ["Start in 2025"])], 1
    ):
        page = DrawPage(f"p{number}", name=f"Dia {number}")
        size, at = ("20cm", "3cm"), ("1cm", "1cm")
        page.append(Frame.text_frame(heading, size=size, position=at, presentation_class="title"))
        body = [Paragraph(line) for line in lines]
        page.append(Frame.text_frame(body, size=("20cm", "9cm"), position=("1cm", "5cm")))
        document.body.append(page)
    _, segments = load_odf(_save(document, tmp_path / "dia.odp"), MAX)
    assert _pairs(segments) == [
        ("Doelen", 2),
        ("Minder uitstoot", None),
        ("Meer groen", None),
        ("Planning", 2),
        ("Start in 2025", None),
    ]


def test_empty_document_gives_no_text(tmp_path: Path) -> None:
    _, segments = load_odf(_save(Document("text"), tmp_path / "leeg.odt"), MAX)
    assert not any(s.text.strip() for s in segments)


def test_random_bytes_are_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "kapot.odt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(DocumentError, match=r"not a readable OpenDocument \(\.odt\)") as info:
        load_odf(path, MAX)
    assert info.value.hint and "LibreOffice" in info.value.hint


def test_zip_without_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leeg.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(DocumentError, match=r"\(\.ods\) file \(no content\.xml") as info:
        load_odf(path, MAX)
    assert info.value.hint == "Open it in LibreOffice and save it again as .ods."


def test_broken_content_xml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stuk.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content><niet afgesloten")
    with pytest.raises(DocumentError, match="not a readable OpenDocument") as info:
        load_odf(path, MAX)
    assert info.value.hint


def test_encrypted_package_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "geheim.odt"
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        '<manifest:encryption-data manifest:checksum="x"/></manifest:file-entry>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", os.urandom(512))
        archive.writestr("META-INF/manifest.xml", manifest)
    with pytest.raises(DocumentError, match="password protected") as info:
        load_odf(path, MAX)
    assert info.value.hint and "password" in info.value.hint


def test_zip_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bom.odt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", b" " * 2**20)
    with pytest.raises(DocumentError, match="zip bomb") as info:
        load_odf(path, max_bytes=10_000)
    assert info.value.hint
