"""Page geometry, text search and thumbnails of untrusted PDFs with PDFium, bounded in pages, page size and pixels.

Meant to run in a :mod:`signer.sandbox` child, one job at a time: PDFium is neither thread-safe nor hardened
against hostile files, so a blow-up (a content stream that inflates to gigabytes, a crash) ends only the child.
"""

from __future__ import annotations

import io
import math

import pypdfium2 as pdfium

from .errors import NotAPdf, PdfDamaged, PdfLimitExceeded
from .pdf import Box, Limits, check_page_box

Geometry = tuple[Box, int]
"""A page as shown: its crop box in user space and its /Rotate (0, 90, 180, 270)."""


def _open(source: bytes | str) -> pdfium.PdfDocument:
    """Open PDF bytes or a file with PDFium.

    :raises NotAPdf: the bytes are not a PDF.
    :raises PdfDamaged: PDFium cannot open it (damaged, or encrypted).
    """
    if isinstance(source, (bytes, bytearray)) and b"%PDF-" not in bytes(source[:1024]):
        raise NotAPdf("the file is not a PDF (no %PDF- header)")
    try:
        return pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        raise PdfDamaged(f"PDFium cannot open the PDF: {exc}") from exc


def _pages(document: pdfium.PdfDocument, limits: Limits) -> int:
    count = len(document)
    if count > limits.pages:
        raise PdfLimitExceeded("pages", limits.pages)
    return count


def geometry(data: bytes, limits: Limits) -> list[Geometry]:
    """Return each page's crop box and rotation.

    :raises PdfLimitExceeded: more pages than ``limits.pages``, or a page larger than PDF allows.
    :raises PdfDamaged: PDFium cannot read it.
    """
    document = _open(data)
    try:
        pages = []
        for number in range(_pages(document, limits)):
            page = document[number]
            try:
                pages.append(_geometry(page))
            finally:
                page.close()
        return pages
    except pdfium.PdfiumError as exc:
        raise PdfDamaged(f"PDFium cannot read a page: {exc}") from exc
    finally:
        document.close()


def _geometry(page) -> Geometry:
    """Return a page's crop box and rotation, refusing a box larger than PDF allows."""
    crop = tuple(float(v) for v in page.get_cropbox())
    check_page_box(crop)
    return crop, page.get_rotation() % 360


def find_text(data: bytes, text: str, limits: Limits) -> tuple[int, float, float, Geometry] | None:
    """Return the page index, the user-space lower-left corner of the first occurrence of ``text``, and that page's geometry.

    :raises PdfLimitExceeded: more pages than ``limits.pages``, or the page found is larger than PDF allows.
    :raises PdfDamaged: PDFium cannot read it.
    """
    document = _open(data)
    try:
        for index in range(_pages(document, limits)):
            page = document[index]
            try:
                textpage = page.get_textpage()
                try:
                    searcher = textpage.search(text, match_case=True)
                    found = searcher.get_next()
                    searcher.close()
                    if found:
                        left, bottom, _right, _top = textpage.get_charbox(found[0])
                        return index, left, bottom, _geometry(page)
                finally:
                    textpage.close()
            finally:
                page.close()
        return None
    except pdfium.PdfiumError as exc:
        raise PdfDamaged(f"PDFium cannot read a page: {exc}") from exc
    finally:
        document.close()


def thumbnail(path: str, page: int, width: int, max_pixels: int) -> bytes:
    """Return a PNG of page ``page`` of the PDF file at ``path``, ``width`` pixels wide unless that breaks ``max_pixels``.

    The scale is the smaller of ``width`` over the page width and the one that fits the page into ``max_pixels``,
    so no page size makes the bitmap larger.

    :raises PdfDamaged: PDFium cannot read the page.
    """
    document = _open(path)
    try:
        rendered = document[page]
        try:
            page_width, page_height = (max(side, 1.0) for side in rendered.get_size())
            scale = min(width / page_width, math.sqrt(max_pixels / (page_width * page_height)))
            while math.ceil(page_width * scale) * math.ceil(page_height * scale) > max_pixels:  # whole pixels
                scale *= 0.99
            image = rendered.render(scale=scale, may_draw_forms=True).to_pil()
        finally:
            rendered.close()
    except pdfium.PdfiumError as exc:
        raise PdfDamaged(f"PDFium cannot render the page: {exc}") from exc
    finally:
        document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    return out.getvalue()
