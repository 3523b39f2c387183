"""Real files of each supported type, and broken ones, made with the libraries that write them."""

from __future__ import annotations

import io
import os
from pathlib import Path


def write_pdf(path: Path, pages: list[list[str]], *, title: str | None = None) -> Path:
    """A PDF with a real text layer: one list of lines per page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    for lines in pages:
        y = 800
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF with only graphics on its pages, as a scanner makes (no text layer)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(2):
        pdf.rect(100, 100, 300, 500, fill=1)
        pdf.showPage()
    pdf.save()
    return path


def write_encrypted_pdf(path: Path, password: str = "geheim") -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = io.BytesIO()
    write_pdf(path, [["Vertrouwelijk: de begroting voor 2025."]])
    plain.write(path.read_bytes())
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=password, algorithm="AES-128")
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_docx(path: Path, blocks: list[tuple[str, str | None]], *, title: str = "") -> Path:
    """A DOCX; each block is (text, style) with style e.g. 'Heading 1' or None for body text."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for text, style in blocks:
        document.add_paragraph(text, style=style)
    document.save(str(path))
    return path


def write_binary(path: Path, size: int = 4096) -> Path:
    path.write_bytes(os.urandom(size))
    return path
