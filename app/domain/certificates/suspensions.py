"""Compromised accounts (F15): suspension by the central RA, the verifier's reactivation request, RA approval, authenticator reset.

Following BSrE's 2025 notice (part F): the RA suspends (``SUSPENDED``: every session ends, sign-in
and signing are refused); the agency's verifier uploads the authenticator-reset form, the
antivirus full-scan proof and the proof of the changed e-mail password and legalises them; the
RA approves (``VERIFIED`` again, every authenticator removed, the portal password must be changed
at the next sign-in) or sends the request back; the subscriber sets up a new authenticator from a
single-use "authenticator-reset" link. Functions add/flush in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from ... import lifecycle
from ...extensions import db
from ...models import Account, ChangeState, ReactivationDocument, Role, Suspension
from ...models.suspension import EVIDENCE_KINDS
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor, record
from ...urls import public_url
from ..accounts import authenticators, evidence, login, tokens
from ..errors import Conflict
from . import data_changes, sla

AUTHENTICATOR_RESET = "authenticator-reset"
AUTHENTICATOR_RESET_TTL = timedelta(hours=24)
EVIDENCE_AREA = "evidence"
REASON_MAX = 1000
KIND_LABELS = {
    "authenticator_form": lazy_gettext("Formulir reset autentikator"),
    "antivirus_scan": lazy_gettext("Bukti pindai antivirus (full scan)"),
    "email_password": lazy_gettext("Bukti penggantian kata sandi e-mail dinas"),
}


class SuspensionError(Conflict):
    """A suspension step is refused; the text says why and what to do."""


def _reason(text: str, what: str) -> str:
    """Return a cleaned, required reason of at most ``REASON_MAX`` characters."""
    text = " ".join((text or "").split())
    if not text:
        raise SuspensionError(gettext("Tuliskan alasan %(what)s.", what=what))
    if len(text) > REASON_MAX:
        raise SuspensionError(gettext("Alasan paling panjang %(max)d karakter.", max=REASON_MAX))
    return text


def latest(account: Account) -> Suspension | None:
    """Return the account's most recent suspension."""
    return db.session.execute(
        select(Suspension).where(Suspension.account_id == account.id).order_by(Suspension.id.desc()).limit(1)
    ).scalar_one_or_none()


def current(account: Account) -> Suspension | None:
    """Return the suspension not yet lifted, or None."""
    row = latest(account)
    return row if row is not None and row.reactivated_at is None else None


def awaiting_authenticator_reset(account: Account) -> bool:
    """Return whether a reactivated account must set up its authenticator from the reset link (not at sign-in)."""
    row = latest(account)
    return row is not None and row.reactivated_at is not None and row.authenticator_reset_at is None


def missing_documents(suspension: Suspension) -> list[str]:
    """Return the labels of the documents not uploaded yet."""
    have = {document.kind for document in suspension.documents}
    return [str(KIND_LABELS[kind]) for kind in EVIDENCE_KINDS if kind not in have]


def stage(suspension: Suspension) -> str:
    """Say where a suspension stands, in words."""
    if suspension.authenticator_reset_at:
        return gettext("selesai: autentikator baru terpasang")
    if suspension.reactivated_at:
        return gettext("diaktifkan ulang; menunggu reset autentikator oleh pemilik")
    if suspension.legalised_at:
        return gettext("menunggu keputusan RA")
    if suspension.returned_at:
        return gettext("dikembalikan ke verifikator")
    return gettext("menunggu dokumen dari verifikator")


def working_since(moment: datetime | None, now: datetime | None = None) -> timedelta | None:
    """Return the office time since ``moment`` (the SLA clock of the RA's pages)."""
    if moment is None:
        return None
    return sla.calendar().working_time(moment, now or utcnow())


def _verifiers(account: Account) -> list[Account]:
    return list(db.session.execute(
        select(Account).where(Account.role == Role.VERIFIER, Account.agency_id == account.agency_id).order_by(Account.id)
    ).scalars()) if account.agency_id else []


def _tell_verifiers(account: Account, message: str, **context) -> None:
    context = {"name": account.name, "email": account.email, **context}
    for verifier in _verifiers(account):
        notifications.email_message(verifier.email, message, context, account_id=account.id)


def suspend(account: Account, reason: str, actor: Actor) -> Suspension:
    """Suspend a compromised account: ``SUSPENDED``, every session ended, subscriber and verifiers told.

    :raises SuspensionError: no reason, or not a subscriber.
    :raises lifecycle.Forbidden: the account's status cannot be suspended.
    """
    if account.role != Role.SUBSCRIBER:
        raise SuspensionError(gettext("Hanya akun pemilik sertifikat yang dapat ditangguhkan."))
    reason = _reason(reason, gettext("penangguhan"))
    lifecycle.apply(account, "account", "suspend", actor, reason)
    login.end_sessions(account)
    row = Suspension(account_id=account.id, agency_id=account.agency_id, reason=reason, suspended_by=actor.name,
                     suspended_at=utcnow())
    db.session.add(row)
    db.session.flush()
    notifications.email_message(account.email, "account_suspended", {"name": account.name, "reason": reason},
                                account_id=account.id)
    _tell_verifiers(account, "account_suspended_verifier", reason=reason)
    return row


def _open_for_documents(suspension: Suspension) -> None:
    if suspension.reactivated_at is not None:
        raise SuspensionError(gettext("Akun ini sudah diaktifkan ulang."))
    if suspension.legalised_at is not None:
        raise SuspensionError(gettext("Dokumen sudah dilegalisasi dan menunggu keputusan RA; tidak dapat diubah lagi."))


def save_document(suspension: Suspension, kind: str, filename: str, data: bytes, actor: Actor) -> ReactivationDocument:
    """Check and keep one reactivation document (replacing an earlier one of the same kind).

    :raises SuspensionError: wrong kind, already legalised, or the file is refused (nothing is stored then).
    """
    _open_for_documents(suspension)
    if kind not in EVIDENCE_KINDS:
        raise SuspensionError(gettext("Pilih jenis dokumen yang diunggah."))
    filename = (filename or "berkas").replace("/", "_").replace("\\", "_")[-200:]
    try:
        checked = evidence.check(filename, data)
    except evidence.EvidenceRefused as exc:
        raise SuspensionError(str(exc)) from exc
    old = next((document for document in suspension.documents if document.kind == kind), None)
    if old is not None:
        evidence.remove(EVIDENCE_AREA, suspension.account_id, old.stored_name)
        suspension.documents.remove(old)
        db.session.flush()
    document = ReactivationDocument(
        kind=kind, filename=filename, stored_name=evidence.store(EVIDENCE_AREA, suspension.account_id, checked, data),
        content_type=checked.content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor.name, uploaded_at=utcnow(),
    )
    suspension.documents.append(document)
    db.session.flush()
    record(actor, "account.reactivation_document", "account", suspension.account_id,
           details={"kind": kind, "sha256": document.sha256, "size": document.size})
    return document


def legalise(suspension: Suspension, confirmed: bool, actor: Actor) -> None:
    """Record the verifier's legalisation of the three documents: the request goes to the RA.

    :raises SuspensionError: not confirmed, a document missing, or already legalised.
    """
    _open_for_documents(suspension)
    missing = missing_documents(suspension)
    if missing:
        raise SuspensionError(gettext("Unggah dulu: %(missing)s.", missing=", ".join(missing)))
    if not confirmed:
        raise SuspensionError(gettext("Centang pernyataan bahwa dokumen sudah Anda periksa dan legalisasi."))
    suspension.legalised_by, suspension.legalised_at = actor.name, utcnow()
    db.session.flush()
    record(actor, "account.reactivation_requested", "account", suspension.account_id, details={"suspension": suspension.id})


def send_back(suspension: Suspension, reason: str, actor: Actor) -> None:
    """Return a request to the verifier with a reason; the documents must be legalised again.

    :raises SuspensionError: nothing to decide, or no reason.
    """
    if suspension.legalised_at is None or suspension.reactivated_at is not None:
        raise SuspensionError(gettext("Tidak ada permintaan aktivasi ulang yang menunggu keputusan."))
    reason = _reason(reason, gettext("pengembalian"))
    suspension.legalised_at = suspension.legalised_by = None
    suspension.returned_at, suspension.return_reason = utcnow(), reason
    db.session.flush()
    record(actor, "account.reactivation_returned", "account", suspension.account_id, reason)
    account = db.session.get(Account, suspension.account_id)
    _tell_verifiers(account, "reactivation_returned", reason=reason)


def send_reset_link(account: Account, actor: Actor) -> None:
    """Send the single-use authenticator-reset link to the subscriber (an earlier one stops working)."""
    raw = tokens.issue(account.id, AUTHENTICATOR_RESET, AUTHENTICATOR_RESET_TTL)
    hours = int(AUTHENTICATOR_RESET_TTL.total_seconds() // 3600)
    notifications.email_message(account.email, "authenticator_reset", {"name": account.name, "hours": hours},
                                {"reset": public_url("auth.reset_authenticator", token=raw)}, account.id)
    record(actor, "account.authenticator_reset_sent", "account", account.id)


def reactivate(suspension: Suspension, actor: Actor) -> Account:
    """Approve a legalised request: ``VERIFIED`` (``UPDATE`` again while a data change awaits confirmation), authenticators removed, sessions ended, password to be changed, reset link sent.

    :raises SuspensionError: the documents are not legalised yet, or it was already decided.
    :raises lifecycle.Forbidden: the account is not ``SUSPENDED``.
    """
    if suspension.reactivated_at is not None:
        raise SuspensionError(gettext("Akun ini sudah diaktifkan ulang."))
    if suspension.legalised_at is None:
        raise SuspensionError(gettext("Dokumen belum dilegalisasi verifikator; aktivasi ulang belum dapat disetujui."))
    account = db.session.get(Account, suspension.account_id)
    lifecycle.apply(account, "account", "reactivate", actor, details={"suspension": suspension.id})
    pending = data_changes.open_request(account)
    if pending is not None and pending.state == ChangeState.PENDING_SUBSCRIBER:  # suspended while in UPDATE
        lifecycle.apply(account, "account", "request_update", actor, reason="pending_data_change",
                        details={"data_change": pending.id})
    removed = authenticators.reset(account)
    login.end_sessions(account)
    account.must_change_password = True
    suspension.reactivated_at, suspension.decided_by = utcnow(), actor.name
    db.session.flush()
    record(actor, "auth.authenticators_reset", "account", account.id, details={"devices_removed": removed})
    send_reset_link(account, actor)
    _tell_verifiers(account, "account_reactivated")
    return account


def reset_account(raw: str) -> Account:
    """Return the account of a live authenticator-reset link that still waits for its reset.

    :raises tokens.TokenError: the link is unknown, used, replaced, expired, or nothing waits for it.
    """
    account = db.session.get(Account, tokens.verify(raw, AUTHENTICATOR_RESET).account_id)
    if account is None or not awaiting_authenticator_reset(account):
        raise tokens.TokenInvalid(gettext("Tautan tidak valid atau sudah digunakan. Hubungi verifikator instansi Anda."))
    return account


def finish_reset(raw: str, account: Account, actor: Actor) -> None:
    """Use the reset link once, after the new authenticator was confirmed."""
    tokens.consume(raw, AUTHENTICATOR_RESET)
    latest(account).authenticator_reset_at = utcnow()
    db.session.flush()
    record(actor, "account.authenticator_reset", "account", account.id)


def evidence_path(document: ReactivationDocument):
    """Return where a reactivation document is stored, or None when the file is gone."""
    return evidence.path_of(EVIDENCE_AREA, document.suspension.account_id, document.stored_name)
