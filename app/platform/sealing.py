"""Seal small secrets (links in the outbox, authenticator secrets) with AES-256-GCM under a key from ``SECRET_KEY``.

Each purpose has its own key: HKDF-SHA256 over ``SECRET_KEY`` with a per-purpose ``info`` string, so
a blob sealed for one purpose never opens for another. ``aad`` binds a blob to its row (its id),
so it cannot be copied to another one. The format is a version byte, a 12-byte random nonce, then
the ciphertext with its tag. Changing ``SECRET_KEY`` makes every sealed blob unreadable.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

VERSION = b"\x01"
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed blob cannot be opened: unknown format, another purpose or row, tampered, or ``SECRET_KEY`` changed."""


def key_for(info: bytes) -> bytes:
    """Derive the AES-256 key of one purpose (``info``) from the app's ``SECRET_KEY``."""
    secret = current_app.config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError("SECRET_KEY is not set: secrets cannot be sealed")
    material = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def seal(plaintext: bytes, info: bytes, aad: bytes = b"") -> bytes:
    """Encrypt ``plaintext`` for the purpose ``info``, bound to ``aad``."""
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key_for(info)).encrypt(nonce, plaintext, aad)


def unseal(blob: bytes, info: bytes, aad: bytes = b"") -> bytes:
    """Decrypt a blob made by ``seal`` with the same ``info`` and ``aad``; raise ``SealError`` otherwise."""
    blob = bytes(blob or b"")
    if blob[:1] != VERSION or len(blob) < 1 + NONCE_BYTES + 16:
        raise SealError("unknown sealed format")
    try:
        return AESGCM(key_for(info)).decrypt(blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise SealError("cannot be unsealed (another purpose or row, tampered, or SECRET_KEY changed)") from None
