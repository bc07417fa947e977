"""After issuance (F9–F12): change or reset the passphrase, revoke, renewal, and the expiry sweep.

Plain values in; everything is added and flushed in the caller's transaction (the view or the CLI
commits once), so a step that fails leaves nothing half-done. Notifications go to the outbox.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from ... import lifecycle
from ...extensions import db
from ...lifecycle import AccountStatus, CertificateStatus
from ...models import Account, Certificate, CertificateKind, ExpiryReminder, RenewalRequest
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import SYSTEM, Actor, record
from ...urls import public_url
from .. import keys
from ..accounts import tokens
from ..enrolment import identity, issuance, otp, registration
from ..enrolment.registration import AGREEMENT_VERSION
from ..errors import Conflict, InputError
from ..key_errors import KeyServiceUnavailable
from ..signing import retention, signatures

PASSPHRASE_RESET = "passphrase_reset"

# The RFC 5280 reasons a subscriber or verifier may pick (``signer.revocation.REASONS`` spelling).
REASONS = {
    "key_compromise": lazy_gettext("Passphrase atau kunci diketahui orang lain (keyCompromise)"),
    "affiliation_changed": lazy_gettext("Pindah instansi atau berhenti dari instansi (affiliationChanged)"),
    "superseded": lazy_gettext("Diganti sertifikat baru (superseded)"),
    "cessation_of_operation": lazy_gettext("Tidak memerlukan sertifikat lagi, misalnya pensiun (cessationOfOperation)"),
    "unspecified": lazy_gettext("Alasan lain (unspecified)"),
}
RENEWABLE = (CertificateStatus.EXPIRED, CertificateStatus.REVOKE)


class CertificateError(InputError):
    """A certificate step that cannot be done now; the message says why and what to do."""


@dataclass(frozen=True)
class Actions:
    """What the certificate's current state allows its owner (and the verifier) to do."""

    certificate: Certificate | None
    change: bool
    reset: bool
    revoke: bool
    renew: bool
    migrated: bool
    renewal: RenewalRequest | None


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    expired: int = 0
    reminded: int = 0
    crls: tuple[str, ...] = ()
    documents: int = 0  # eSign v1 documents past their retention, deleted


def history(account: Account) -> list[Certificate]:
    """Return the account's subscriber certificates and requests, newest first."""
    return list(
        db.session.execute(
            select(Certificate)
            .where(Certificate.account_id == account.id, Certificate.kind == CertificateKind.SUBSCRIBER)
            .order_by(Certificate.id.desc())
        ).scalars()
    )


def latest(account: Account) -> Certificate | None:
    """Return the account's newest certificate or request (any status)."""
    rows = history(account)
    return rows[0] if rows else None


def active(account: Account) -> Certificate | None:
    """Return the account's newest ``ISSUE`` certificate."""
    return next((row for row in history(account) if row.status == CertificateStatus.ISSUE), None)


def open_renewal(account: Account) -> RenewalRequest | None:
    """Return the account's renewal request the verifier has not answered yet."""
    return db.session.execute(
        select(RenewalRequest)
        .where(RenewalRequest.account_id == account.id, RenewalRequest.handled_at.is_(None))
        .order_by(RenewalRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def reason_label(reason: str | None) -> str:
    """Return the label of a revocation reason (the RFC name itself when it is not one we offer)."""
    return str(REASONS.get(reason or "", reason or "—"))


def _phone_verified(account: Account) -> bool:
    profile = account.profile
    return bool(profile and profile.phone and profile.phone_verified_at)


def _check_renewable(account: Account) -> Certificate:
    """Return the expired or revoked certificate a renewal replaces; raise ``lifecycle.Forbidden`` otherwise."""
    if account.status != AccountStatus.VERIFIED:
        raise lifecycle.Forbidden("account", account.status, "renew")
    newest = latest(account)
    if newest is None or newest.status not in RENEWABLE:
        raise lifecycle.Forbidden("certificate", newest.status if newest else None, "renew")
    return newest


def actions(account: Account) -> Actions:
    """Return the actions the account's certificate state allows now."""
    newest = latest(account)
    live = active(account)
    usable = live is not None and account.status != AccountStatus.SUSPENDED
    try:
        _check_renewable(account)
        renew = True
    except lifecycle.Forbidden:
        renew = False
    return Actions(
        certificate=newest,
        change=usable and account.signing_locked_at is None and account.status == AccountStatus.VERIFIED,
        reset=usable,
        revoke=live is not None,
        renew=renew,
        migrated=bool(newest and newest.status == CertificateStatus.REVOKE and newest.revocation_reason == "affiliation_changed"),
        renewal=open_renewal(account),
    )


def _email(account: Account, message: str, **context) -> None:
    notifications.email_message(account.email, message, {"name": account.name, **context}, account_id=account.id)


def revoke_with_notice(certificate: Certificate, reason: str, actor: Actor) -> None:
    """Revoke at once with an RFC 5280 reason (CRL re-signed, OCSP answers revoked) and tell the owner by e-mail.

    :raises CertificateError: no reason we offer was chosen.
    :raises lifecycle.Forbidden: the certificate is not ``ISSUE``; nothing changes.
    """
    if reason not in REASONS:
        raise CertificateError(gettext("Pilih alasan pencabutan dari daftar."), "reason")
    keys.revoke(certificate, reason, actor)
    account = db.session.get(Account, certificate.account_id) if certificate.account_id else None
    if account is not None:
        _email(account, "certificate_revoked", serial=certificate.serial, reason=REASONS[reason])


def change_passphrase(account: Account, old: str, new: str, confirmation: str, agreed: bool, actor: Actor) -> Certificate:
    """Re-seal the same key under a new passphrase; the old one stops working when the caller commits.

    A wrong old passphrase counts toward the signing lock like a wrong signing passphrase (the caller
    must commit after :class:`signing.PassphraseWrong` too).

    :raises signing.SigningRefused: no usable certificate, or signing is locked (only a reset lifts it).
    :raises InputError: a field is missing or breaks a rule.
    """
    certificate = signatures.signing_certificate(account)
    if not old:
        raise CertificateError(gettext("Masukkan passphrase lama Anda."), "old")
    issuance.check_passphrase(new, confirmation)
    if new == old:
        raise CertificateError(gettext("Passphrase baru harus berbeda dari passphrase lama."), "passphrase")
    if not agreed:
        raise CertificateError(gettext("Centang pernyataan bahwa Anda akan merahasiakan passphrase baru."), "agreement")
    with signatures.passphrase_try(account, actor):
        keys.change_passphrase(certificate, old, new)
    record(actor, "certificate.passphrase_changed", "certificate", certificate.id, details={"serial": certificate.serial})
    _email(account, "passphrase_changed")
    return certificate


def reset_channel(account: Account) -> str:
    """Say where a reset link goes: WhatsApp when the phone is verified, e-mail otherwise."""
    return notifications.WHATSAPP if _phone_verified(account) else notifications.EMAIL


def _resettable(account: Account) -> Certificate:
    if account.status == AccountStatus.SUSPENDED:
        raise lifecycle.Forbidden("account", account.status, "reset_passphrase")
    certificate = active(account)
    if certificate is None:
        newest = latest(account)
        raise lifecycle.Forbidden("certificate", newest.status if newest else None, "reset_passphrase")
    return certificate


def request_reset(account: Account, actor: Actor) -> str:
    """Send a passphrase-reset link (earlier ones stop working); return the channel used.

    :raises lifecycle.Forbidden: there is no ``ISSUE`` certificate, or the account is suspended.
    """
    _resettable(account)
    hours = int(current_app.config["PASSPHRASE_RESET_TTL_HOURS"])
    raw = tokens.issue(account.id, PASSPHRASE_RESET, timedelta(hours=hours))
    links = {"reset_passphrase": public_url("certificates.reset_start", token=raw)}
    context = {"name": account.name, "hours": hours}
    channel = reset_channel(account)
    if channel == notifications.WHATSAPP:
        notifications.whatsapp_message(account.profile.phone, "passphrase_reset_link", context, links, account.id,
                                       utcnow() + timedelta(hours=hours))
    else:
        notifications.email_message(account.email, "passphrase_reset_link", context, links, account.id,
                                    utcnow() + timedelta(hours=hours))
    record(actor, "certificate.reset_link_sent", "account", account.id, details={"channel": channel})
    return channel


def open_reset(raw_token: str) -> tuple[Account, Certificate]:
    """Check a reset link without using it; return its account and the certificate it replaces.

    :raises tokens.TokenError: the link is unknown, used, replaced by a newer one, expired, or has nothing to reset.
    """
    token = tokens.verify(raw_token, PASSPHRASE_RESET)
    account = db.session.get(Account, token.account_id)
    try:
        return account, _resettable(account)
    except lifecycle.Forbidden as exc:
        raise tokens.TokenInvalid(exc.reason) from None


def reset_passphrase(account: Account, raw_token: str, passphrase: str, confirmation: str, agreed: bool, actor: Actor) -> Certificate:
    """Issue a new key and certificate under the new passphrase, revoke the old one as superseded, lift the signing lock.

    :raises InputError: a passphrase rule is broken or the agreement was not accepted.
    :raises tokens.TokenError: the link cannot be used.
    :raises Conflict: the HSM failed; nothing changed.
    """
    issuance.check_passphrase(passphrase, confirmation)
    if not agreed:
        raise CertificateError(gettext("Baca perjanjian pemilik sertifikat sampai akhir lalu pilih \u201cSetuju\u201d."), "agreement")
    token = tokens.consume(raw_token, PASSPHRASE_RESET)
    if token.account_id != account.id:
        raise tokens.TokenInvalid()
    try:
        old = _resettable(account)
    except lifecycle.Forbidden as exc:
        raise tokens.TokenInvalid(exc.reason) from None
    try:
        new = keys.replace_certificate(old, passphrase, actor)
    except KeyServiceUnavailable as exc:  # nothing half-done: the old certificate stays ISSUE and the link stays usable
        raise Conflict(gettext("Penerbitan sertifikat baru gagal di server; sertifikat lama tetap berlaku. Coba lagi.")) from exc
    new.agreement_version = AGREEMENT_VERSION
    account.wrong_passphrases, account.signing_locked_at, account.passphrase_tries_pending = 0, None, 0
    record(actor, "certificate.passphrase_reset", "account", account.id, details={"old": old.serial, "new": new.serial})
    _email(account, "passphrase_reset_done", new=new.serial, old=old.serial)
    return new


def send_phone_code(account: Account, phone: str) -> str:
    """Send a WhatsApp OTP to the (possibly new) number of the profile; return the normalised number."""
    try:
        number = identity.normalise_phone(phone)
    except identity.InvalidInput as exc:
        raise CertificateError(str(exc), "phone") from exc
    profile = account.profile
    if profile.phone != number:
        profile.phone, profile.phone_verified_at = number, None
    otp.send(account.id, number)
    return number


def verify_phone_code(account: Account, code: str, actor: Actor) -> None:
    """Check the OTP; the phone counts as verified from now on (wrong and locked codes are audited; commit after)."""
    try:
        otp.check(account.id, (code or "").strip())
    except otp.OtpWrong as exc:
        record(actor, "account.otp_wrong", "account", account.id, details={"remaining": exc.remaining})
        raise
    except otp.OtpLocked:
        record(actor, "account.otp_locked", "account", account.id)
        raise
    account.profile.phone_verified_at = utcnow()
    record(actor, "account.phone_verified", "account", account.id)


def _require_phone(account: Account, message: str) -> None:
    if not _phone_verified(account):
        raise CertificateError(message, "phone")


def request_renewal(account: Account, actor: Actor) -> RenewalRequest:
    """Ask the verifier for a new certificate (after expiry, revocation or a move); the phone must be verified.

    :raises lifecycle.Forbidden: the newest certificate is not ``EXPIRED`` or ``REVOKE``, or the account is not ``VERIFIED``.
    :raises CertificateError: the phone is not verified yet.
    """
    _check_renewable(account)
    _require_phone(account, gettext("Verifikasi nomor WhatsApp Anda dengan kode OTP terlebih dahulu."))
    row = open_renewal(account)
    if row is None:
        row = RenewalRequest(account_id=account.id, requested_at=utcnow())
        db.session.add(row)
        db.session.flush()
        record(actor, "certificate.renewal_requested", "account", account.id)
    return row


def send_renewal_link(account: Account, actor: Actor) -> Certificate:
    """Open a new certificate request ``NEW`` and send the set-passphrase link, so the issuance steps run again.

    :raises lifecycle.Forbidden: the state does not allow a renewal (e.g. a certificate is ``ISSUE`` or ``NEW``).
    :raises CertificateError: the subscriber has not verified their phone yet.
    """
    previous = _check_renewable(account)
    _require_phone(account, gettext("Pemilik belum memverifikasi nomor WhatsApp dengan OTP. Minta pemilik mengajukan "
                                    "penerbitan ulang dari menu Sertifikat di portal."))
    request = Certificate(kind=CertificateKind.SUBSCRIBER, account_id=account.id, subject=account.name)
    db.session.add(request)
    lifecycle.apply(request, "certificate", "request", actor, details={"renews": previous.serial})
    registration.send_set_passphrase(account, actor)
    renewal = open_renewal(account)
    if renewal is not None:
        renewal.handled_at = utcnow()
    return request


def _expire(now: datetime) -> int:
    rows = db.session.execute(
        select(Certificate)
        .where(Certificate.kind == CertificateKind.SUBSCRIBER, Certificate.status == CertificateStatus.ISSUE,
               Certificate.not_after <= now)
        .order_by(Certificate.id)
    ).scalars().all()
    for row in rows:
        lifecycle.apply(row, "certificate", "expire", SYSTEM, details={"serial": row.serial})
        account = db.session.get(Account, row.account_id) if row.account_id else None
        if account is not None:
            _email(account, "certificate_expired", serial=row.serial)
    return len(rows)


def _remind(now: datetime) -> int:
    days = sorted({int(day) for day in current_app.config["EXPIRY_REMINDER_DAYS"] if int(day) > 0})
    if not days:
        return 0
    rows = db.session.execute(
        select(Certificate)
        .where(Certificate.kind == CertificateKind.SUBSCRIBER, Certificate.status == CertificateStatus.ISSUE,
               Certificate.account_id.is_not(None), Certificate.not_after > now,
               Certificate.not_after <= now + timedelta(days=days[-1]))
        .order_by(Certificate.id)
    ).scalars().all()
    sent = {
        (certificate_id, days_before)
        for certificate_id, days_before in db.session.execute(
            select(ExpiryReminder.certificate_id, ExpiryReminder.days_before)
            .where(ExpiryReminder.certificate_id.in_([row.id for row in rows]))
        )
    } if rows else set()
    count = 0
    for row in rows:
        left = row.not_after - now
        due = min(day for day in days if left <= timedelta(days=day))  # the nearest mark: a late first sweep sends one
        if (row.id, due) in sent:
            continue
        db.session.add(ExpiryReminder(certificate_id=row.id, days_before=due, sent_at=now))
        account = db.session.get(Account, row.account_id)
        _email(account, "certificate_expiring", serial=row.serial, until=row.not_after.strftime("%d-%m-%Y"),
               days=math.ceil(left / timedelta(days=1)))
        count += 1
    db.session.flush()
    return count


def sweep(now: datetime | None = None) -> SweepResult:
    """Mark certificates past ``not_after`` EXPIRED, send the due expiry reminders once each, re-sign stale CRLs,
    delete the eSign v1 documents past their retention.

    ``now`` moves the certificate and retention clock (for tests); CRLs are always signed at the real time.
    """
    now = now or utcnow()
    expired = _expire(now)
    reminded = _remind(now)
    crls = []
    for issuer in keys.CRL_ISSUERS:
        if keys.crl_is_stale(keys.latest_crl(issuer)):
            keys.publish_crl(issuer)
            crls.append(issuer)
    return SweepResult(expired=expired, reminded=reminded, crls=tuple(crls), documents=retention.sweep(now))
