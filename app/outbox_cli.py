"""``flask outbox work [--loop]``: deliver the outbox once, or until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from .extensions import db
from .platform import notifications

outbox_cli = AppGroup("outbox", help="The e-mail and WhatsApp outbox.")
log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM/SIGINT while inside the block (main thread only), then restore the handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(signum, frame):
        log.info("%s received, stopping after this pass", signal.Signals(signum).name)
        stop.set()

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_once(limit: int) -> notifications.WorkResult:
    """Deliver one batch; on an unexpected error roll back, log, and report nothing done."""
    try:
        return notifications.work(limit=limit)
    except Exception:  # a broken batch must not end the worker; the next pass retries
        db.session.rollback()
        log.exception("outbox worker: pass failed")
        return notifications.WorkResult()


def loop(interval: float, limit: int, stop: threading.Event) -> None:
    """Deliver batches until ``stop`` is set, waiting ``interval`` seconds when a pass found nothing to do."""
    while not stop.is_set():
        result = run_once(limit)
        if result.sent or result.retried or result.failed:
            log.info("outbox: sent %d, retried %d, failed %d", result.sent, result.retried, result.failed)
        busy = result.sent + result.retried + result.failed >= limit
        if not busy:
            stop.wait(interval)


@outbox_cli.command("work")
@click.option("--loop", "forever", is_flag=True, help="Keep working until SIGTERM or SIGINT.")
@click.option(
    "--interval", default=5.0, show_default=True, type=click.FloatRange(min=0.05), help="Seconds between passes."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="Messages per batch.")
def outbox_work(forever: bool, interval: float, limit: int) -> None:
    """Send due e-mail and WhatsApp messages (counts only are printed, never message bodies)."""
    if not forever:
        result = notifications.work(limit=limit)
        click.echo(f"outbox: sent {result.sent}, retried {result.retried}, failed {result.failed}")
        return
    stop = threading.Event()
    click.echo(f"outbox worker started (every {interval:g} s); stop with SIGTERM or Ctrl-C")
    with stop_on_signals(stop):
        loop(interval, limit, stop)
    click.echo("outbox worker stopped")
