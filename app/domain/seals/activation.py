"""Activations of a seal and their codes: custodians' codes, refreshes, sealing codes, wrong codes counted and locked.

An API client asks for an activation; every custodian gets a code of their own (through the outbox). The first
custodian's code presented starts the activation (``SEAL_ACTIVATION_HOURS`` from then, never extended) and
becomes its current activation code; the other custodians' codes die. A refresh replaces the current activation
code by a new one (the old dies at once). The activation code buys sealing codes (``SEAL_CODE_MINUTES``, at most
``SEAL_MAX_DOCUMENTS_PER_CODE`` documents), each used up by the one ``seal/pdf`` call it covers. Codes are bound
to the seal and the client that asked for the activation; see :mod:`app.domain.seals` for how they guard the key.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import case, exists, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from ...extensions import db
from ...lifecycle import SealStatus
from ...models import Account, ApiClient, Seal, SealActivation, SealCode
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor, record
from .. import keys
from ..errors import DomainError, Unavailable
from ..key_errors import PassphraseDoesNotOpen
from ..signing import signatures

ACTIVATION, SEALING = "activation", "sealing"
CODE_DIGITS = 8
PENDING_WAIT_SECONDS = 10.0
PENDING_TRY_SECONDS = 120
"""A try still pending this long after the seal's last try started belonged to a process that died."""


class SealRefused(DomainError):
    """A seal call is refused; ``key`` names the API error, ``values`` fill its message."""

    status = 403
    key = "seal_refused"

    def __init__(self, message: str, **values):
        super().__init__(message)
        self.values = values


class SealUnknown(SealRefused):
    """No seal with this ``idSubscriber`` that the client may use (another agency's seal is answered the same)."""

    status = 404
    key = "seal_not_found"


class SealUnusable(SealRefused):
    """The seal is not issued, or revoked, or its certificate expired."""

    key = "seal_not_usable"


class SealLocked(SealRefused):
    """Too many wrong codes: the seal is locked until a custodian lifts the lock."""

    status = 423
    key = "seal_locked"
    keep_changes = True


class CodeWrong(SealRefused):
    """The code is not a live code of this seal and client; ``remaining`` tries before the seal locks."""

    key = "seal_code_wrong"
    keep_changes = True


class CodeExpired(SealRefused):
    """The code, or its activation, has expired."""

    key = "seal_code_expired"


class CodeUsed(SealRefused):
    """The code was already used (a sealing code covers one call; a refreshed activation code is replaced)."""

    key = "seal_code_used"


class NotActivated(SealRefused):
    """The code's activation was ended (or replaced by a newer one)."""

    key = "seal_not_activated"


class CodeCount(SealRefused):
    """The sealing code covers fewer documents than sent."""

    key = "seal_code_count"


class NoCustodian(SealRefused):
    """The seal has no custodian to send an activation code to."""

    status = 409
    key = "seal_no_custodian"


class ActivationThrottled(SealRefused):
    """An activation was asked for too soon after the previous one."""

    status = 429
    key = "seal_activation_throttled"


class SealBusy(Unavailable):
    """The database was too busy to count the try; nothing was checked."""


def _setting(name: str) -> int:
    return int(current_app.config[name])


def aad(seal: Seal, purpose: str = "rest") -> bytes:
    """Return what binds an encrypted copy of the seal's secret to the seal and its use."""
    return f"paraf-seal:{seal.id_subscriber}:{purpose}".encode()


def find_for_client(id_subscriber: object, client: ApiClient) -> Seal:
    """Return the seal the client may use, or raise :class:`SealUnknown` (also for another agency's or client's seal)."""
    seal = None
    if isinstance(id_subscriber, str) and 0 < len(id_subscriber.strip()) <= 32:
        seal = db.session.execute(select(Seal).where(Seal.id_subscriber == id_subscriber.strip())).scalar_one_or_none()
    if seal is None or seal.agency_id not in client.agency_ids or client not in seal.clients:
        raise SealUnknown(gettext("Segel elektronik tidak ditemukan."))
    return seal


def check_usable(seal: Seal) -> None:
    """Refuse a seal that is not issued and valid, or that is locked."""
    certificate = seal.certificate
    if seal.status != SealStatus.ISSUE or certificate is None or (certificate.not_after or utcnow()) <= utcnow():
        raise SealUnusable(gettext("Segel elektronik tidak aktif (status %(status)s).", status=seal.status),
                           status=str(seal.status))
    if seal.locked_at is not None:
        raise SealLocked(gettext("Segel dikunci karena kode salah berulang kali; pemegang segel dapat membukanya di portal."))


# --- counting wrong codes: one guarded UPDATE per step, committed at once (as ``signatures.passphrase_try``)

def _update(seal: Seal, *where, **values) -> bool:
    """Update the seal's count and lock in one statement, committed at once; return whether a row matched."""
    statement = (update(Seal).where(Seal.id == seal.id, *where).values(**values)
                 .returning(Seal.wrong_codes, Seal.locked_at))
    try:
        connection = signatures._request_connection()
        if connection is None:
            with signatures._counting_engine().begin() as own:
                row = own.execute(statement).first()
        else:
            row = connection.execute(statement).first()
    except OperationalError as exc:
        raise SealBusy(gettext("Server sedang sibuk. Coba lagi sebentar lagi.")) from exc
    if row is None:
        return False
    set_committed_value(seal, "wrong_codes", row.wrong_codes)
    set_committed_value(seal, "locked_at", row.locked_at)
    return True


def _start_try(seal: Seal) -> None:
    """Count a try as pending while wrong and pending tries together stay under the limit; wait for the others otherwise."""
    deadline = time.monotonic() + PENDING_WAIT_SECONDS
    while True:
        now = utcnow()
        stale = Seal.code_pending_since < now - timedelta(seconds=PENDING_TRY_SECONDS)
        pending = func.coalesce(case((stale, 0), else_=Seal.code_tries_pending), 0)
        if _update(seal, Seal.locked_at.is_(None), Seal.wrong_codes + pending < _setting("SEAL_MAX_WRONG_CODES"),
                   code_tries_pending=pending + 1, code_pending_since=now):
            return
        if seal.locked_at is not None or time.monotonic() >= deadline:
            check_usable(seal)
            raise SealLocked(gettext("Terlalu banyak kode salah; segel dikunci."))
        time.sleep(signatures.PENDING_POLL_SECONDS)


def _end_try(seal: Seal, **values) -> None:
    pending = Seal.code_tries_pending
    _update(seal, code_tries_pending=case((pending > 0, pending - 1), else_=0), **values)


def _wrong(seal: Seal, actor: Actor, client: ApiClient) -> SealRefused:
    """Count a wrong code; lock the seal and end its activations when it was the last try."""
    _end_try(seal, wrong_codes=Seal.wrong_codes + 1)
    remaining = max(0, _setting("SEAL_MAX_WRONG_CODES") - seal.wrong_codes)
    record(actor, "seal.wrong_code", "seal", seal.id, details={"client": client.name, "remaining": remaining})
    if remaining:
        return CodeWrong(gettext("Kode segel salah. Sisa %(remaining)d percobaan sebelum segel dikunci.",
                                 remaining=remaining), remaining=remaining)
    _update(seal, Seal.locked_at.is_(None), locked_at=utcnow())
    for live in live_activations(seal):
        end_activation(live, actor, "locked")
    record(actor, "seal.locked", "seal", seal.id, details={"client": client.name})
    return SealLocked(gettext("Kode segel salah terlalu sering; segel dikunci. Pemegang segel dapat membukanya di portal."))


def _check(seal: Seal, client: ApiClient, code: object, purpose: str, actor: Actor) -> tuple[SealCode, bytes]:
    """Return the live code row the client presented and the key that opens its copy of the secret (a counted try).

    :raises CodeWrong: no such code of this seal, client and purpose (counted); :class:`SealLocked` at the limit.
    :raises CodeUsed, CodeExpired, NotActivated: the code is known but not usable now (not counted).
    """
    check_usable(seal)
    text = str(code).strip() if isinstance(code, (str, int)) and not isinstance(code, bool) else ""
    _start_try(seal)
    try:
        row, key = None, b""
        if text.isdigit() and len(text) == CODE_DIGITS:
            code_hash, key = keys.seal_code_key(seal.id_subscriber, text)
            row = db.session.execute(
                select(SealCode).join(SealActivation)
                .where(SealCode.code_hash == code_hash, SealCode.purpose == purpose,
                       SealActivation.seal_id == seal.id, SealActivation.client_id == client.id)
                .execution_options(populate_existing=True)
            ).scalar_one_or_none()
    except BaseException:
        _end_try(seal)  # not judged (HSM down): the try is given back
        raise
    if row is None:
        raise _wrong(seal, actor, client)
    _end_try(seal)
    now, activation = utcnow(), row.activation
    if activation.ended_at is not None:
        raise NotActivated(gettext("Aktivasi segel ini sudah diakhiri; minta aktivasi baru."))
    if row.used_at is not None:
        raise CodeUsed(gettext("Kode segel ini sudah dipakai."))
    if row.expires_at <= now or (activation.expires_at is not None and activation.expires_at <= now):
        raise CodeExpired(gettext("Kode segel sudah kedaluwarsa; minta kode baru."))
    return row, key


def _secret(seal: Seal, row: SealCode, key: bytes) -> bytes:
    """Return the seal's secret from the code's copy."""
    try:
        return keys.seal_decrypt(key, row.wrapped_secret or b"", aad(seal, row.purpose))
    except PassphraseDoesNotOpen as exc:  # a code row whose copy was wiped or damaged
        raise NotActivated(gettext("Aktivasi segel ini sudah diakhiri; minta aktivasi baru.")) from exc


def _new_code(seal: Seal, activation: SealActivation, purpose: str, secret: bytes, expires_at: datetime,
              custodian_id: int | None = None, allowance: int | None = None) -> tuple[SealCode, str]:
    """Add a code row carrying its own copy of the secret; return it and the code."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        code_hash, key = keys.seal_code_key(seal.id_subscriber, code)
        if not db.session.execute(select(exists().where(SealCode.code_hash == code_hash))).scalar():
            break
    row = SealCode(activation_id=activation.id, purpose=purpose, custodian_id=custodian_id, code_hash=code_hash,
                   wrapped_secret=keys.seal_encrypt(key, secret, aad(seal, purpose)), allowance=allowance,
                   expires_at=expires_at, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row, code


def _use(row: SealCode) -> None:
    """Mark a code used and wipe its copy of the secret, unless a parallel request used it first."""
    used = db.session.execute(
        update(SealCode).where(SealCode.id == row.id, SealCode.used_at.is_(None))
        .values(used_at=utcnow(), wrapped_secret=None).execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        raise CodeUsed(gettext("Kode segel ini sudah dipakai."))
    db.session.refresh(row)


def _start(seal: Seal, row: SealCode, actor: Actor) -> SealActivation:
    """Start the activation with its first custodian's code; the other custodians' codes die."""
    activation = row.activation
    if activation.started_at is not None:
        return activation
    now = utcnow()
    activation.started_at, activation.custodian_id = now, row.custodian_id
    activation.expires_at = now + timedelta(hours=_setting("SEAL_ACTIVATION_HOURS"))
    row.expires_at = activation.expires_at
    db.session.execute(
        update(SealCode).where(SealCode.activation_id == activation.id, SealCode.id != row.id)
        .values(expires_at=now, wrapped_secret=None).execution_options(synchronize_session=False)
    )
    db.session.flush()
    record(actor, "seal.activation.start", "seal", seal.id,
           details={"activation": activation.id, "client": activation.client.name, "custodian": row.custodian_id})
    return activation


def live_activations(seal: Seal) -> list[SealActivation]:
    """Return the seal's activations that have not ended or expired."""
    now = utcnow()
    return list(db.session.execute(
        select(SealActivation).where(SealActivation.seal_id == seal.id, SealActivation.ended_at.is_(None),
                                     (SealActivation.expires_at.is_(None)) | (SealActivation.expires_at > now))
    ).scalars())


def _contact(account: Account) -> tuple[str, str]:
    """Return the channel and address a custodian's code goes to: the verified phone, else the e-mail."""
    profile = account.profile
    if profile is not None and profile.phone and profile.phone_verified_at is not None:
        return notifications.WHATSAPP, notifications.whatsapp_number(profile.phone)
    return notifications.EMAIL, account.email


def request_activation(seal: Seal, client: ApiClient, actor: Actor) -> datetime:
    """Send every custodian a code of their own that starts an activation for ``client``; return when the codes expire.

    The client's earlier activations of this seal end (replaced).
    """
    check_usable(seal)
    if not seal.custodians:
        raise NoCustodian(gettext("Segel ini belum memiliki pemegang segel untuk menerima kode aktivasi."))
    now = utcnow()
    last = db.session.execute(
        select(func.max(SealActivation.requested_at))
        .where(SealActivation.seal_id == seal.id, SealActivation.client_id == client.id)
    ).scalar()
    wait = _setting("OTP_RESEND_SECONDS") - (now - last).total_seconds() if last is not None else 0
    if wait > 0:
        seconds = int(wait) + 1
        raise ActivationThrottled(gettext("Tunggu %(seconds)d detik sebelum meminta aktivasi baru.", seconds=seconds),
                                  seconds=seconds)
    for live in live_activations(seal):
        if live.client_id == client.id:
            end_activation(live, actor, "replaced")
    secret = keys.seal_decrypt(keys.seal_rest_key(seal.id_subscriber), seal.rest_secret, aad(seal))
    activation = SealActivation(seal_id=seal.id, client_id=client.id, requested_at=now)
    db.session.add(activation)
    db.session.flush()
    minutes = _setting("SEAL_CODE_MINUTES")
    expires_at = now + timedelta(minutes=minutes)
    context = {"agency": seal.agency.name, "seal": seal.name, "client": client.name, "minutes": minutes}
    for custodian in seal.custodians:
        _row, code = _new_code(seal, activation, ACTIVATION, secret, expires_at, custodian_id=custodian.id)
        channel, address = _contact(custodian)
        send = notifications.whatsapp_message if channel == notifications.WHATSAPP else notifications.email_message
        send(address, "seal_activation_code", context, {"code": code}, account_id=custodian.id,
             links_expire_at=expires_at)
    record(actor, "seal.activation.request", "seal", seal.id,
           details={"activation": activation.id, "client": client.name,
                    "custodians": [custodian.id for custodian in seal.custodians]})
    return expires_at


def refresh(seal: Seal, client: ApiClient, code: object, actor: Actor) -> tuple[str, datetime]:
    """Replace the current activation code by a new one (the activation's end stays); return it and its expiry."""
    row, key = _check(seal, client, code, ACTIVATION, actor)
    activation = _start(seal, row, actor)
    secret = _secret(seal, row, key)
    _use(row)
    new, new_code = _new_code(seal, activation, ACTIVATION, secret, activation.expires_at,
                              custodian_id=activation.custodian_id)
    record(actor, "seal.activation.refresh", "seal", seal.id,
           details={"activation": activation.id, "client": client.name, "custodian": activation.custodian_id})
    return new_code, new.expires_at


def sealing_code(seal: Seal, client: ApiClient, code: object, documents: int, actor: Actor) -> tuple[str, datetime]:
    """Return a new sealing code covering ``documents`` documents, bought with the current activation code, and its expiry."""
    row, key = _check(seal, client, code, ACTIVATION, actor)
    activation = _start(seal, row, actor)
    secret = _secret(seal, row, key)
    expires_at = min(utcnow() + timedelta(minutes=_setting("SEAL_CODE_MINUTES")), activation.expires_at)
    _new, new_code = _new_code(seal, activation, SEALING, secret, expires_at, allowance=documents)
    record(actor, "seal.code", "seal", seal.id, details={"activation": activation.id, "client": client.name,
                                                          "custodian": activation.custodian_id, "documents": documents})
    return new_code, expires_at


def use_sealing_code(seal: Seal, client: ApiClient, code: object, documents: int, actor: Actor) -> tuple[SealActivation, bytes]:
    """Use up a sealing code for ``documents`` documents; return its activation and the seal's secret."""
    row, key = _check(seal, client, code, SEALING, actor)
    if documents > (row.allowance or 1):
        raise CodeCount(gettext("Kode segel ini hanya berlaku untuk %(allowed)d dokumen.", allowed=row.allowance or 1),
                        allowed=row.allowance or 1)
    secret = _secret(seal, row, key)
    _use(row)
    return row.activation, secret


def end_by_code(seal: Seal, client: ApiClient, code: object, actor: Actor) -> SealActivation:
    """End the activation whose current activation code the client presented."""
    row, _key = _check(seal, client, code, ACTIVATION, actor)
    activation = row.activation
    end_activation(activation, actor, "ended")
    return activation


def end_activation(activation: SealActivation, actor: Actor, reason: str = "ended") -> None:
    """End an activation at once: its codes die and their copies of the seal's secret are wiped."""
    now = utcnow()
    activation.ended_at, activation.end_reason = now, reason
    db.session.execute(
        update(SealCode).where(SealCode.activation_id == activation.id)
        .values(wrapped_secret=None, expires_at=case((SealCode.expires_at > now, now), else_=SealCode.expires_at))
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    record(actor, "seal.activation.end", "seal", activation.seal_id,
           details={"activation": activation.id, "client": activation.client.name, "reason": reason})
