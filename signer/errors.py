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
    """A PDF cannot be read or signed (damaged, encrypted, not a PDF)."""


class AppearanceError(SignerError):
    """A visible-signature appearance cannot be drawn (unreadable image or font, unusable box)."""


class SigningFailed(SignerError):
    """A signature cannot be made: the certificate does not validate, or time-stamping failed."""
