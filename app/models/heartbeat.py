"""Heartbeats of the background loops (outbox worker, certificate sweep): one row per loop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UtcDateTime


class LoopHeartbeat(db.Model):
    """When a loop last finished a pass, where it runs, and how often it means to."""

    __tablename__ = "loop_heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    interval_seconds: Mapped[float] = mapped_column(Float)
    beat_at: Mapped[datetime] = mapped_column(UtcDateTime())
