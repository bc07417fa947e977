"""The verifier's decisions (F3): approve, which starts issuance (F4), or reject with a reason."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import gettext

from .. import lifecycle
from ..extensions import db
from ..lifecycle import AccountStatus, CertificateStatus
from ..models import Account, Certificate, CertificateKind
from ..urls import public_url
from . import notifications, tokens
from .audit import Actor, record
from .enrolment import EnrolmentError
from .passwords import hash_password, one_time_password

log = logging.getLogger(__name__)

SET_PASSPHRASE = "set_passphrase"
SET_PASSPHRASE_TTL = timedelta(hours=24)


def pending_request(account: Account) -> Certificate | None:
    """Return the account's certificate request waiting for a passphrase (status ``NEW``), if any."""
    return db.session.query(Certificate).filter_by(account_id=account.id, status=CertificateStatus.NEW).one_or_none()


def send_set_passphrase(account: Account, actor: Actor) -> None:
    """Send the set-passphrase link by e-mail and WhatsApp; an earlier link stops working."""
    if pending_request(account) is None:
        raise EnrolmentError(gettext("Tidak ada permintaan sertifikat yang menunggu passphrase untuk akun ini."))
    raw = tokens.issue(account.id, SET_PASSPHRASE, SET_PASSPHRASE_TTL)
    link = public_url("enrolment.issue_start", token=raw)
    body = (
        f"Yth. {account.name},\n\nData Anda sudah diverifikasi. Buka tautan berikut dalam 24 jam untuk membuat "
        "passphrase dan menerbitkan sertifikat elektronik Anda:\n\n{set_passphrase}\n"
    )
    notifications.queue_email(account.email, "Penerbitan sertifikat elektronik Paraf", body, {"set_passphrase": link}, account.id)
    if account.profile and account.profile.phone_verified_at:
        notifications.queue_whatsapp(account.profile.phone, body, {"set_passphrase": link}, account.id)
    record(actor, "certificate.set_passphrase_link_sent", "account", account.id)


def _give_portal_account(account: Account) -> str | None:
    """Give the subscriber a portal username and one-time password; return the password to send directly."""
    if account.username:
        return None
    account.username = account.email.split("@", 1)[0][:48] + f".{account.id}"
    password = one_time_password()
    account.password_hash = hash_password(password)
    account.must_change_password = True  # replaced after the first sign-in, before anything else
    return password


def approve(account: Account, actor: Actor, automatic: bool = False) -> str | None:
    """Approve the data: ``VERIFIED``, a certificate request ``NEW``, the set-passphrase link queued.

    Returns the portal one-time password for the caller to send directly after the commit (never stored).
    """
    lifecycle.apply(account, "account", "auto_verify" if automatic else "approve", actor)
    request = Certificate(kind=CertificateKind.SUBSCRIBER, account_id=account.id, subject=account.name)
    db.session.add(request)
    lifecycle.apply(request, "certificate", "request", actor)
    send_set_passphrase(account, actor)
    return _give_portal_account(account)


def send_account_message(account: Account, password: str | None) -> bool:
    """Tell the subscriber their portal username and one-time password, directly (never through the outbox).

    Called after the commit, so a mail server that is down must not fail the request: returns False then.
    """
    if password is None:
        return True
    try:
        notifications.send_email_now(
            account.email,
            "Akun portal Paraf",
            f"Nama pengguna portal: {account.username}\nKata sandi sekali pakai: {password}\n"
            "Ganti kata sandi dan pasang aplikasi autentikator saat pertama kali masuk.",
        )
    except notifications.NotificationError:
        log.warning("the portal account e-mail of account %d could not be sent", account.id)
        return False
    return True


def reject(account: Account, reason: str, actor: Actor) -> None:
    """Reject the data with a reason the subscriber will read; they can correct it and send again."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise EnrolmentError(
            gettext("Tulis alasan penolakan (minimal 5 karakter) agar pemohon tahu apa yang harus diperbaiki."), "reason"
        )
    lifecycle.apply(account, "account", "reject", actor, reason=reason)
    account.rejection_reason = reason
    from .enrolment import resend_activation

    resend_activation(account, actor)


def can_decide(account: Account) -> bool:
    """Return whether the account waits for a verifier's decision."""
    return account.status == AccountStatus.ACTIVATED
