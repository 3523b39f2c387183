from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from assistant.core.errors import DocumentError, UnsupportedFormatError
from ingest.load import load_document, title_from_filename
from tests.sample_files import (
    write_binary,
    write_docx,
    write_drawing_pdf,
    write_encrypted_pdf,
    write_pdf,
)

LIMIT = 10 * 2**20


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "nota.pdf",
        [["Eerste pagina over de Omgevingswet."], ["Tweede pagina over het Beleidskompas."]],
        title="Nota uitvoering",
    )
    document = load_document(path, max_bytes=LIMIT)
    assert document.format == "pdf"
    assert document.title == "Nota uitvoering"
    assert [s.page for s in document.segments] == [1, 2]
    assert "Beleidskompas" in document.segments[1].text


def test_encrypted_pdf_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="encrypted") as err:
        load_document(write_encrypted_pdf(tmp_path / "geheim.pdf"), max_bytes=LIMIT)
    assert err.value.hint and "password" in err.value.hint


def test_a_pdf_of_drawings_only_has_no_text(tmp_path: Path) -> None:
    """No text layer and no image: nothing to OCR either (scans: tests/test_ocr.py)."""
    with pytest.raises(DocumentError, match="no text found"):
        load_document(write_drawing_pdf(tmp_path / "tekening.pdf"), max_bytes=LIMIT)


def test_truncated_pdf_is_reported(tmp_path: Path) -> None:
    good = write_pdf(tmp_path / "heel.pdf", [["Tekst"] * 30] * 3)
    broken = tmp_path / "kapot.pdf"
    broken.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DocumentError, match="PDF"):
        load_document(broken, max_bytes=LIMIT)


def test_docx_headings_and_title(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "memo.docx",
        [
            ("Inleiding", "Heading 1"),
            ("De uitvoering staat onder druk.", None),
            ("Aanpak", "Heading 2"),
            ("We werken samen met gemeenten.", None),
        ],
        title="Memo uitvoering",
    )
    document = load_document(path, max_bytes=LIMIT)
    assert document.title == "Memo uitvoering"
    assert [(s.text, s.heading_level) for s in document.segments] == [
        ("Inleiding", 1),
        ("De uitvoering staat onder druk.", None),
        ("Aanpak", 2),
        ("We werken samen met gemeenten.", None),
    ]


def test_broken_docx_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="Word"):
        load_document(write_binary(tmp_path / "kapot.docx"), max_bytes=LIMIT)


def test_zip_bomb_docx_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "bom.docx", [("Een gewone alinea.", None)])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/image1.png", bytes(25 * 2**20))  # 25 MiB of zeros, ~25 kB
    assert path.stat().st_size < 2**20
    with pytest.raises(DocumentError, match="zip bomb") as err:
        load_document(path, max_bytes=2**20)
    assert err.value.hint


def test_html_drops_scripts_and_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "pagina.html"
    path.write_text(
        "<html><head><title>Nieuws BZK</title><script>alert(1)</script></head><body>"
        "<h1>Kabinet reageert</h1><p>Het kabinet <b>reageert</b> op het advies.</p>"
        "<script>document.write('x')</script><ul><li>punt een</li><li>punt twee</li></ul>"
        "</body></html>",
        encoding="utf-8",
    )
    document = load_document(path, max_bytes=LIMIT)
    assert document.title == "Nieuws BZK"
    texts = [s.text.strip() for s in document.segments]
    assert texts == [
        "Kabinet reageert",
        "Het kabinet reageert op het advies.",
        "punt een",
        "punt twee",
    ]
    assert document.segments[0].heading_level == 1
    assert not any("alert" in t or "document.write" in t for t in texts)


def test_markdown_headings_links_and_emphasis(tmp_path: Path) -> None:
    path = tmp_path / "notitie.md"
    path.write_text(
        "# Notitie\n\nZie **het advies** van de [Rli](https://www.rli.nl) over\nde uitvoering.\n",
        encoding="utf-8",
    )
    document = load_document(path, max_bytes=LIMIT)
    assert document.title == "Notitie"
    assert document.segments[1].text == "Zie het advies van de Rli over de uitvoering."


def test_cp1252_and_utf16_text_are_decoded(tmp_path: Path) -> None:
    sentence = "Café-overleg over financiële ruimte: € 12 miljoen, ‘zo’ gezegd – ideeën."
    cp1252 = tmp_path / "oud.txt"
    cp1252.write_bytes(((sentence + "\n") * 20).encode("cp1252"))
    utf16 = tmp_path / "breed.txt"
    utf16.write_bytes(((sentence + "\n") * 5).encode("utf-16"))
    for path in (cp1252, utf16):
        assert sentence in load_document(path, max_bytes=LIMIT).segments[0].text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leeg.txt", b"", "empty"),
        ("junk.txt", None, "binary"),
        ("oud.doc", b"\xd0\xcf\x11\xe0 old word", "unsupported"),
        ("tabel.xlsx", b"PK\x03\x04", "unsupported"),
    ],
)
def test_bad_files_are_reported_with_a_reason(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is None:
        write_binary(path)
    else:
        path.write_bytes(content)
    with pytest.raises(DocumentError, match=message) as err:
        load_document(path, max_bytes=LIMIT)
    assert str(path) in str(err.value)
    if message == "unsupported":
        assert isinstance(err.value, UnsupportedFormatError)
        assert err.value.hint


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "groot.txt"
    path.write_text("woord " * 2000, encoding="utf-8")
    with pytest.raises(DocumentError, match="over the limit"):
        load_document(path, max_bytes=1000)


def test_title_from_filename() -> None:
    assert title_from_filename(Path("2024-06-12-brief-sterk-bestuur.txt")) == "Brief sterk bestuur"


def test_pdf_encrypted_without_user_password_is_read(tmp_path: Path) -> None:
    # Many government PDFs are encrypted only to restrict printing; they open without a password.
    path = write_encrypted_pdf(tmp_path / "beperkt.pdf", password="")
    assert "begroting" in load_document(path, max_bytes=LIMIT).segments[0].text
