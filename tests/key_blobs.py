"""The version-1 key-blob method (argon2id straight into AES-GCM), as someone holding only the database would use it."""

from __future__ import annotations

import os

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signer import keys
from signer.ca import PEPPER
from signer.config import KdfParams
from signer.mac import mac


def _stretch(passphrase: str, salt: bytes, memory: int, time_cost: int, parallelism: int) -> bytes:
    return hash_secret_raw(passphrase.encode("utf-8"), salt, time_cost=time_cost, memory_cost=memory,
                           parallelism=parallelism, hash_len=32, type=Type.ID)


def v1_seal(wrapped: bytes, passphrase: str, kdf: KdfParams) -> bytes:
    """Seal a KEK-wrapped key as version 1 did, with no HSM involved."""
    salt, nonce = os.urandom(16), os.urandom(12)
    header = keys.HEADER.pack(keys.MAGIC, 1, keys.KDF_ARGON2ID, kdf.memory_kib, kdf.time_cost, kdf.parallelism, salt, nonce)
    key = _stretch(passphrase, salt, kdf.memory_kib, kdf.time_cost, kdf.parallelism)
    return header + AESGCM(key).encrypt(nonce, wrapped, header)


def offline_open(blob: bytes, passphrase: str) -> bytes:
    """Open a blob from its bytes and a passphrase alone, the version-1 way; raise ``InvalidTag`` if that fails."""
    header = blob[: keys.HEADER.size]
    _, _, _, memory, time_cost, parallelism, salt, nonce = keys.HEADER.unpack(header)
    key = _stretch(passphrase, salt, memory, time_cost, parallelism)
    return AESGCM(key).decrypt(nonce, blob[keys.HEADER.size :], header)


def version(blob: bytes) -> int:
    """Return a blob's format version."""
    return keys.HEADER.unpack(blob[: keys.HEADER.size])[1]


def derived_keys(hsm, blob: bytes, passphrase: str) -> list[bytes]:
    """Return what the passphrase derives for a blob: the argon2id output and the HSM-peppered key of version 2."""
    _, _, _, memory, time_cost, parallelism, salt, _ = keys.HEADER.unpack(blob[: keys.HEADER.size])
    stretched = _stretch(passphrase, salt, memory, time_cost, parallelism)
    return [stretched, mac(hsm, PEPPER, stretched)]
