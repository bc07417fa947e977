"""What happens to a certificate after issuance: expiry reminders sent, and subscribers' renewal requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UtcDateTime, utcnow


class ExpiryReminder(db.Model):
    """A reminder sent ``days_before`` a certificate expires; the unique pair makes each one go out once."""

    __tablename__ = "expiry_reminders"
    __table_args__ = (UniqueConstraint("certificate_id", "days_before", name="uq_expiry_reminders_certificate_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    days_before: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RenewalRequest(db.Model):
    """A subscriber whose certificate expired or was revoked asks the verifier for a new set-passphrase link."""

    __tablename__ = "renewal_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when the verifier sent the link
