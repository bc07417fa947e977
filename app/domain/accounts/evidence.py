"""Uploaded documents kept as evidence (reactivation papers, request letters): checked by content, stored under the instance.

A file is accepted only when its first bytes say PDF, JPEG or PNG and it really opens (PDFium in a sandbox
child for PDF, OpenCV for images, once the header says the image is within the pixel limit); the name the
browser sent is never trusted. Files go to
``instance/<area>/<owner>/`` under random names, never under ``static/``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from ...instance_setup import private_folder, write_private
from .. import keys
from ..enrolment.faces import MAX_PIXELS, image_size
from ..errors import InputError
from ..key_errors import DocumentOverLimit, DocumentUnusable

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
NAMES = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG"}


class EvidenceRefused(InputError):
    """A file cannot be kept; the text says why and what to upload instead."""


@dataclass(frozen=True)
class Checked:
    """A file that passed the checks: its content type and the extension it is stored with."""

    content_type: str
    extension: str


def max_bytes() -> int:
    """Return the largest file accepted."""
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def max_megabytes() -> str:
    """Return the largest file accepted in MB, for messages (``5``, ``0.5``)."""
    return f"{max_bytes() / (1024 * 1024):g}"


def _sniff(data: bytes) -> str | None:
    """Return the content type the first bytes announce, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def _opens(content_type: str, filename: str, data: bytes) -> bool:
    """Return whether the file really opens as what it claims to be (OpenCV imported on first use).

    :raises EvidenceRefused: a PDF over one of the bounds on PDFs, or an image of more than ``MAX_PIXELS``.
    """
    if content_type == PDF:
        try:
            return len(keys.page_geometry(data)) > 0
        except DocumentOverLimit as exc:
            raise EvidenceRefused(gettext("Berkas %(name)s ditolak: %(why)s", name=filename, why=exc.message)) from exc
        except DocumentUnusable:
            return False
    size = image_size(data)
    if size is None:
        return False
    if size[0] * size[1] > MAX_PIXELS:
        raise EvidenceRefused(gettext("Gambar %(name)s terlalu besar: lebih dari %(mp)d megapiksel. Kecilkan ukurannya lalu unggah lagi.",
                                      name=filename, mp=MAX_PIXELS // 1_000_000))
    import cv2
    import numpy

    image = cv2.imdecode(numpy.frombuffer(data, dtype=numpy.uint8), cv2.IMREAD_UNCHANGED)
    return image is not None and image.size > 0


def check(filename: str, data: bytes, allowed: tuple[str, ...] = (PDF, JPEG, PNG)) -> Checked:
    """Accept a non-empty file within the size limit whose content is one of ``allowed``.

    :raises EvidenceRefused: saying what is wrong with the file.
    """
    kinds = "/".join(NAMES[kind] for kind in allowed)
    if not data:
        raise EvidenceRefused(gettext("Pilih berkas %(kinds)s terlebih dahulu.", kinds=kinds))
    if len(data) > max_bytes():
        raise EvidenceRefused(gettext("Berkas %(name)s terlalu besar (maksimal %(mb)s MB).", name=filename,
                                      mb=max_megabytes()))
    content_type = _sniff(data)
    if content_type not in allowed:
        raise EvidenceRefused(gettext("Berkas %(name)s bukan %(kinds)s. Unggah hasil pindai atau foto dalam format %(kinds)s.",
                                      name=filename, kinds=kinds))
    if not _opens(content_type, filename, data):
        raise EvidenceRefused(gettext("Berkas %(name)s rusak dan tidak dapat dibuka. Simpan ulang lalu unggah lagi.", name=filename))
    return Checked(content_type, EXTENSIONS[content_type])


def folder(area: str, owner: int) -> Path:
    """Return (and create) ``instance/<area>/<owner>/``."""
    return private_folder(Path(current_app.instance_path) / area / str(int(owner)))


def store(area: str, owner: int, checked: Checked, data: bytes) -> str:
    """Write a checked file under a random name in its folder; return that name."""
    name = secrets.token_hex(16) + checked.extension
    write_private(folder(area, owner) / name, data)
    return name


def path_of(area: str, owner: int, name: str) -> Path | None:
    """Return the stored file's path, or None when the name is not one :func:`store` made or the file is gone."""
    stem, _dot, extension = (name or "").partition(".")
    if len(stem) != 32 or not all(c in "0123456789abcdef" for c in stem) or "." + extension not in EXTENSIONS.values():
        return None
    path = folder(area, owner) / name
    return path if path.is_file() else None


def remove(area: str, owner: int, name: str | None) -> None:
    """Delete a stored file (nothing happens if it is already gone)."""
    path = path_of(area, owner, name or "")
    if path is not None:
        path.unlink(missing_ok=True)
