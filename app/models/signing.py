"""Signed documents, sequential signing workflows and their signers, and authenticator devices."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..lifecycle import WorkflowStatus
from .types import UtcDateTime, utcnow


def public_id() -> str:
    """Return a random identifier for URLs (``/verify/<id>``)."""
    return uuid.uuid4().hex


class AuthenticatorDevice(db.Model):
    """A TOTP authenticator of an account; the secret is stored sealed, never in plaintext."""

    __tablename__ = "authenticator_devices"
    __table_args__ = (UniqueConstraint("account_id", "name", name="uq_authenticator_devices_account_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_step: Mapped[int] = mapped_column(Integer, default=0)  # newest accepted TOTP time step: no replay
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SignedDocument(db.Model):
    """One signature Paraf made: the record behind a stamp's QR code (``/verify/<public_id>``)."""

    __tablename__ = "signed_documents"
    __table_args__ = (Index("ix_signed_documents_account_created", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=public_id)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    workflow_id: Mapped[int | None] = mapped_column(ForeignKey("workflows.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str] = mapped_column(String(64))
    signed_sha256: Mapped[str] = mapped_column(String(64), index=True)
    stored_path: Mapped[str] = mapped_column(String(255))
    pades_level: Mapped[str] = mapped_column(String(8))
    visible: Mapped[bool] = mapped_column(default=False)
    page: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    acting_as: Mapped[str] = mapped_column(String(200), default="")
    via: Mapped[str] = mapped_column(String(16), default="portal")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # eSign v1: the API client that may download the file until ``kept_until`` (then the sweep deletes it)
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    kept_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class Workflow(db.Model):
    """A PDF that signers 1..n sign in order; the current file is the latest signed revision."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=public_id)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    current_path: Mapped[str] = mapped_column(String(255))
    status: Mapped[WorkflowStatus] = mapped_column(Enum(WorkflowStatus, native_enum=False, length=16), default=WorkflowStatus.ACTIVE)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    signers: Mapped[list[WorkflowSigner]] = relationship(order_by="WorkflowSigner.position", back_populates="workflow")


class WorkflowSigner(db.Model):
    """Signer k of a workflow, with the page and box of their stamp."""

    __tablename__ = "workflow_signers"
    __table_args__ = (UniqueConstraint("workflow_id", "position", name="uq_workflow_signers_workflow_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    position: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    field_name: Mapped[str] = mapped_column(String(60))
    page: Mapped[int] = mapped_column(Integer)
    box: Mapped[str] = mapped_column(String(80))  # "x1,y1,x2,y2" in PDF points
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("signed_documents.id"))

    workflow: Mapped[Workflow] = relationship(back_populates="signers")
