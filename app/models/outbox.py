"""The durable outbox: messages written in the same transaction as the change that causes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Enum, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..lifecycle import OutboxStatus
from .types import UtcDateTime, utcnow


class OutboxMessage(db.Model):
    """One e-mail or WhatsApp message waiting to be sent, sent, or given up on.

    Links carrying a token live only in ``sealed_links`` (encrypted with a key
    derived from the app secret) and are wiped once the message is sent, or once
    ``links_expire_at`` passes on a message given up on (until then it can be retried).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    sealed_links: Mapped[bytes | None] = mapped_column(LargeBinary)
    links_expire_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # None: no link, or none that expires
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=16, values_callable=lambda kind: [s.value for s in kind]),
        default=OutboxStatus.PENDING,
    )  # stored by value ("pending"), as before the Enum: the column stays VARCHAR(16)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
