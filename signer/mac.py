"""HMAC-SHA256 computed inside the token by non-extractable generic-secret keys.

The secret never leaves the HSM: whoever holds a copy of what was MAC-ed (a
database, a backup) cannot compute or check a MAC without asking the token.
"""

from __future__ import annotations

import secrets
import threading

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e

from .errors import HsmUnavailable, KeyNotFound
from .hsm import Hsm

KEY_BITS = 256

_local = threading.local()


def ensure_mac_key(hsm: Hsm, label: str) -> bool:
    """Create the token's HMAC key ``label`` unless it exists; return whether it was created."""
    if hsm.has_object(label, ObjectClass.SECRET_KEY):
        return False

    def generate(session: pkcs11.Session) -> None:
        session.generate_key(
            KeyType.GENERIC_SECRET,
            KEY_BITS,
            label=label,
            id=secrets.token_bytes(16),
            store=True,
            capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True},
        )

    try:
        hsm.run(generate)
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable(f"cannot generate the HMAC key {label!r}") from exc
    return True


def _key(session: pkcs11.Session, label: str) -> pkcs11.SecretKey:
    """Return the secret key ``label`` of this session, looked up once per thread and session."""
    cache = getattr(_local, "keys", None)
    if cache is None:
        cache = _local.keys = {}
    entry = cache.get(label)
    if entry is None or entry[0] is not session:
        try:
            key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=label)
        except p11e.NoSuchKey as exc:
            raise KeyNotFound(f"no secret key labelled {label!r}") from exc
        entry = cache[label] = (session, key)
    return entry[1]


def mac(hsm: Hsm, label: str, data: bytes) -> bytes:
    """Return HMAC-SHA256 of ``data`` under the token key ``label``, computed in the HSM."""
    return hsm.run(lambda session: _key(session, label).sign(data, mechanism=Mechanism.SHA256_HMAC))
