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
