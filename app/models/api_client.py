"""Integration API clients: applications that call ``/api/v2`` with HTTP Basic, scoped to agencies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .agency import Agency
from .types import UtcDateTime, utcnow

api_client_agencies = Table(
    "api_client_agencies",
    db.metadata,
    Column("client_id", ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True),
    Column("agency_id", ForeignKey("agencies.id"), primary_key=True),
)


class ApiClient(db.Model):
    """An integrated application: its Basic username (``client_id``), the SHA-256 of its secret, its agencies."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    agencies: Mapped[list[Agency]] = relationship(secondary=api_client_agencies, order_by=Agency.code)

    @property
    def enabled(self) -> bool:
        """Return whether the client may still call the API."""
        return self.disabled_at is None

    @property
    def agency_ids(self) -> set[int]:
        """Return the ids of the agencies the client is scoped to."""
        return {agency.id for agency in self.agencies}
