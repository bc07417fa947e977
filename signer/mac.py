"""HMAC-SHA256 computed inside the token by non-extractable generic-secret keys.

The secret never leaves the HSM: whoever holds a copy of what was MAC-ed (a
database, a backup) cannot compute or check a MAC without asking the token.
"""

from __future__ import annotations

import secrets

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e

from .errors import HsmUnavailable, KeyNotFound
from .hsm import Hsm

KEY_BITS = 256


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


def mac(hsm: Hsm, label: str, data: bytes) -> bytes:
    """Return HMAC-SHA256 of ``data`` under the token key ``label``, computed in the HSM.

    :raises KeyNotFound: the token has no such key (``flask pki init`` makes them).
    :raises HsmUnavailable: the HSM did not compute it.
    """
    try:
        return hsm.run(lambda session: hsm.secret_key(session, label).sign(data, mechanism=Mechanism.SHA256_HMAC))
    except KeyNotFound as exc:
        raise KeyNotFound(f"the token holds no key {label!r}; run `flask pki init`") from exc
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable(f"cannot compute an HMAC with the token key {label!r}") from exc
