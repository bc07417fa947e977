"""Error types of the signing core; PKCS#11 errors are re-raised as these ``from`` the original."""


class SignerError(Exception):
    """Base class of every error the signing core raises."""


class HsmUnavailable(SignerError):
    """The PKCS#11 module, token or session cannot be used."""


class KeyNotFound(SignerError):
    """A key or certificate the operation needs is not in the token."""


class AlreadyInitialised(SignerError):
    """The CA hierarchy already exists and must not be overwritten."""


class WrongPassphrase(SignerError):
    """The passphrase does not open the wrapped key."""


class InvalidKeyBlob(SignerError):
    """A wrapped-key blob is damaged or of an unknown format."""


class PdfError(SignerError):
    """A PDF cannot be read or signed; the subclasses say why when the file itself is the reason."""


class NotAPdf(PdfError):
    """The bytes are not a PDF (no ``%PDF-`` header)."""


class PdfEncrypted(PdfError):
    """The PDF is encrypted or password-protected and no password was given."""


class PdfWrongPassword(PdfError):
    """The given password does not open the encrypted PDF."""


class PdfDamaged(PdfError):
    """The PDF, its form or a signature in it is damaged and cannot be read."""


class PdfLimitExceeded(PdfError):
    """An untrusted PDF is over a bound: ``limit`` is ``pages``, ``signatures``, ``decoded_bytes`` or ``page_size``, ``value`` the bound."""

    def __init__(self, limit: str, value: int):
        super().__init__(limit, value)
        self.limit = limit
        self.value = value


class PdfSignatureDamaged(PdfDamaged):
    """The PDF opens, but a signature in it (or its form) cannot be read."""


class AppearanceError(SignerError):
    """A visible-signature appearance cannot be drawn (unreadable image or font, unusable box)."""


class SigningFailed(SignerError):
    """A signature cannot be made: the certificate does not validate, or time-stamping failed."""
