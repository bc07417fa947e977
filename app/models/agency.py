"""Agencies (instansi): who may register whom, and whether matching ASN are verified automatically."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UtcDateTime, utcnow

DEFAULT_DISPOSITION_CHAIN = "Kepala Pusat, Kepala Bidang, Kepala Subbidang, Verifikator"


class Agency(db.Model):
    """A government agency using Paraf."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email_domain: Mapped[str] = mapped_column(String(120))
    auto_verify: Mapped[bool] = mapped_column(Boolean, default=False)
    # F16: registrations need a request letter that went through this disposition chain (comma-separated titles)
    requires_request_letter: Mapped[bool] = mapped_column(Boolean, default=False)
    disposition_chain: Mapped[str] = mapped_column(Text, default=DEFAULT_DISPOSITION_CHAIN)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
