"""Local copies of the population (Dukcapil) and civil-service (BKN) registries."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class PopulationRecord(db.Model):
    """A person in the population registry; the photo is a file under the instance folder, if any."""

    __tablename__ = "registry_population"

    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    photo_path: Mapped[str | None] = mapped_column(String(255))


class AsnRecord(db.Model):
    """A civil servant in the civil-service registry."""

    __tablename__ = "registry_asn"

    nip: Mapped[str] = mapped_column(String(18), primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(100))
