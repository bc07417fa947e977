"""``/healthz``: the database, the HSM (a session and a key lookup), the outbox backlog and the loops' heartbeats."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from ..domain import keys
from ..domain.key_errors import KeyServiceUnavailable
from ..extensions import db
from ..lifecycle import OutboxStatus
from ..models.outbox import OutboxMessage
from ..models.types import utcnow
from ..platform import heartbeats

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _outbox(config, now) -> dict:
    """Return the outbox part: unsent messages, the oldest one's age, ``error`` when it is too old."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
    ).one()
    age = None if oldest is None else max(int((now - oldest).total_seconds()), 0)
    too_old = age is not None and age > int(config["HEALTH_OUTBOX_MAX_AGE_MINUTES"]) * 60
    return {"outbox": "error" if too_old else "ok", "outbox_pending": count, "outbox_oldest_seconds": age}


def _loops(config, now) -> dict:
    """Return each loop's part: ``ok``, ``error`` (heartbeat too old) or ``absent`` (not started, or stopped on purpose)."""
    beats = heartbeats.all_beats()
    parts = {}
    for name in heartbeats.LOOPS:
        row = beats.get(name)
        if row is None:
            parts[f"loop_{name}"], parts[f"loop_{name}_age_seconds"] = "absent", None
            continue
        age = now - row.beat_at
        limit = max(row.interval_seconds * float(config["HEALTH_LOOP_INTERVALS"]),
                    float(config["HEALTH_LOOP_MIN_SECONDS"]))
        parts[f"loop_{name}"] = "error" if age > timedelta(seconds=limit) else "ok"
        parts[f"loop_{name}_age_seconds"] = max(int(age.total_seconds()), 0)
    return parts


@bp.get("/healthz")
def healthz():
    """Return 200 when every part is ``ok`` (a loop may be ``absent``), else 503 listing the failing parts."""
    config, now = current_app.config, utcnow()
    parts: dict = {}
    try:
        db.session.execute(text("SELECT 1"))
        parts["db"] = "ok"
    except Exception:  # any driver error means "down"; details go to the log only
        log.exception("health check: database")
        parts["db"] = "error"
    try:
        keys.ping()
        parts["hsm"] = "ok"
    except KeyServiceUnavailable:
        log.exception("health check: HSM")
        parts["hsm"] = "error"
    if parts["db"] == "ok":
        try:
            parts.update(_outbox(config, now))
            parts.update(_loops(config, now))
        except Exception:  # the tables cannot be read: the database part is what fails (web.py rolls back)
            log.exception("health check: outbox and loops")
            parts["db"] = "error"
    failing = [name for name, value in parts.items() if value == "error"]
    if failing:
        log.warning("health check failing: %s", ", ".join(failing))
    return jsonify(status="error" if failing else "ok", failing=failing, **parts), 503 if failing else 200
