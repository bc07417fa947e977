"""Where a stamp goes on a page, from eSign API coordinates or a tag text, using PDFium for geometry and text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.signing.uploads import _PDFIUM, PageGeometry
from .errors import ApiError

if TYPE_CHECKING:
    import pypdfium2 as pdfium

Box = tuple[float, float, float, float]


def _display_point(geometry: PageGeometry, ux: float, uy: float) -> tuple[float, float]:
    """Return the point of the shown page (from its lower-left corner) for a user-space point."""
    left, bottom, right, top = geometry.crop
    x, y = ux - left, uy - bottom
    width, height = right - left, top - bottom
    if geometry.rotation == 90:
        return y, width - x
    if geometry.rotation == 180:
        return width - x, height - y
    if geometry.rotation == 270:
        return height - y, x
    return x, y


def _find_tag(document: pdfium.PdfDocument, tag: str) -> tuple[int, float, float] | None:
    """Return (page index, user-space x, y) of the lower-left corner of the first occurrence of ``tag``."""
    for index in range(len(document)):
        page = document[index]
        try:
            text = page.get_textpage()
            try:
                searcher = text.search(tag, match_case=True)
                found = searcher.get_next()
                searcher.close()
                if found:
                    left, bottom, _right, _top = text.get_charbox(found[0])
                    return index, left, bottom
            finally:
                text.close()
        finally:
            page.close()
    return None


def stamp_box(data: bytes, index: int, page: int, x: float, y: float, width: float, height: float,
              tag: str | None = None) -> tuple[int, Box]:
    """Return the 0-based page and user-space box of a stamp for file ``index`` (1-based, for messages).

    ``page`` is 1-based and (x, y) is the stamp's lower-left corner in points on the shown page (crop box,
    rotation applied); with ``tag`` the corner is the tag text's first occurrence instead.

    :raises ApiError: the file cannot be read, the page does not exist or the tag is not found.
    """
    import pypdfium2 as pdfium

    try:
        with _PDFIUM:
            document = pdfium.PdfDocument(data)
            try:
                if tag:
                    found = _find_tag(document, tag)
                    if found is None:
                        raise ApiError("tag_not_found", index=index)
                    page_index, ux, uy = found
                else:
                    page_index = page - 1
                    if not 0 <= page_index < len(document):
                        raise ApiError("bad_page", index=index, page=page, pages=len(document))
                geometry_page = document[page_index]
                try:
                    geometry = PageGeometry(tuple(float(v) for v in geometry_page.get_cropbox()),
                                            geometry_page.get_rotation() % 360)
                finally:
                    geometry_page.close()
            finally:
                document.close()
    except pdfium.PdfiumError as exc:
        raise ApiError("file_damaged", index=index) from exc
    if tag:
        x, y = _display_point(geometry, ux, uy)
    return page_index, geometry.stamp_box(x, y, width, height)
