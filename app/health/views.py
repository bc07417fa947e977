"""``/healthz``: is the database reachable and does the HSM token answer?"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from ..domain import keys
from ..domain.key_errors import KeyServiceUnavailable
from ..extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """Return 200 with each part ``ok``, or 503 naming the part that fails."""
    parts = {}
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
    healthy = all(value == "ok" for value in parts.values())
    return jsonify(status="ok" if healthy else "error", **parts), 200 if healthy else 503
