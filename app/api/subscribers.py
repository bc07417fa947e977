"""Finding a subscriber for an API client (inside its agencies only) and their status as the eSign API names it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..lifecycle import AccountStatus, CertificateStatus
from ..models import Account, Certificate, CertificateKind, Role, SubscriberProfile
from ..models.types import utcnow


@dataclass(frozen=True)
class Status:
    """One status the API reports: ``status_code``, messages, and the error that refuses signing (None for ISSUE)."""

    name: str
    code: int
    id: str
    en: str
    refusal: str | None


STATUSES = {status.name: status for status in (
    Status("ISSUE", 1111, "Sertifikat aktif.", "The certificate is active.", None),
    Status("NOT_REGISTERED", 2011, "Pengguna tidak terdaftar.", "The user is not registered.", "not_registered"),
    Status("WAITING_FOR_VERIFICATION", 2012, "Pendaftaran menunggu verifikasi.", "The registration awaits verification.",
           "not_verified"),
    Status("REJECTED", 2013, "Pendaftaran ditolak verifikator.", "The registration was rejected.", "not_verified"),
    Status("NO_CERTIFICATE", 2021, "Pengguna belum memiliki sertifikat.", "The user has no certificate.", "no_certificate"),
    Status("NEW", 2022, "Sertifikat sedang diproses.", "The certificate is being issued.", "certificate_new"),
    Status("EXPIRED", 2031, "Sertifikat sudah kedaluwarsa.", "The certificate has expired.", "certificate_expired"),
    Status("REVOKE", 2032, "Sertifikat sudah dicabut.", "The certificate is revoked.", "certificate_revoked"),
    Status("SUSPEND", 2033, "Akun ditangguhkan.", "The account is suspended.", "account_suspended"),
    Status("UPDATE", 2034, "Perubahan data menunggu konfirmasi pengguna.", "A data change awaits the user's confirmation.",
           "update_pending"),
)}


def find(agency_ids: set[int], nik: str | None = None, email: str | None = None) -> Account | None:
    """Return the subscriber with this NIK or e-mail if they belong to one of ``agency_ids``; None otherwise."""
    query = select(Account).where(Account.role == Role.SUBSCRIBER)
    if nik:
        query = query.join(SubscriberProfile).where(SubscriberProfile.nik == nik.strip())
    elif email:
        query = query.where(func.lower(Account.email) == email.strip().lower())
    else:
        return None
    account = db.session.execute(query).scalar_one_or_none()
    if account is None or account.agency_id not in agency_ids:
        return None  # outside the client's agencies: exactly like an unknown subscriber
    return account


def latest_certificate(account: Account) -> Certificate | None:
    """Return the account's newest subscriber certificate."""
    return db.session.execute(
        select(Certificate)
        .where(Certificate.account_id == account.id, Certificate.kind == CertificateKind.SUBSCRIBER)
        .order_by(Certificate.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def status_of(account: Account | None) -> Status:
    """Return the API status of a subscriber (None: not registered)."""
    if account is None:
        return STATUSES["NOT_REGISTERED"]
    by_account = {
        AccountStatus.SUSPENDED: "SUSPEND",
        AccountStatus.UPDATE: "UPDATE",
        AccountStatus.REJECTED: "REJECTED",
        AccountStatus.REGISTERED: "WAITING_FOR_VERIFICATION",
        AccountStatus.ACTIVATED: "WAITING_FOR_VERIFICATION",
        AccountStatus.NOT_REGISTERED: "NOT_REGISTERED",
        None: "NOT_REGISTERED",
    }
    if account.status in by_account:
        return STATUSES[by_account[account.status]]
    certificate = latest_certificate(account)
    if certificate is None:
        return STATUSES["NO_CERTIFICATE"]
    if certificate.status == CertificateStatus.ISSUE and certificate.not_after is not None and certificate.not_after <= utcnow():
        return STATUSES["EXPIRED"]
    return STATUSES[str(certificate.status)]
