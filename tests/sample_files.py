"""Real files of each supported type, and broken ones, made with the libraries that write them."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any


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


def write_drawing_pdf(path: Path) -> Path:
    """A PDF with only vector graphics on its pages: no text layer and no image to OCR."""
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


# --- scans ---------------------------------------------------------------------------------------
#: Fonts a scanner meets: a serif, a sans and a condensed face (Debian's fonts-dejavu-core).
FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf",
)
A4_INCHES = (8.27, 11.69)


def page_lines(text: str, *, width: int = 78) -> list[str]:
    """Paragraphs of ``text`` (blank-line separated) wrapped to lines, a blank line between."""
    import textwrap

    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        words = " ".join(paragraph.split())
        if words:
            lines.extend(textwrap.wrap(words, width))
            lines.append("")
    return lines


def render_page(
    lines: list[str],
    *,
    dpi: int = 300,
    font: str = FONTS[0],
    points: float = 11,
    rotate: float = 0.0,
) -> Any:
    """An A4 page image (Pillow, greyscale) with ``lines`` typeset on it, as a scanner sees it:
    ``rotate`` degrees of skew, at ``dpi``. Lines that do not fit are left off."""
    from PIL import Image, ImageDraw, ImageFont

    size = (int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(font, int(points * dpi / 72))
    y = dpi  # one inch margins
    for line in lines:
        if y > size[1] - dpi:
            break
        draw.text((dpi, y), line, font=face, fill=0)
        y += int(points * 1.45 * dpi / 72)
    if rotate:
        image = image.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    return image


def lines_per_page(points: float = 11) -> int:
    """How many lines ``render_page`` puts on one page."""
    step = points * 1.45 / 72
    return int((A4_INCHES[1] - 2) / step) + 1


def write_image_pdf(
    path: Path, images: list[Any], *, typed: dict[int, list[str]] | None = None
) -> Path:
    """A PDF of page images and no text layer, as a scanner makes; ``typed``: 0-based page
    numbers that get a real text layer instead (a mixed PDF)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    typed = typed or {}
    images = list(images)  # the caller's list stays as it was
    for number in range(len(images) + len(typed)):
        if number in typed:
            y = 800
            for line in typed[number]:
                pdf.drawString(72, y, line)
                y -= 16
        else:
            image = images.pop(0)
            pdf.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    return path
