"""E-mail loaders (ingest/mail.py) on real files: .eml made with the standard library, real .msg."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from assistant.core.errors import DocumentError
from ingest.load import load_document
from ingest.mail import format_date, load_eml, load_msg
from tests.sample_files import write_pdf

LIMIT = 10 * 2**20
FIXTURES = Path(__file__).parent / "fixtures"
SUBJECT = "Overleg over de Woo-verzoeken – ‘spoed’"
DATE = datetime(2024, 3, 12, 14, 5, tzinfo=timezone(timedelta(hours=1)))


def _message(subject: str | None = SUBJECT) -> EmailMessage:
    message = EmailMessage()
    if subject is not None:
        message["Subject"] = subject
    message["From"] = "Jeroen de Vries <j.devries@minbzk.nl>"
    message["To"] = "Anna Bakker <a.bakker@minbzk.nl>, woo@minjenv.nl"
    message["Cc"] = "Fatima el Amrani <f.elamrani@minbzk.nl>"
    message["Date"] = format_datetime(DATE)
    return message


def _write(path: Path, message: EmailMessage) -> Path:
    path.write_bytes(bytes(message))
    return path


def test_plain_message_headers_details_and_paragraphs(tmp_path: Path) -> None:
    message = _message()
    message.set_content(
        "Beste Anna,\n\nKun je de Woo-verzoeken vóór vrijdag beoordelen?\nDank!\n\n"
        "> Op 11 maart schreef Anna:\n> Ik heb nog geen tijd gehad.\n\n"
        "-----Original Message-----\nVan: Anna Bakker\nVerzonden: maandag 11 maart 2024 09:12\n"
    )
    path = _write(tmp_path / "overleg.eml", message)
    assert b"=?utf-8?" in path.read_bytes()  # the subject is RFC 2047-encoded on disk

    document = load_eml(path, LIMIT)

    assert document.format == "email"
    assert document.title == SUBJECT
    assert document.details == (
        ("Van", "Jeroen de Vries <j.devries@minbzk.nl>"),
        ("Aan", "Anna Bakker <a.bakker@minbzk.nl>, woo@minjenv.nl"),
        ("Cc", "Fatima el Amrani <f.elamrani@minbzk.nl>"),
        ("Datum", "12 maart 2024, 14:05"),
        ("Onderwerp", SUBJECT),
    )
    assert document.segments[0].text == "\n".join(f"{k}: {v}" for k, v in document.details)
    assert [s.text for s in document.segments[1:]] == [
        "Beste Anna,",
        "Kun je de Woo-verzoeken vóór vrijdag beoordelen?\nDank!",
        "> Op 11 maart schreef Anna:\n> Ik heb nog geen tijd gehad.",
        "-----Original Message-----\nVan: Anna Bakker\nVerzonden: maandag 11 maart 2024 09:12",
    ]
    assert document.attachments == ()


def test_html_only_message_is_converted(tmp_path: Path) -> None:
    message = _message()
    message.set_content(
        "<html><head><style>p {color: red}</style></head><body><h1>Besluit</h1>"
        "<p>Het verzoek is <b>toegewezen</b>.</p><p>Met vriendelijke groet</p></body></html>",
        subtype="html",
    )
    document = load_eml(_write(tmp_path / "besluit.eml", message), LIMIT)
    body = document.segments[1:]
    assert [s.text for s in body] == [
        "Besluit",
        "Het verzoek is toegewezen.",
        "Met vriendelijke groet",
    ]
    assert body[0].heading_level == 1
    assert "color" not in " ".join(s.text for s in document.segments)


def test_alternative_message_prefers_plain_text(tmp_path: Path) -> None:
    message = _message()
    message.set_content("Platte tekst van het bericht.")
    message.add_alternative("<p>HTML-versie van het bericht.</p>", subtype="html")
    document = load_eml(_write(tmp_path / "alt.eml", message), LIMIT)
    assert [s.text for s in document.segments[1:]] == ["Platte tekst van het bericht."]
    assert document.attachments == ()  # the HTML alternative is not an attachment


def test_attachments_are_returned_with_their_bytes(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "nota.pdf", [["Nota over de Woo", "tweede regel"]])
    inner = _message("Doorgestuurd: planning")
    inner.set_content("De planning staat hieronder.")
    message = _message()
    message.set_content("Zie de bijlagen.")
    message.add_attachment(
        pdf.read_bytes(), maintype="application", subtype="pdf", filename="nota.pdf"
    )
    message.add_attachment(
        b"Notulen\n", maintype="text", subtype="plain", filename="C:\\stukken\\notulen.txt"
    )
    message.add_attachment(inner)

    document = load_eml(_write(tmp_path / "bijlagen.eml", message), LIMIT)

    assert [a.name for a in document.attachments] == [
        "nota.pdf",
        "notulen.txt",
        "Doorgestuurd_ planning.eml",
    ]
    assert document.attachments[0].data == pdf.read_bytes()
    assert document.attachments[1].data == b"Notulen\n"
    nested = tmp_path / "nested.eml"
    nested.write_bytes(document.attachments[2].data)
    assert load_eml(nested, LIMIT).title == "Doorgestuurd: planning"
    assert [s.text for s in document.segments[1:]] == ["Zie de bijlagen."]


def test_cp1252_quoted_printable_body(tmp_path: Path) -> None:
    raw = (
        b"From: Secretariaat <secretariaat@example.nl>\r\n"
        b"Subject: =?windows-1252?q?Co=F6rdinatie?=\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=windows-1252\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"De co=F6rdinatie kost =80 5.000 =96 zie =93bijlage=94.\r\n"
    )
    path = tmp_path / "cp1252.eml"
    path.write_bytes(raw)
    document = load_eml(path, LIMIT)
    assert document.title == "Coördinatie"
    assert document.segments[1].text == "De coördinatie kost € 5.000 – zie “bijlage”."
    # Outlook labels the same bytes iso-8859-1; they are still read as Windows-1252.
    path.write_bytes(raw.replace(b"charset=windows-1252", b"charset=iso-8859-1"))
    assert load_eml(path, LIMIT).segments[1].text == document.segments[1].text


def test_message_without_subject_is_titled_from_the_file_name(tmp_path: Path) -> None:
    message = _message(subject=None)
    message.set_content("Zonder onderwerp.")
    document = load_eml(_write(tmp_path / "2024-03-12-vraag-over-woo.eml", message), LIMIT)
    assert document.title == "Vraag over woo"
    assert "Onderwerp" not in dict(document.details)


@pytest.mark.parametrize(
    "content",
    [b"Dit is gewoon een tekstbestand.\nGeen e-mail.\n", bytes(range(256)) * 4],
    ids=["text", "binary"],
)
def test_a_file_that_is_no_email_is_refused_with_a_hint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "geen-mail.eml"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match="not an e-mail") as err:
        load_eml(path, LIMIT)
    assert err.value.hint and "Save As" in err.value.hint


def test_signed_message_is_read_without_its_signature(tmp_path: Path) -> None:
    path = tmp_path / "getekend.eml"
    path.write_bytes(
        b"From: a@example.nl\r\nSubject: Getekend\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
        b'micalg=sha-256; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOndertekend bericht.\r\n"
        b"--b1\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=smime.p7s\r\n\r\nMIJzaWc=\r\n--b1--\r\n"
    )
    document = load_eml(path, LIMIT)
    assert [s.text for s in document.segments[1:]] == ["Ondertekend bericht."]
    assert document.attachments == ()


def test_encrypted_smime_message_is_refused(tmp_path: Path) -> None:
    message = _message()
    message.set_content(
        b"\x30\x82\x01\x00" + bytes(200),
        maintype="application",
        subtype="pkcs7-mime",
        params={"smime-type": "enveloped-data"},
        filename="smime.p7m",
    )
    with pytest.raises(DocumentError, match="encrypted") as err:
        load_eml(_write(tmp_path / "versleuteld.eml", message), LIMIT)
    assert err.value.hint


def test_a_non_ole_file_named_msg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kapot.msg"
    path.write_bytes(b"From: iemand@example.nl\r\n\r\nDit is geen Outlook-bestand.\r\n")
    with pytest.raises(DocumentError, match="not a readable Outlook message") as err:
        load_msg(path, LIMIT)
    assert err.value.hint and ".msg" in err.value.hint


def test_real_outlook_msg_fixture(tmp_path: Path) -> None:
    # tests/fixtures/README.md: from msg-parser 1.2.0 (BSD). It has a recipient but no sender.
    path = shutil.copy(FIXTURES / "outer.msg", tmp_path / "outer.msg")
    document = load_msg(Path(path), LIMIT)
    assert document.format == "email"
    assert document.title == "outer subject"
    assert document.details == (("Aan", "outer@foo.bar"), ("Onderwerp", "outer subject"))
    assert document.segments[0].text == "Aan: outer@foo.bar\nOnderwerp: outer subject"
    assert [s.text for s in document.segments[1:]] == ["Outer body"]
    # The embedded Outlook message is passed on as .eml, readable by load_eml.
    [attachment] = document.attachments
    assert attachment.name == "test.eml"
    nested = tmp_path / attachment.name
    nested.write_bytes(attachment.data)
    inner = load_eml(nested, LIMIT)
    assert inner.title == "test"
    assert ("Aan", "test@foobar.com") in inner.details
    assert [s.text for s in inner.segments[1:]] == ["body"]
    # The context manager closed extract-msg's handle on the file.
    open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    assert str(Path(path).resolve()) not in open_files


def test_generated_outlook_msg_with_sender_date_and_files(tmp_path: Path) -> None:
    # tests/fixtures/README.md: written by msgforge 1.0.0; no transport headers, so the date is
    # the MAPI time (13:05 UTC), shown in Dutch time.
    document = load_msg(FIXTURES / "besluit-woo.msg", LIMIT)
    assert document.title == "Besluit Woo-verzoek – ‘spoed’"
    assert document.details == (
        ("Van", "Jeroen de Vries <j.devries@example.nl>"),
        ("Aan", "Anna Bakker <a.bakker@example.nl>, woo@example.nl"),
        ("Cc", "Fatima el Amrani <f.elamrani@example.nl>"),
        ("Datum", "12 maart 2024, 14:05"),
        ("Onderwerp", "Besluit Woo-verzoek – ‘spoed’"),
    )
    assert document.segments[0].text.startswith("Van: Jeroen de Vries <j.devries@example.nl>\n")
    assert [s.text for s in document.segments[1:]] == [
        "Beste Anna,",
        "Hierbij het besluit op het Woo-verzoek.\nGraag vóór vrijdag reageren.",
        "Met vriendelijke groet,\nJeroen de Vries",
    ]
    assert [a.name for a in document.attachments] == ["besluit.pdf", "notulen.txt"]
    pdf, notes = document.attachments
    assert notes.data == b"Notulen van het overleg.\n"
    (tmp_path / "besluit.pdf").write_bytes(pdf.data)
    text = load_document(tmp_path / "besluit.pdf", max_bytes=LIMIT).segments[0].text
    assert "Het verzoek wordt toegewezen." in text


def test_dates_use_dutch_month_names() -> None:
    assert format_date(datetime(2024, 1, 3, 9, 7)) == "3 januari 2024, 09:07"
    assert format_date(datetime(2023, 12, 31, 23, 59)) == "31 december 2023, 23:59"
