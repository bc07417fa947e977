"""Append-only audit trail: each event carries the hash of the one before it, keyed by a secret in the HSM."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UtcDateTime

GENESIS = "0" * 64
PLAIN_SHA256 = 1
"""Hash scheme of events written before the HSM audit key existed: plain SHA-256, anyone can recompute it."""
HSM_HMAC = 2
"""Hash scheme of every new event: HMAC-SHA256 under a non-extractable key that only the HSM can apply."""


class AuditEvent(db.Model):
    """One transition or security event; ``hash`` chains it to the previous event as ``scheme`` says."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agency_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    scheme: Mapped[int] = mapped_column(Integer, default=HSM_HMAC, server_default=str(PLAIN_SHA256))


class AuditHead(db.Model):
    """The single row holding the chain's length and last hash; updating it serialises writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
