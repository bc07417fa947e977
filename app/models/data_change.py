"""Data-change requests (F13) and migrations between agencies (F14), with the before/after diff kept for good."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..lifecycle import ChangeState
from .account import Account
from .agency import Agency
from .types import UtcDateTime, utcnow


class ChangeKind(enum.StrEnum):
    """A change of profile data within the agency, or a move to another agency."""

    UPDATE = "update"
    MIGRATION = "migration"


OPEN_STATES = (ChangeState.WAITING_AGENCY_HEAD, ChangeState.WAITING_RA, ChangeState.PENDING_SUBSCRIBER)


class DataChange(db.Model):
    """One request to change a subscriber's data: who asked, what changes (before/after), and each decision."""

    __tablename__ = "data_changes"
    __table_args__ = (
        Index("ix_data_changes_agency_state_id", "agency_id", "state", "id"),
        Index("ix_data_changes_kind_state_id", "kind", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # of two decisions taken at once on one ticket, the second fails
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # the subscriber's agency when asked
    target_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[ChangeKind] = mapped_column(Enum(ChangeKind, native_enum=False, length=16))
    state: Mapped[ChangeState] = mapped_column(Enum(ChangeState, native_enum=False, length=24))
    before: Mapped[dict] = mapped_column(JSON, default=dict)  # only the changed fields
    after: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    form_path: Mapped[str | None] = mapped_column(String(255))  # under the instance folder
    signed_document_id: Mapped[int | None] = mapped_column(ForeignKey("signed_documents.id"))
    signed_path: Mapped[str | None] = mapped_column(String(255))  # under the instance folder
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the ticket enters the RA's queue
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    target_agency: Mapped[Agency | None] = relationship(foreign_keys=[target_agency_id])
    signed_by: Mapped[Account | None] = relationship(foreign_keys=[signed_by_id])

    @property
    def is_open(self) -> bool:
        """Return whether the request still waits for someone."""
        return self.state in OPEN_STATES
