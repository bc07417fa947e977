"""Where a stamp goes on a page, from eSign API coordinates or a tag text, using PDFium for geometry and text."""

from __future__ import annotations

from ..domain import keys
from ..domain.signing.uploads import PageGeometry
from .errors import ApiError

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


def stamp_box(data: bytes, index: int, page: int, x: float, y: float, width: float, height: float,
              tag: str | None = None) -> tuple[int, Box]:
    """Return the 0-based page and user-space box of a stamp for file ``index`` (1-based, for messages).

    ``page`` is 1-based and (x, y) is the stamp's lower-left corner in points on the shown page (crop box,
    rotation applied); with ``tag`` the corner is the tag text's first occurrence instead. PDFium reads the file
    in a sandbox child.

    :raises ApiError: the page does not exist or the tag is not found.
    :raises DocumentUnusable: the file cannot be read within the bounds.
    """
    if tag:
        found = keys.find_text(data, tag)
        if found is None:
            raise ApiError("tag_not_found", index=index, tag=tag)
        page_index, ux, uy, (crop, rotation) = found
        geometry = PageGeometry(crop, rotation)
        x, y = _display_point(geometry, ux, uy)
    else:
        pages = keys.page_geometry(data)
        page_index = page - 1
        if not 0 <= page_index < len(pages):
            raise ApiError("bad_page", index=index, page=page, pages=len(pages))
        geometry = PageGeometry(*pages[page_index])
    return page_index, geometry.stamp_box(x, y, width, height)
