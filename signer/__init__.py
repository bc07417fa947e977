"""A signing core for a small CA: HSM access, CA hierarchy, sealed subscriber keys, PAdES signing and validation.

Everything runs against one PKCS#11 token (:class:`Hsm`, configured by :class:`HsmConfig`): the CA keys
and the key-encryption key live in it; a subscriber's key is stored outside, wrapped under that key and
sealed under the subscriber's passphrase (:mod:`signer.keys`). :mod:`signer.ca` makes the hierarchy and
issues certificates, :mod:`signer.revocation` signs CRLs and OCSP responses, :mod:`signer.tsa` answers
time-stamp requests, :mod:`signer.mac` computes HMACs under keys that stay in the token, :mod:`signer.pdf`
signs PDFs and :func:`validate_pdf` checks them offline.

The package imports no web framework or database layer, writes no environment variables and patches
nothing on import: names, wording and verdict sentences come from the application (:class:`PkiConfig`,
:class:`StampStyle`, :attr:`SignatureReport.findings`), and :func:`signer.speedups.install` is opt-in.
Every error it raises is a :class:`SignerError`, PKCS#11 errors re-raised ``from`` the original.
"""

from . import ca, doctor, keys, mac, pdf, revocation, speedups
from .config import DEFAULT_POLICY_OID, HsmConfig, KdfParams, PkiConfig
from .errors import (
    AlreadyInitialised,
    AppearanceError,
    HsmUnavailable,
    InvalidKeyBlob,
    KeyNotFound,
    NotAPdf,
    PdfDamaged,
    PdfEncrypted,
    PdfError,
    PdfWrongPassword,
    SignerError,
    SigningFailed,
    WrongPassphrase,
)
from .hsm import Hsm, shared
from .signature_info import SignatureInfo
from .stamp import Stamp, StampStyle, load_image
from .tsa import InProcessTimeStamper, TimeStampAuthority
from .validate import SignatureReport, validate_pdf

__all__ = [
    "DEFAULT_POLICY_OID",
    "AlreadyInitialised",
    "AppearanceError",
    "Hsm",
    "HsmConfig",
    "HsmUnavailable",
    "InProcessTimeStamper",
    "InvalidKeyBlob",
    "KdfParams",
    "KeyNotFound",
    "NotAPdf",
    "PdfDamaged",
    "PdfEncrypted",
    "PdfError",
    "PdfWrongPassword",
    "PkiConfig",
    "SignatureInfo",
    "SignatureReport",
    "SignerError",
    "SigningFailed",
    "Stamp",
    "StampStyle",
    "TimeStampAuthority",
    "WrongPassphrase",
    "ca",
    "doctor",
    "keys",
    "load_image",
    "mac",
    "pdf",
    "revocation",
    "shared",
    "speedups",
    "validate_pdf",
]
