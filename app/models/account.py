"""Accounts of every actor, and the subscriber's profile as the activation wizard fills it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Date, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..lifecycle import AccountStatus
from .agency import Agency
from .types import UtcDateTime, utcnow


class Role(enum.StrEnum):
    """What an account may do."""

    SUBSCRIBER = "subscriber"
    VERIFIER = "verifier"
    CENTRAL_RA = "central_ra"
    AGENCY_HEAD = "agency_head"
    ADMIN = "admin"


class Employment(enum.StrEnum):
    """Civil servant (ASN, has a NIP) or not (Non-ASN: NIP := NIK)."""

    ASN = "ASN"
    NON_ASN = "NON_ASN"


class Account(UserMixin, db.Model):
    """A person who logs in or is registered: subscriber, verifier, RA operator, agency head or admin."""

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_agency_status_id", "agency_id", "status", "id"),
        Index("ix_accounts_agency_id_id", "agency_id", "id"),  # the verifier queue: newest first, keyset pages
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # a concurrent second status change fails, never doubles
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    status: Mapped[AccountStatus | None] = mapped_column(Enum(AccountStatus, native_enum=False, length=16))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    session_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped to sign out every session
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    wrong_passphrases: Mapped[int] = mapped_column(Integer, default=0)  # in a row; reset by a good one
    signing_locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # lifted only by a passphrase reset
    passphrase_tries_pending: Mapped[int] = mapped_column(Integer, default=0)  # being checked now, not yet judged
    passphrase_pending_since: Mapped[datetime | None] = mapped_column(UtcDateTime())  # when the last try started
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    agency: Mapped[Agency | None] = relationship()
    profile: Mapped[SubscriberProfile | None] = relationship(back_populates="account", uselist=False)

    def get_id(self) -> str:
        """Return the session identifier, ``id:session_version``: bumping the version signs out every session."""
        return f"{self.id}:{self.session_version or 1}"


class SignInFailure(db.Model):
    """Wrong passwords or codes in a row for one account from one address, and until when that address is blocked."""

    __tablename__ = "sign_in_failures"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(45), primary_key=True)  # the client address (an IPv6 one fits)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SubscriberProfile(db.Model):
    """What a subscriber submitted in the activation wizard, with the registry and selfie checks."""

    __tablename__ = "subscriber_profiles"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    nip: Mapped[str | None] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    front_title: Mapped[str] = mapped_column(String(60), default="")
    back_title: Mapped[str] = mapped_column(String(60), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(1))
    registry_email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    employment: Mapped[Employment | None] = mapped_column(Enum(Employment, native_enum=False, length=8))
    unit: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    province: Mapped[str] = mapped_column(String(100), default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    population_match: Mapped[bool | None] = mapped_column(Boolean)
    asn_match: Mapped[bool | None] = mapped_column(Boolean)
    selfie_path: Mapped[str | None] = mapped_column(String(255))
    selfie_score: Mapped[float | None] = mapped_column(Float)
    consent_privacy_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_agreement_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    agreement_version: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    wizard_step: Mapped[int] = mapped_column(Integer, default=0)
    wizard_data: Mapped[dict] = mapped_column(JSON, default=dict)

    account: Mapped[Account] = relationship(back_populates="profile")
