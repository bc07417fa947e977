"""Registration request letters (F16) and the steps of their disposition chain (Kemhan SOP)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UtcDateTime, utcnow


class RequestLetter(db.Model):
    """A "Surat Permohonan Pendaftaran Akun TTE" received by an agency; kept for good once recorded."""

    __tablename__ = "request_letters"
    __table_args__ = (Index("ix_request_letters_agency_id", "agency_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    number: Mapped[str] = mapped_column(String(100))
    letter_date: Mapped[date] = mapped_column(Date)
    sender_unit: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    persons: Mapped[str] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(String(255))
    stored_name: Mapped[str | None] = mapped_column(String(128))
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    steps: Mapped[list[DispositionStep]] = relationship(
        back_populates="letter", order_by="DispositionStep.position", cascade="all, delete-orphan"
    )


class DispositionStep(db.Model):
    """One step of a letter's disposition chain: who holds it, since when, and who passed it on."""

    __tablename__ = "disposition_steps"
    __table_args__ = (UniqueConstraint("letter_id", "position", name="uq_disposition_steps_letter_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("request_letters.id"))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acted_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)

    letter: Mapped[RequestLetter] = relationship(back_populates="steps")
