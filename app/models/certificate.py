"""Certificates issued by the issuing CA, and the CRLs published for both CAs."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..lifecycle import CertificateStatus
from .types import UtcDateTime, utcnow


class CertificateKind(enum.StrEnum):
    """What a certificate is for."""

    SUBSCRIBER = "subscriber"
    OCSP = "ocsp"
    TSA = "tsa"
    SEAL = "seal"  # an agency's electronic seal (organisation certificate)


class Certificate(db.Model):
    """A certificate of the issuing CA; a subscriber's carries the sealed key blob."""

    __tablename__ = "certificates"
    __table_args__ = (Index("ix_certificates_status_not_after", "status", "not_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # a concurrent second status change fails, never doubles
    serial: Mapped[str | None] = mapped_column(String(40), unique=True)  # None while NEW
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[CertificateKind] = mapped_column(Enum(CertificateKind, native_enum=False, length=16))
    status: Mapped[CertificateStatus] = mapped_column(Enum(CertificateStatus, native_enum=False, length=16))
    subject: Mapped[str] = mapped_column(String(512))
    agreement_version: Mapped[str | None] = mapped_column(String(32))
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime | None] = mapped_column(UtcDateTime())
    der: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    @property
    def serial_int(self) -> int:
        """Return the serial number as an integer."""
        return int(self.serial, 16)


class Crl(db.Model):
    """One signed CRL of a CA (``root`` or ``issuing``); the highest number is current."""

    __tablename__ = "crls"
    __table_args__ = (UniqueConstraint("issuer", "number", name="uq_crls_issuer_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[datetime] = mapped_column(UtcDateTime())
    next_update: Mapped[datetime] = mapped_column(UtcDateTime())
    der: Mapped[bytes] = mapped_column(LargeBinary)
