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


def first_widget_rect(data: bytes) -> list[float]:
    """Return the /Rect of the first page's only annotation (a signature widget)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Kids"][0].get_object()
    (widget,) = [annot.get_object() for annot in page["/Annots"]]
    return [float(value) for value in widget["/Rect"]]


def read_qr(data: bytes, folder) -> str:
    """Return the text of the QR code on a PDF's first page ('' if none is found), rendered with pdftoppm."""
    import subprocess

    import cv2

    path = folder / "qr.pdf"
    path.write_bytes(data)
    for dpi in (300, 200, 150, 400):  # OpenCV's detector misses some renderings; another resolution finds it
        prefix = folder / f"qr{dpi}"
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(path), str(prefix)], check=True, timeout=60)
        image = cv2.imread(str(next(folder.glob(f"qr{dpi}*.png"))))
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text = detector.detectAndDecode(image)[0]
            if text:
                return text
    return ""
