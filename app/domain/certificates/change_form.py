"""The data-change form of the DIY guide ("Formulir Perubahan Data Pengguna Sertifikat Elektronik") as a PDF.

Laid out with fpdf2 in DejaVu Sans (``STAMP_FONT``), embedded, so names with diacritics stay readable
and extractable. The box where the agency head's visible signature goes is fixed: :data:`SIGNATURE_BOX`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # one INFO line per glyph table otherwise

PAGE_WIDTH, PAGE_HEIGHT = 595.28, 841.89  # A4 in points
MARGIN = 56.0
SIGNATURE_TOP = 610.0  # from the top of the page, where the signature area starts
SIGNATURE_BOX = (PAGE_WIDTH - MARGIN - 240.0, PAGE_HEIGHT - SIGNATURE_TOP - 90.0, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - SIGNATURE_TOP)
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November",
          "Desember")


@dataclass(frozen=True)
class Row:
    """One line of the table: what changes, the value before, the value after (``-`` when it stays)."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class FormData:
    """Everything printed on the form; the form is in Indonesian, as the procedure prescribes."""

    agency: str
    head_name: str
    head_position: str
    head_unit: str
    subscriber_name: str
    nik: str
    rows: tuple[Row, ...]
    place: str
    day: date
    number: str


def long_date(day: date) -> str:
    """Return a date as Indonesian letters write it, e.g. ``20 Januari 2025``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


if TYPE_CHECKING:
    from fpdf import FPDF


def _fonts(pdf: FPDF) -> None:
    regular = Path(current_app.config["STAMP_FONT"])
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    pdf.add_font("body", "", str(regular))
    pdf.add_font("body", "B", str(bold if bold.is_file() else regular))


def render(data: FormData) -> bytes:
    """Return the filled-in form as a one-page A4 PDF (fpdf2, about 60 MB with its fonts and images, imported here)."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_margins(MARGIN, 48, MARGIN)
    pdf.set_auto_page_break(False)
    pdf.set_title("Formulir Perubahan Data Pengguna Sertifikat Elektronik")
    pdf.set_creator("Paraf")
    _fonts(pdf)
    pdf.add_page()
    width = PAGE_WIDTH - 2 * MARGIN
    line = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    pdf.set_font("body", "B", 12)
    pdf.multi_cell(width, 16, data.agency.upper(), align="C", **line)
    pdf.set_font("body", "", 9)
    pdf.cell(width, 13, f"Nomor: {data.number}", align="C", **line)
    pdf.line(MARGIN, pdf.get_y() + 4, PAGE_WIDTH - MARGIN, pdf.get_y() + 4)
    pdf.ln(14)
    pdf.set_font("body", "B", 11)
    pdf.multi_cell(width, 15, "FORMULIR PERUBAHAN DATA PENGGUNA SERTIFIKAT ELEKTRONIK", align="C", **line)
    pdf.ln(8)
    pdf.set_font("body", "", 10)
    pdf.multi_cell(width, 14, "Saya yang bertanda tangan di bawah ini sebagai Penanggung Jawab Pemanfaatan Sertifikat "
                   "Elektronik di instansi:", **line)
    for number, (label, value) in enumerate((("Nama Lengkap", data.head_name), ("Jabatan", data.head_position),
                                             ("Unit Kerja", data.head_unit), ("Instansi", data.agency)), start=1):
        pdf.cell(130, 14, f"{number}. {label}")
        pdf.multi_cell(width - 130, 14, f": {value}", **line)
    pdf.ln(6)
    pdf.multi_cell(width, 14, "Mengajukan permohonan perubahan data untuk pengguna:", **line)
    pdf.cell(130, 14, "Nama Lengkap")
    pdf.multi_cell(width - 130, 14, f": {data.subscriber_name}", **line)
    pdf.cell(130, 14, "NIK")
    pdf.multi_cell(width - 130, 14, f": {data.nik}", **line)
    pdf.ln(4)
    pdf.multi_cell(width, 14, "Berdasarkan data berikut:", **line)
    pdf.ln(2)
    pdf.set_font("body", "", 9)
    with pdf.table(col_widths=(26, 101, 178, 178), line_height=13, text_align="LEFT") as table:
        heading = table.row()
        for text in ("No.", "Perihal Perubahan*", "Semula", "Menjadi"):
            heading.cell(text)
        for number, row in enumerate(data.rows, start=1):
            cells = table.row()
            for text in (f"{number}.", row.label, row.before or "-", row.after or "-"):
                cells.cell(text)
    pdf.set_font("body", "", 8)
    pdf.multi_cell(width, 11, '*tanda garis (-) pada kolom "Menjadi" berarti tidak ada perubahan data.', **line)
    pdf.ln(6)
    pdf.set_font("body", "", 10)
    pdf.multi_cell(width, 14, "Dengan ini, pengguna menyatakan telah setuju untuk melakukan perubahan data sesuai yang "
                   "tercantum pada tabel di atas tersebut. Demikian formulir perubahan data ini dibuat, agar dapat "
                   "digunakan sebagaimana mestinya.", **line)
    x = SIGNATURE_BOX[0]
    pdf.set_xy(x, SIGNATURE_TOP - 46)
    pdf.cell(240, 14, f"Ditandatangani di : {data.place}", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(240, 14, f"Tanggal : {long_date(data.day)}", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.cell(240, 14, "Hormat saya,", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(x, SIGNATURE_TOP + 94)
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(240, 14, data.head_name or "(Kepala instansi)", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(MARGIN, PAGE_HEIGHT - 70)
    pdf.set_font("body", "", 9)
    pdf.multi_cell(width, 12, "Proses migrasi akun paling cepat 2x24 jam pada waktu jam kerja.", **line)
    return bytes(pdf.output())
