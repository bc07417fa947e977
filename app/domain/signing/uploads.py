"""PDFs waiting to be signed: a batch per upload under ``instance/uploads/<id>/``, page geometry and thumbnails.

A batch belongs to one account (and the view binds it to the browser session
too); it is deleted once signed, and batches older than
``SIGNING_UPLOAD_TTL_MINUTES`` are swept away. Page geometry is read and page
thumbnails are rendered with PDFium in a sandbox child (:mod:`app.domain.keys`),
the thumbnails on first request, then cached in the batch folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from ...instance_setup import private_folder, write_private
from .. import keys
from ..key_errors import DocumentUnusable
from .signatures import DocumentRefused, Upload, refused

THUMBNAIL_WIDTH = 360  # pixels: sharp enough on a 390-px phone, small enough for many pages
STAMP_WIDTH, STAMP_HEIGHT = 240.0, 90.0  # points
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class PageGeometry:
    """A page as it is shown: its crop box in user space (points) and its /Rotate (0, 90, 180, 270)."""

    crop: tuple[float, float, float, float]
    rotation: int = 0

    @property
    def display_size(self) -> tuple[float, float]:
        """Return (width, height) in points of the page as a viewer shows it (rotation applied)."""
        left, bottom, right, top = self.crop
        width, height = right - left, top - bottom
        return (height, width) if self.rotation in (90, 270) else (width, height)

    def to_user(self, dx: float, dy: float) -> tuple[float, float]:
        """Convert a point of the shown page (points from its lower-left corner) to the page's user space."""
        left, bottom, right, top = self.crop
        width, height = right - left, top - bottom
        if self.rotation == 90:
            ux, uy = width - dy, dx
        elif self.rotation == 180:
            ux, uy = width - dx, height - dy
        elif self.rotation == 270:
            ux, uy = dy, height - dx
        else:
            ux, uy = dx, dy
        return left + ux, bottom + uy

    def stamp_box(self, x: float, y: float, width: float = STAMP_WIDTH, height: float = STAMP_HEIGHT):
        """Return the user-space box of a stamp whose lower-left corner is at (x, y) on the shown page.

        The box is moved (and, on a page smaller than the stamp, shrunk) so that it lies inside the page.
        """
        page_w, page_h = self.display_size
        width, height = min(width, page_w), min(height, page_h)
        x = min(max(x, 0.0), page_w - width)
        y = min(max(y, 0.0), page_h - height)
        corners = [self.to_user(x, y), self.to_user(x + width, y + height)]
        xs, ys = sorted(c[0] for c in corners), sorted(c[1] for c in corners)
        return (round(xs[0], 2), round(ys[0], 2), round(xs[1], 2), round(ys[1], 2))


@dataclass(frozen=True)
class BatchFile:
    """One uploaded PDF of a batch."""

    index: int
    filename: str
    size: int
    sha256: str
    pages: tuple[PageGeometry, ...]


@dataclass(frozen=True)
class Batch:
    """PDFs uploaded together, waiting for placement and the passphrase."""

    id: str
    owner_id: int
    created: float
    files: tuple[BatchFile, ...]

    @property
    def folder(self) -> Path:
        """Return the folder holding the batch."""
        return uploads_folder() / self.id

    def read(self, index: int) -> bytes:
        """Return the bytes of file ``index``."""
        return (self.folder / f"{index}.pdf").read_bytes()

    def uploads(self) -> list[Upload]:
        """Return the files as :class:`~app.domain.signing.signatures.Upload` values."""
        return [Upload(f.filename, self.read(f.index)) for f in self.files]


def uploads_folder() -> Path:
    """Return ``instance/uploads``."""
    return private_folder(Path(current_app.instance_path) / "uploads")


def ttl_seconds() -> int:
    """Return how long an unsigned batch is kept."""
    return int(current_app.config.get("SIGNING_UPLOAD_TTL_MINUTES", 60)) * 60


def _geometry(data: bytes, filename: str) -> tuple[PageGeometry, ...]:
    """Read each page's crop box and rotation with PDFium; a file PDFium cannot read (or over a bound) is refused."""
    try:
        pages = [PageGeometry(crop, rotation) for crop, rotation in keys.page_geometry(data)]
    except DocumentUnusable as exc:
        raise refused(filename, exc) from exc
    if not pages:
        raise DocumentRefused(gettext("Berkas %(name)s tidak memiliki halaman.", name=filename), filename)
    return tuple(pages)


def create(owner_id: int, files: list[Upload]) -> Batch:
    """Store checked uploads as a new batch and return it (the caller has run ``signing.check_document``)."""
    measured = [(upload, _geometry(upload.data, upload.filename)) for upload in files]
    batch = Batch(
        id=secrets.token_urlsafe(18),
        owner_id=owner_id,
        created=time.time(),
        files=tuple(
            BatchFile(i, upload.filename, len(upload.data), hashlib.sha256(upload.data).hexdigest(), pages)
            for i, (upload, pages) in enumerate(measured)
        ),
    )
    folder = batch.folder
    folder.mkdir(mode=0o700)
    for item, (upload, _pages) in zip(batch.files, measured):
        write_private(folder / f"{item.index}.pdf", upload.data)
    manifest = {
        "owner_id": owner_id,
        "created": batch.created,
        "files": [
            {"filename": f.filename, "size": f.size, "sha256": f.sha256,
             "pages": [{"crop": list(p.crop), "rotation": p.rotation} for p in f.pages]}
            for f in batch.files
        ],
    }
    write_private(folder / "manifest.json", json.dumps(manifest))
    return batch


def load(batch_id: str, owner_id: int) -> Batch | None:
    """Return the owner's batch, or None if it does not exist, belongs to someone else or has expired (then it is deleted)."""
    if not _ID.match(batch_id or ""):
        return None
    path = uploads_folder() / batch_id / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("owner_id") != owner_id:
        return None
    if time.time() - manifest["created"] > ttl_seconds():
        delete(batch_id)
        return None
    files = tuple(
        BatchFile(i, f["filename"], f["size"], f["sha256"],
                  tuple(PageGeometry(tuple(p["crop"]), p["rotation"]) for p in f["pages"]))
        for i, f in enumerate(manifest["files"])
    )
    return Batch(id=batch_id, owner_id=owner_id, created=manifest["created"], files=files)


def delete(batch_id: str) -> None:
    """Delete a batch folder (nothing happens if it is already gone)."""
    if _ID.match(batch_id or ""):
        shutil.rmtree(uploads_folder() / batch_id, ignore_errors=True)


def sweep() -> int:
    """Delete every batch older than the time-to-live; return how many were deleted."""
    limit = time.time() - ttl_seconds()
    removed = 0
    for folder in uploads_folder().iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def thumbnail(batch: Batch, index: int, page: int) -> bytes | None:
    """Return a PNG of a page of a batch file (rendered once, then cached), or None if there is no such page.

    :raises DocumentUnusable: the page cannot be rendered within the sandbox's bounds.
    """
    if not 0 <= index < len(batch.files) or not 0 <= page < len(batch.files[index].pages):
        return None
    cached = batch.folder / f"{index}-{page}.png"
    if cached.is_file():
        return cached.read_bytes()
    data = keys.thumbnail(batch.folder / f"{index}.pdf", page, THUMBNAIL_WIDTH)
    write_private(cached, data)
    return data
