"""Heartbeats of the background loops: each pass of a loop records when it ran, in which process, and how often.

``beat()`` and ``stopped()`` are units of work of their own (called by the loops, never inside a request).
A loop that stops on purpose removes its row, so only one that died or hangs leaves a heartbeat growing old.
``/healthz`` reads them back with ``all_beats()``.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models.heartbeat import LoopHeartbeat
from ..models.types import utcnow

log = logging.getLogger(__name__)

OUTBOX = "outbox"
SWEEP = "certificate_sweep"
LOOPS = (OUTBOX, SWEEP)


def beat(name: str, interval: float) -> None:
    """Record a pass of loop ``name`` (one row per loop) and commit; a database error is logged, not raised."""
    values = {"pid": os.getpid(), "host": socket.gethostname()[:255], "interval_seconds": float(interval),
              "beat_at": utcnow()}
    try:
        if db.session.execute(update(LoopHeartbeat).where(LoopHeartbeat.name == name).values(values)).rowcount == 0:
            db.session.add(LoopHeartbeat(name=name, **values))
        db.session.commit()
    except IntegrityError:  # another process wrote the first row at the same moment: its beat counts
        db.session.rollback()
    except Exception:  # the loop goes on; /healthz sees the beat age grow
        db.session.rollback()
        log.exception("heartbeat of loop %s not recorded", name)


def stopped(name: str) -> None:
    """Remove the heartbeat of loop ``name``, which stops on purpose, and commit."""
    try:
        db.session.execute(delete(LoopHeartbeat).where(LoopHeartbeat.name == name))
        db.session.commit()
    except Exception:  # /healthz will report the loop as not beating: true enough for a loop that stopped
        db.session.rollback()
        log.exception("heartbeat of loop %s not removed", name)


def all_beats() -> dict[str, LoopHeartbeat]:
    """Return the heartbeat row of each loop that has ever beaten, by name."""
    return {row.name: row for row in db.session.execute(select(LoopHeartbeat)).scalars()}
