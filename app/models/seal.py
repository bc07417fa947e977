"""Agency electronic seals: the seal, its custodians and allowed API clients, activations, their codes, sealed documents."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..lifecycle import SealStatus
from .account import Account
from .agency import Agency
from .api_client import ApiClient
from .certificate import Certificate
from .signing import public_id
from .types import UtcDateTime, utcnow


def new_id_subscriber() -> str:
    """Return a random, opaque ``idSubscriber`` for a seal."""
    return "SEAL-" + secrets.token_hex(10).upper()


seal_custodians = Table(
    "seal_custodians",
    db.metadata,
    Column("seal_id", ForeignKey("seals.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", ForeignKey("accounts.id"), primary_key=True),
)

seal_clients = Table(
    "seal_clients",
    db.metadata,
    Column("seal_id", ForeignKey("seals.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True),
)


class Seal(db.Model):
    """An agency's electronic seal: an organisation certificate whose key opens only through an activation."""

    __tablename__ = "seals"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # a concurrent second status change fails, never doubles
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    id_subscriber: Mapped[str] = mapped_column(String(32), unique=True, default=new_id_subscriber)
    status: Mapped[SealStatus] = mapped_column(Enum(SealStatus, native_enum=False, length=16))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))  # the central RA operator
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    # The per-seal secret that opens the key blob, encrypted under a key only the HSM computes (see app.domain.seals)
    rest_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)  # wrong activation or sealing codes since the last lift
    code_tries_pending: Mapped[int] = mapped_column(Integer, default=0)  # codes being checked now, not yet judged
    code_pending_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # too many wrong codes: lifted by a custodian
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship()
    certificate: Mapped[Certificate | None] = relationship()
    requested_by: Mapped[Account] = relationship(foreign_keys=[requested_by_id])
    custodians: Mapped[list[Account]] = relationship(secondary=seal_custodians, order_by=Account.id)
    clients: Mapped[list[ApiClient]] = relationship(secondary=seal_clients, order_by=ApiClient.name)


class SealActivation(db.Model):
    """One activation of a seal for one API client: started by a custodian's code, it lasts ``SEAL_ACTIVATION_HOURS``."""

    __tablename__ = "seal_activations"
    __table_args__ = (Index("ix_seal_activations_seal_client", "seal_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))  # whose code started it
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # set when it starts
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(16))  # ended, replaced, locked, revoked

    seal: Mapped[Seal] = relationship()
    client: Mapped[ApiClient] = relationship()
    custodian: Mapped[Account | None] = relationship()


class SealCode(db.Model):
    """An activation code (a custodian's, or the client's after a refresh) or a sealing code: only a keyed hash is kept.

    ``wrapped_secret`` is the seal's secret encrypted under a key derived from the code in the HSM; it is wiped
    when the code is used up or its activation ends.
    """

    __tablename__ = "seal_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("seal_activations.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "activation" or "sealing"
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))  # the custodian it was sent to
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    wrapped_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    allowance: Mapped[int | None] = mapped_column(Integer)  # documents a sealing code covers
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    activation: Mapped[SealActivation] = relationship()


class SealedDocument(db.Model):
    """One document Paraf sealed: the record behind the seal stamp's QR code (``/verify/<public_id>``)."""

    __tablename__ = "sealed_documents"
    __table_args__ = (Index("ix_sealed_documents_seal_created", "seal_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=public_id)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    activation_id: Mapped[int] = mapped_column(ForeignKey("seal_activations.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"))
    custodian_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    filename: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str] = mapped_column(String(64))
    signed_sha256: Mapped[str] = mapped_column(String(64), index=True)
    stored_path: Mapped[str] = mapped_column(String(255))
    pades_level: Mapped[str] = mapped_column(String(8))
    visible: Mapped[bool] = mapped_column(default=False)
    page: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    seal: Mapped[Seal] = relationship()
