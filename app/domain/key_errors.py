"""The refusals ``keys`` raises for what the signing core (``signer/``) raised, each ``from`` the original.

Nothing outside ``app/domain/keys.py`` catches a ``signer`` error: the adapter turns each into one of
these, so pages, the APIs and the signing rules depend on the domain's errors only.
"""

from __future__ import annotations

from flask_babel import gettext

from .errors import InputError, Unavailable


class KeyServiceUnavailable(Unavailable):
    """The HSM or the signing core failed (no token, a damaged key blob, a failed time stamp); nothing was changed."""

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext(
            "Terjadi kesalahan di server. Coba lagi beberapa saat lagi; bila berulang, hubungi admin."))


class PassphraseDoesNotOpen(InputError):
    """The passphrase does not open the subscriber's key (the caller decides whether it counts toward a lock)."""

    field = "passphrase"

    def __init__(self):
        super().__init__(gettext("Passphrase salah."))


class StampUnusable(InputError):
    """A visible signature cannot be drawn; most often the stamp image is not a PNG or JPEG that can be read."""

    field = "image"

    def __init__(self):
        super().__init__(gettext("Berkas bukan gambar JPEG/PNG yang dapat dibaca."))


class DocumentUnusable(InputError):
    """A PDF cannot be read or signed; the subclasses say why when the file itself is the reason."""

    field = "file"

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("Berkas ini tidak dapat dibaca atau ditandatangani sebagai PDF."))


class NotAPdfDocument(DocumentUnusable):
    """The file is not a PDF."""

    def __init__(self):
        super().__init__(gettext("Berkas ini bukan PDF."))


class EncryptedDocument(DocumentUnusable):
    """The PDF is encrypted or password-protected and no password was given."""

    def __init__(self):
        super().__init__(gettext("Berkas ini terenkripsi atau dilindungi kata sandi. Hapus proteksinya lalu unggah lagi."))


class DocumentPasswordWrong(DocumentUnusable):
    """The given password does not open the encrypted PDF."""

    field = "password"

    def __init__(self):
        super().__init__(gettext("Kata sandi tidak membuka berkas ini."))


class DamagedDocument(DocumentUnusable):
    """The PDF, its form or a signature in it is damaged."""

    def __init__(self):
        super().__init__(gettext("Berkas ini rusak dan tidak dapat dibaca. Simpan ulang sebagai PDF lalu unggah lagi."))


class DamagedSignatures(DamagedDocument):
    """The PDF opens, but a signature in it (or its form) cannot be read."""


class DocumentOverLimit(DocumentUnusable):
    """An uploaded PDF is over one of Paraf's bounds; ``limit`` names it and ``value`` is the bound.

    ``limit`` is ``pages``, ``signatures``, ``decoded_mb``, ``page_size`` (points) or ``check``: the check in its
    child process overran ``value`` seconds or ``memory_mb`` of memory (too complex or too large to check).
    """

    status = 413

    def __init__(self, limit: str, value: int, memory_mb: int = 0):
        self.limit, self.value = limit, value
        if limit == "pages":
            message = gettext("Berkas ini memiliki lebih dari %(n)d halaman, batas Paraf.", n=value)
        elif limit == "signatures":
            message = gettext("Berkas ini memuat lebih dari %(n)d tanda tangan; Paraf memeriksa paling banyak "
                              "%(n)d tanda tangan per dokumen.", n=value)
        elif limit == "decoded_mb":
            message = gettext("Isi berkas ini setelah diurai melebihi %(mb)d MB, batas Paraf.", mb=value)
        elif limit == "page_size":
            message = gettext("Ada halaman berkas ini yang lebih besar dari %(pt)d pt, batas format PDF.", pt=value)
        else:
            message = gettext("Dokumen terlalu rumit atau terlalu besar untuk diperiksa (batas %(s)d detik dan "
                              "%(mb)d MB memori).", s=value, mb=memory_mb)
        super().__init__(message)
