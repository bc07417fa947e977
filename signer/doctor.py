"""Which key protections the token really enforces, found by trying the attacks on throwaway session objects.

Each probe makes its own session objects (a wrapping key, a small RSA key), tries what someone holding
the user PIN would try, and destroys them; the token's own keys are read and used, never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pkcs11 import DEFAULT, Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e

from .ca import CA_LABELS, KEK, PEPPER
from .errors import HsmUnavailable
from .hsm import Hsm

PROBE_BITS = 1024
_NOT_FOR_PRIVATE_KEYS = {Attribute.ENCRYPT: DEFAULT, Attribute.VERIFY: DEFAULT, Attribute.WRAP: DEFAULT}


@dataclass(frozen=True)
class Check:
    """One protection: whether it holds, whether Paraf relies on it, and what the probe saw."""

    name: str
    holds: bool
    essential: bool
    detail: str = ""


class _Scratch:
    """The throwaway session objects of one probe run, destroyed at the end."""

    def __init__(self, session):
        self.session = session
        self.made: list = []

    def keep(self, *objects):
        self.made.extend(objects)
        return objects[-1]

    def wrapping_key(self):
        return self.keep(self.session.generate_key(
            KeyType.AES, 256, store=False, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
            template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
        ))

    def rsa_key(self, template: dict | None = None):
        return self.keep(*self.session.generate_keypair(
            KeyType.RSA, PROBE_BITS, store=False, capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: True, **(template or {})},
        ))

    def destroy(self) -> None:
        for obj in self.made:
            try:
                obj.destroy()
            except p11e.PKCS11Error:
                pass  # a session object goes with its session anyway


def _refused(operation: Callable[[], object]) -> str | None:
    """Return the PKCS#11 error's name if ``operation`` is refused, None if it succeeds."""
    try:
        operation()
    except p11e.PKCS11Error as exc:
        return type(exc).__name__
    return None


def _token_key(session, object_class: ObjectClass, label: str):
    try:
        return session.get_key(object_class=object_class, label=label)
    except p11e.NoSuchKey:
        return None


def _stays_inside(scratch: _Scratch, object_class: ObjectClass, label: str, what: str) -> Check:
    name = f"{what} {label!r} is present, sensitive and cannot be wrapped out"
    key = _token_key(scratch.session, object_class, label)
    if key is None:
        return Check(name, False, True, "missing: run `flask pki init`")
    if not key[Attribute.SENSITIVE] or key[Attribute.EXTRACTABLE]:
        return Check(name, False, True, "marked non-sensitive or extractable")
    wrapper = scratch.wrapping_key()
    refusal = _refused(lambda: wrapper.wrap_key(key, mechanism=Mechanism.AES_KEY_WRAP_PAD))
    return Check(name, refusal is not None, True, f"wrapping refused ({refusal})" if refusal else "a fresh key wrapped it")


def _unwrap_template(scratch: _Scratch) -> Check:
    name = "the KEK unwraps keys only as sensitive and non-extractable (unwrap template)"
    kek = _token_key(scratch.session, ObjectClass.SECRET_KEY, KEK)
    if kek is None:
        return Check(name, False, True, "no KEK: run `flask pki init`")
    wrapped = kek.wrap_key(scratch.rsa_key(), mechanism=Mechanism.AES_KEY_WRAP_PAD)
    refusals = []
    for sensitive, what in ((False, "readable"), (True, "extractable")):

        def unwrap(sensitive=sensitive):
            key = scratch.keep(kek.unwrap_key(
                ObjectClass.PRIVATE_KEY, KeyType.RSA, wrapped, mechanism=Mechanism.AES_KEY_WRAP_PAD, store=False,
                capabilities=MechanismFlag.SIGN,
                template={Attribute.SENSITIVE: sensitive, Attribute.EXTRACTABLE: True, **_NOT_FOR_PRIVATE_KEYS},
            ))
            if not sensitive:
                key[Attribute.PRIVATE_EXPONENT]

        refusal = _refused(unwrap)
        if refusal is None:
            return Check(name, False, True, f"it unwrapped a key as {what}: this KEK has no unwrap template, "
                         "and an existing key cannot gain one (see the README on moving to a new token)")
        refusals.append(refusal)
    return Check(name, True, True, f"unwrapping as readable or extractable refused ({', '.join(sorted(set(refusals)))})")


def _trusted_wrap(scratch: _Scratch) -> list[Check]:
    probe = scratch.rsa_key({Attribute.WRAP_WITH_TRUSTED: True})
    wrapper = scratch.wrapping_key()
    refusal = _refused(lambda: wrapper.wrap_key(probe, mechanism=Mechanism.AES_KEY_WRAP_PAD))
    enforced = Check("the module refuses an untrusted key wrapping a CKA_WRAP_WITH_TRUSTED key", refusal is not None,
                     False, f"refused ({refusal})" if refusal else "a fresh untrusted key wrapped it")
    kek = _token_key(scratch.session, ObjectClass.SECRET_KEY, KEK)
    trusted = bool(kek is not None and kek[Attribute.TRUSTED])
    return [enforced, Check(
        "the KEK is trusted, so new subscriber keys are made CKA_WRAP_WITH_TRUSTED", trusted, False,
        "yes" if trusted else "no: only an HSM officer can mark it (SoftHSM only on public objects, which it "
        "stores unencrypted, so Paraf does not); new keys are still wrapped and destroyed at once",
    )]


def checks(hsm: Hsm) -> list[Check]:
    """Probe the token's key protections; the throwaway objects are destroyed whatever happens."""

    def probe(session) -> list[Check]:
        scratch = _Scratch(session)
        try:
            found = [_stays_inside(scratch, ObjectClass.SECRET_KEY, KEK, "KEK")]
            found.append(_unwrap_template(scratch))
            found.append(_stays_inside(scratch, ObjectClass.SECRET_KEY, PEPPER, "passphrase pepper"))
            found += [_stays_inside(scratch, ObjectClass.PRIVATE_KEY, label, "CA key") for label in CA_LABELS]
            return found + _trusted_wrap(scratch)
        finally:
            scratch.destroy()

    try:
        return hsm.run(probe)
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable("cannot probe the token's key protections") from exc
