"""Subscriber keys: made in the HSM, wrapped under the token KEK, then sealed under the passphrase.

Blob layout, all of the header authenticated as GCM associated data::

    b"PRFK" | version u8 | kdf u8 (1 = argon2id) | memory KiB u32 | time u32 |
    parallelism u8 | salt 16 | nonce 12 || AES-256-GCM(AES-KWP(private key))

Version 2 (what is written): the AES-GCM key is HMAC-SHA256, computed in the HSM
by the token's non-extractable generic-secret key :data:`signer.ca.PEPPER`, of
argon2id(passphrase, salt). Without the token nothing turns a guess into a key
the GCM tag could confirm, so a copy of the database is no offline oracle:
every guess costs one HSM operation, and the application's lock on wrong
passphrases is what bounds them. Version 1 (still opened, re-sealed as 2 by
:func:`upgrade`) used the argon2id output itself as the key.

The private key exists in plaintext only inside the HSM: it is generated as a
session object (only the KEK can wrap it when the KEK is trusted), wrapped with
CKM_AES_KEY_WRAP_PAD and destroyed; to sign it is unwrapped as a sensitive,
non-extractable, sign-only session object (the KEK's unwrap template refuses
anything else) and destroyed in a ``finally``.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from asn1crypto.algos import DigestInfo
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pkcs11 import DEFAULT, Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e
from pkcs11.util.rsa import encode_rsa_public_key

from .ca import KEK, PEPPER, rsa_spki
from .config import KdfParams
from .errors import HsmUnavailable, InvalidKeyBlob, KeyNotFound, WrongPassphrase
from .hsm import Hsm, rsa_mechanism
from .mac import mac

MAGIC = b"PRFK"
VERSION = 2
VERSIONS = (1, 2)
KDF_ARGON2ID = 1
HEADER = struct.Struct(">4sBBIIB16s12s")
# Bounds on what a header may ask of the KDF, so a damaged blob cannot stall a worker.
MAX_MEMORY_KIB = 1024 * 1024
MAX_TIME_COST = 64
MAX_PARALLELISM = 16

# Attributes python-pkcs11 adds by default that SoftHSM refuses on a private key.
_NOT_FOR_PRIVATE_KEYS = {Attribute.ENCRYPT: DEFAULT, Attribute.VERIFY: DEFAULT, Attribute.WRAP: DEFAULT}


@dataclass(frozen=True)
class WrappedKey:
    """What is stored for a subscriber: the sealed blob and the public key (SubjectPublicKeyInfo DER)."""

    blob: bytes
    public_key: bytes


def _derive(passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_kib,
        parallelism=kdf.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def _outer_key(hsm: Hsm, version: int, passphrase: str, salt: bytes, kdf: KdfParams) -> bytes:
    stretched = _derive(passphrase, salt, kdf)
    if version == 1:
        return stretched
    return mac(hsm, PEPPER, stretched)


def _header(blob: bytes) -> tuple:
    """Return the parsed header of a blob whose format and KDF parameters are acceptable."""
    if len(blob) <= HEADER.size:
        raise InvalidKeyBlob("key blob is too short")
    fields = HEADER.unpack(blob[: HEADER.size])
    magic, version, kdf_id, memory, time_cost, parallelism, _, _ = fields
    if magic != MAGIC or version not in VERSIONS or kdf_id != KDF_ARGON2ID:
        raise InvalidKeyBlob("unknown key blob format")
    if not (8 <= memory <= MAX_MEMORY_KIB and 1 <= time_cost <= MAX_TIME_COST and 1 <= parallelism <= MAX_PARALLELISM):
        raise InvalidKeyBlob("key blob asks for KDF parameters out of range")
    return fields


def seal(hsm: Hsm, wrapped: bytes, passphrase: str, kdf: KdfParams) -> bytes:
    """Encrypt a KEK-wrapped key under a key derived from the passphrase and the HSM's pepper (version 2)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    header = HEADER.pack(MAGIC, VERSION, KDF_ARGON2ID, kdf.memory_kib, kdf.time_cost, kdf.parallelism, salt, nonce)
    return header + AESGCM(_outer_key(hsm, VERSION, passphrase, salt, kdf)).encrypt(nonce, wrapped, header)


def open_sealed(hsm: Hsm, blob: bytes, passphrase: str) -> bytes:
    """Return the KEK-wrapped key inside a blob; raise :class:`WrongPassphrase` if it does not open."""
    _, version, _, memory, time_cost, parallelism, salt, nonce = _header(blob)
    kdf = KdfParams(memory_kib=memory, time_cost=time_cost, parallelism=parallelism)
    key = _outer_key(hsm, version, passphrase, salt, kdf)
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER.size :], blob[: HEADER.size])
    except InvalidTag:
        raise WrongPassphrase("the passphrase does not open this key") from None


def upgrade(hsm: Hsm, blob: bytes, passphrase: str, kdf: KdfParams) -> bytes | None:
    """Return the blob re-sealed in the current version if it is older (None if it is current).

    :raises WrongPassphrase: the blob is older and the passphrase does not open it.
    """
    if _header(blob)[1] == VERSION:
        return None
    return seal(hsm, open_sealed(hsm, blob, passphrase), passphrase, kdf)


def kdf_of(blob: bytes) -> KdfParams:
    """Return the KDF parameters recorded in a blob's header."""
    _, _, _, memory, time_cost, parallelism, _, _ = HEADER.unpack(blob[: HEADER.size])
    return KdfParams(memory_kib=memory, time_cost=time_cost, parallelism=parallelism)


def _kek(hsm: Hsm, session):
    try:
        return session.get_key(object_class=ObjectClass.SECRET_KEY, label=KEK)
    except p11e.NoSuchKey as exc:
        raise KeyNotFound("the token holds no key-encryption key; run `flask pki init`") from exc


def generate(hsm: Hsm, passphrase: str, kdf: KdfParams, bits: int = 2048) -> WrappedKey:
    """Make an RSA key pair in the HSM, wrap and seal the private key, and destroy the session objects."""
    wrapped, public_key = generate_wrapped(hsm, bits)
    return WrappedKey(blob=seal(hsm, wrapped, passphrase, kdf), public_key=public_key)


def generate_wrapped(hsm: Hsm, bits: int = 2048) -> tuple[bytes, bytes]:
    """Make an RSA key pair in the HSM and return the KEK-wrapped private key and the SubjectPublicKeyInfo (DER)."""

    def make(session) -> tuple[bytes, bytes]:
        kek = _kek(hsm, session)
        public, private = session.generate_keypair(
            KeyType.RSA,
            bits,
            store=False,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            # Extractable only to be wrapped; by trusted keys only when an HSM officer made the KEK trusted.
            private_template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: True,
                Attribute.WRAP_WITH_TRUSTED: bool(kek[Attribute.TRUSTED]),
            },
        )
        try:
            wrapped = kek.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD)
            return wrapped, encode_rsa_public_key(public)
        finally:
            private.destroy()
            public.destroy()

    try:
        wrapped, public_pkcs1 = hsm.run(make)
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable("cannot generate a key") from exc
    return wrapped, rsa_spki(public_pkcs1).dump()


def change_passphrase(hsm: Hsm, blob: bytes, old: str, new: str, kdf: KdfParams) -> bytes:
    """Re-seal the same wrapped key under a new passphrase; the old one no longer opens the result."""
    return seal(hsm, open_sealed(hsm, blob, old), new, kdf)


class UnlockedKey:
    """A subscriber private key unwrapped into the HSM for the length of a ``with`` block."""

    def __init__(self, key):
        self._key = key

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        """Sign ``data`` (PKCS#1 v1.5 over its ``digest`` hash)."""
        try:
            return self._key.sign(data, mechanism=rsa_mechanism(digest))
        except p11e.PKCS11Error as exc:
            raise HsmUnavailable("signing with the subscriber key failed") from exc


    def sign_digest(self, digest: bytes, algorithm: str = "sha256") -> bytes:
        """Sign a precomputed hash (PKCS#1 v1.5 over its DigestInfo), as remote-signing APIs ask."""
        info = DigestInfo({"digest_algorithm": {"algorithm": algorithm}, "digest": digest}).dump()
        try:
            return self._key.sign(info, mechanism=Mechanism.RSA_PKCS)
        except p11e.PKCS11Error as exc:
            raise HsmUnavailable("signing with the subscriber key failed") from exc


@contextmanager
def unlock(hsm: Hsm, blob: bytes, passphrase: str) -> Iterator[UnlockedKey]:
    """Open the blob with the passphrase and unwrap the key as a sign-only session object; destroy it after."""
    with unlock_wrapped(hsm, open_sealed(hsm, blob, passphrase)) as key:
        yield key


@contextmanager
def unlock_wrapped(hsm: Hsm, wrapped: bytes) -> Iterator[UnlockedKey]:
    """Unwrap a KEK-wrapped key (what :func:`open_sealed` returns) as a sign-only session object; destroy it after."""

    def unwrap(session):
        return _kek(hsm, session).unwrap_key(
            ObjectClass.PRIVATE_KEY,
            KeyType.RSA,
            wrapped,
            id=secrets.token_bytes(16),
            mechanism=Mechanism.AES_KEY_WRAP_PAD,
            store=False,
            capabilities=MechanismFlag.SIGN,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.PRIVATE: True,
                **_NOT_FOR_PRIVATE_KEYS,
            },
        )

    try:
        key = hsm.run(unwrap)
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable("cannot unwrap the subscriber key") from exc
    try:
        yield UnlockedKey(key)
    finally:
        try:
            key.destroy()
        except p11e.PKCS11Error:
            pass  # the session is gone, and its session objects with it
