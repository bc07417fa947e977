"""The passes behind ``flask certificates sweep [--loop]``: one committed sweep, or one per interval until a signal."""

from __future__ import annotations

import logging
import threading

from .domain.certificates import after_issuance
from .extensions import db
from .outbox_cli import stop_on_signals
from .platform import heartbeats

log = logging.getLogger(__name__)


def sweep_once() -> after_issuance.SweepResult:
    """Run one sweep and commit it; on an error roll back, log it and report nothing done."""
    try:
        result = after_issuance.sweep()
        db.session.commit()
    except Exception:  # a failed pass must not end the loop; the next pass retries
        db.session.rollback()
        log.exception("certificate sweep: pass failed")
        return after_issuance.SweepResult()
    if result.expired or result.reminded or result.crls or result.documents:
        log.info("certificate sweep: expired %d, reminded %d, re-signed %s, deleted %d kept documents",
                 result.expired, result.reminded, result.crls, result.documents)
    return result


def sweep_loop(interval: float, stop: threading.Event | None = None) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (SIGTERM/SIGINT set it); beat after each sweep."""
    stop = stop or threading.Event()
    with stop_on_signals(stop):
        while not stop.is_set():
            sweep_once()
            heartbeats.beat(heartbeats.SWEEP, interval)
            stop.wait(interval)
    heartbeats.stopped(heartbeats.SWEEP)
