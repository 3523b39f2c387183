"""The new formats through the whole ingest: an e-mail whose PDF attachment becomes a document of
its own, linked to the message and removed with it; an OpenDocument text. Real files, real
Chroma, the real embedder."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from assistant.citations import Evidence
from assistant.core.settings import Settings
from assistant.documents import DocumentTexts
from assistant.index.manifest import Manifest, read_document_text
from assistant.verification import verify_quotes
from ingest import ingest
from tests.sample_files import write_pdf

PDF_LINE = "De Woo-beslissing over de dijkversterking bij Kampen valt op 3 april 2025."


def _message(corpus: Path, *, with_pdf: bool = True) -> Path:
    pdf = write_pdf(corpus.parent / "besluit.pdf", [[PDF_LINE, "Het verzoek is deels toegewezen."]])
    message = EmailMessage()
    message["Subject"] = "Woo-verzoek dijkversterking Kampen"
    message["From"] = "Jeroen de Vries <j.devries@minbzk.nl>"
    message["To"] = "Anna Bakker <a.bakker@minbzk.nl>"
    message["Date"] = "Tue, 12 Mar 2024 14:05:00 +0100"
    message.set_content("Beste Anna,\n\nIn de bijlage staat het besluit op het Woo-verzoek.\n")
    if with_pdf:
        message.add_attachment(
            pdf.read_bytes(), maintype="application", subtype="pdf", filename="besluit.pdf"
        )
    message.add_attachment(b"\x00\x01", maintype="image", subtype="heic", filename="foto.heic")
    path = corpus / "woo-verzoek.eml"
    path.write_bytes(bytes(message))
    return path


def _records(settings: Settings) -> dict[str, Any]:
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    return {record.title: record for record in manifest.documents.values()}


def test_an_email_attachment_is_a_document_linked_to_its_message_and_goes_with_it(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    message = _message(corpus)
    settings = make_settings(corpus_dir=corpus)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok, report.summary()
    assert len(report.added) == 2
    assert "ATTACHMENT NOT INGESTED woo-verzoek.eml: foto.heic" in report.summary()
    records = _records(settings)
    mail = records["Woo-verzoek dijkversterking Kampen"]
    attachment = records["besluit.pdf (bijlage bij: Woo-verzoek dijkversterking Kampen)"]
    assert mail.format == "email" and mail.parent is None
    assert attachment.format == "pdf" and attachment.parent == mail.document_id
    assert Path(attachment.source).read_bytes().startswith(b"%PDF")

    # A quote from the attachment names the message it came with; one from the mail its sender.
    stored = read_document_text(settings.index_dir / "documents", attachment.document_id)
    start = stored.text.text.index(PDF_LINE)
    pinned, _ = DocumentTexts(settings.index_dir / "documents").pin({attachment.document_id})
    evidence = [Evidence(attachment.document_id, start, start + len(PDF_LINE))]
    quotes, rejected = verify_quotes(evidence, pinned)
    assert not rejected and quotes[0].text == PDF_LINE
    assert dict(quotes[0].details)["Bijlage bij"] == "Woo-verzoek dijkversterking Kampen"
    assert dict(quotes[0].details)["Van"] == "Jeroen de Vries <j.devries@minbzk.nl>"
    assert stored.text.details == quotes[0].details
    mail_text = read_document_text(settings.index_dir / "documents", mail.document_id)
    assert "Van: Jeroen de Vries" in mail_text.text.text  # sender and date are searchable
    assert dict(mail_text.text.details)["Datum"] == "12 maart 2024, 14:05"

    # Unchanged: nothing is done again.
    again = ingest(settings=settings, progress=False, embedder=embedder)
    assert not again.added and len(again.unchanged) == 1

    # The message loses its attachment: the attachment's document goes.
    _message(corpus, with_pdf=False)
    changed = ingest(settings=settings, progress=False, embedder=embedder)
    assert changed.ok and attachment.source in changed.removed
    assert list(_records(settings)) == ["Woo-verzoek dijkversterking Kampen"]

    # Back with its attachment, then the message is deleted: both go, and the saved file too.
    _message(corpus)
    ingest(settings=settings, progress=False, embedder=embedder)
    message.unlink()
    pruned = ingest(settings=settings, progress=False, embedder=embedder)
    assert len(pruned.removed) == 2 and not _records(settings)
    assert not any((settings.index_dir / "attachments").iterdir())


def test_an_opendocument_text_is_ingested_with_its_headings(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    from odfdo import Document, Header, Paragraph

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    document = Document("text")
    body = document.body
    body.append(Header(1, "Nota Ketenloket Oost"))
    body.append(Header(2, "Aanleiding"))
    body.append(Paragraph("Het Ketenloket Oost in Deventer helpt sinds 2032 zzp'ers."))
    document.save(corpus / "nota.odt")
    settings = make_settings(corpus_dir=corpus)
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok, report.summary()
    (record,) = _records(settings).values()
    assert record.format == "odf" and record.title == "Nota Ketenloket Oost"
    stored = read_document_text(settings.index_dir / "documents", record.document_id)
    offset = stored.text.text.index("Het Ketenloket")
    assert stored.text.heading_at(offset) == "Aanleiding"


def test_attachments_of_a_message_that_never_got_its_record_are_pruned_with_it(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any
) -> None:
    """A message that failed after its attachments went in (a full disk at its own commit) has
    no record; deleted before a retry, its attachments must not stay behind. The missing record
    is MADE by hand here: the fault itself is covered by tests/test_storage_faults.py."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    message = _message(corpus)
    settings = make_settings(corpus_dir=corpus)
    ingest(settings=settings, progress=False, embedder=embedder)
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    mail = next(r for r in manifest.documents.values() if r.parent is None)
    del manifest.documents[mail.document_id]
    manifest.save()
    message.unlink()
    report = ingest(settings=settings, progress=False, embedder=embedder)
    assert report.ok and len(report.removed) == 1
    assert not _records(settings)
