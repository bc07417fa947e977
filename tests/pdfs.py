"""Small PDFs made in tests."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

A4 = (0, 0, 595, 842)


def make_pdf(pages: int = 1, encrypt: str | None = None) -> bytes:
    """Return a small PDF with a line of Helvetica text on each page."""
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
             pdf_name("/BaseFont"): pdf_name("/Helvetica")}
        )
    )
    for number in range(1, pages + 1):
        content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 770 Td (Surat nomor %d) Tj ET" % number))
        resources = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})})
        writer.insert_page(PageObject(contents=content, media_box=A4, resources=resources))
    if encrypt:
        writer.encrypt(encrypt, encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
