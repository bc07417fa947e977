"""Suspensions of compromised accounts (F15) and the documents a verifier uploads to have one lifted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UtcDateTime, utcnow

# The three documents BSrE asks for before it reactivates an account (2025 notice, part F).
EVIDENCE_KINDS = ("authenticator_form", "antivirus_scan", "email_password")


class Suspension(db.Model):
    """One suspension of an account, from the RA's decision to the reset of the authenticator.

    Its stage follows from its timestamps: waiting for documents, requested (legalised by the
    verifier), reactivated, authenticator reset. A request sent back clears the legalisation.
    """

    __tablename__ = "suspensions"
    __table_args__ = (Index("ix_suspensions_account_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    suspended_by: Mapped[str] = mapped_column(String(128))
    suspended_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    legalised_by: Mapped[str | None] = mapped_column(String(128))
    legalised_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # = the reactivation request
    returned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    return_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    reactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    authenticator_reset_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    documents: Mapped[list[ReactivationDocument]] = relationship(
        back_populates="suspension", order_by="ReactivationDocument.id", cascade="all, delete-orphan"
    )


class ReactivationDocument(db.Model):
    """One uploaded document of a reactivation request, stored under ``instance/evidence/`` by a random name."""

    __tablename__ = "reactivation_documents"
    __table_args__ = (UniqueConstraint("suspension_id", "kind", name="uq_reactivation_documents_suspension_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suspension_id: Mapped[int] = mapped_column(ForeignKey("suspensions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    suspension: Mapped[Suspension] = relationship(back_populates="documents")
