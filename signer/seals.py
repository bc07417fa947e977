"""Seal keys: made in the HSM, wrapped under the token KEK, sealed under a random per-seal secret; codes keyed in the HSM.

A seal key has no passphrase. Its blob is the KEK-wrapped private key encrypted with AES-256-GCM under a
random 32-byte per-seal secret, which is kept only encrypted (the application decides where):

    b"PRFS" | version u8 | nonce 12 || AES-256-GCM(secret, AES-KWP(private key))

Every key that encrypts that secret is computed in the HSM by the non-extractable HMAC key
:data:`CODE_KEY` (:func:`code_key`, :func:`rest_key`), so a copy of the database alone opens nothing and is
no offline oracle for the short codes: each guess costs one HSM operation.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import keys
from .errors import InvalidKeyBlob, WrongPassphrase
from .hsm import Hsm
from .mac import mac

CODE_KEY = "paraf-seal-codes"
MAGIC = b"PRFS"
VERSION = 1
HEADER = struct.Struct(">4sB12s")
SECRET_BYTES = 32


@dataclass(frozen=True)
class SealKey:
    """A new seal key: its blob, its public key (SubjectPublicKeyInfo DER) and the secret that opens the blob."""

    blob: bytes
    public_key: bytes
    secret: bytes


def generate(hsm: Hsm, bits: int = 2048) -> SealKey:
    """Make an RSA key pair in the HSM and return it wrapped and sealed under a new random secret."""
    mac(hsm, CODE_KEY, b"present")  # made by `flask pki init`, never here: two workers could each make one
    wrapped, public_key = keys.generate_wrapped(hsm, bits)
    secret = os.urandom(SECRET_BYTES)
    return SealKey(blob=encrypt(secret, wrapped, MAGIC, version=True), public_key=public_key, secret=secret)


def encrypt(key: bytes, data: bytes, aad: bytes, version: bool = False) -> bytes:
    """Return ``nonce || AES-256-GCM(key, data)`` bound to ``aad`` (with the blob header when ``version``)."""
    nonce = os.urandom(12)
    header = HEADER.pack(MAGIC, VERSION, nonce) if version else nonce
    return header + AESGCM(key).encrypt(nonce, data, aad + header)


def decrypt(key: bytes, blob: bytes, aad: bytes, version: bool = False) -> bytes:
    """Return what :func:`encrypt` encrypted; raise :class:`WrongPassphrase` if ``key`` does not open it."""
    size = HEADER.size if version else 12
    if len(blob) <= size:
        raise InvalidKeyBlob("sealed data is too short")
    header = blob[:size]
    if version:
        magic, number, nonce = HEADER.unpack(header)
        if magic != MAGIC or number != VERSION:
            raise InvalidKeyBlob("unknown seal key blob format")
    else:
        nonce = header
    try:
        return AESGCM(key).decrypt(nonce, blob[size:], aad + header)
    except InvalidTag:
        raise WrongPassphrase("the key does not open this seal data") from None


def code_key(hsm: Hsm, context: str, code: str) -> tuple[str, bytes]:
    """Return a code's lookup hash (hex) and the key its copy of the secret is encrypted under, for a seal ``context``."""
    derived = mac(hsm, CODE_KEY, b"paraf-seal-code\x00" + context.encode() + b"\x00" + code.encode())
    return hashlib.sha256(b"check" + derived).hexdigest(), _sub_key(b"wrap", derived)


def rest_key(hsm: Hsm, context: str) -> bytes:
    """Return the key the seal's resting copy of its secret is encrypted under."""
    return _sub_key(b"rest", mac(hsm, CODE_KEY, b"paraf-seal-rest\x00" + context.encode()))


def _sub_key(label: bytes, derived: bytes) -> bytes:
    return hashlib.sha256(b"key:" + label + derived).digest()


@contextmanager
def unlock(hsm: Hsm, blob: bytes, secret: bytes) -> Iterator[keys.UnlockedKey]:
    """Open a seal key blob with its secret and unwrap the key as a sign-only session object; destroy it after.

    :raises WrongPassphrase: the secret does not open the blob.
    """
    with keys.unlock_wrapped(hsm, decrypt(secret, blob, MAGIC, version=True)) as key:
        yield key
