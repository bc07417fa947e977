"""``flask outbox work [--loop]``: deliver the outbox once, or until SIGTERM/SIGINT; ``list`` and ``retry`` for operators."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .lifecycle import OutboxStatus
from .models.outbox import OutboxMessage
from .models.types import utcnow
from .platform import heartbeats, notifications

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
    """Deliver batches until ``stop`` is set, waiting ``interval`` seconds when a pass found nothing to do; beat after each."""
    while not stop.is_set():
        result = run_once(limit)
        heartbeats.beat(heartbeats.OUTBOX, interval)
        if result.sent or result.retried or result.failed:
            log.info("outbox: sent %d, retried %d, failed %d", result.sent, result.retried, result.failed)
        busy = result.sent + result.retried + result.failed >= limit
        if not busy:
            stop.wait(interval)
    heartbeats.stopped(heartbeats.OUTBOX)


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


REQUEUE_LINES = {
    "requeued": "message {id}: requeued",
    "links_expired": "message {id}: not requeued, its links have expired (ask for a new link instead)",
    "not_failed": "message {id}: not requeued, no failed message has this id",
}


@outbox_cli.command("list")
@click.option("--failed", is_flag=True, help="Show the messages given up on instead of those waiting.")
def outbox_list(failed: bool) -> None:
    """List waiting (or failed) messages: id, channel, recipient, tries, links expiry, last error; never body or links."""
    statuses = (OutboxStatus.FAILED,) if failed else (OutboxStatus.PENDING, OutboxStatus.SENDING)
    rows = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.status.in_(statuses)).order_by(OutboxMessage.id)
    ).scalars().all()
    now = utcnow()
    for row in rows:
        if notifications.links_lost(row, now):
            links = "links expired"
        elif row.links_expire_at is not None:
            links = f"links until {row.links_expire_at:%Y-%m-%d %H:%M}Z"
        else:
            links = "links kept" if row.sealed_links else "no links"
        error = (row.last_error or "").replace("\n", " ")[:80]
        click.echo(f"{row.id}\t{row.status}\t{row.channel}\t{row.recipient}\ttries {row.attempts}\t{links}\t{error}")
    click.echo(f"{len(rows)} message(s)")


@outbox_cli.command("retry")
@click.option("--id", "ids", multiple=True, type=int, help="A failed message to requeue (repeatable).")
@click.option("--all-failed", is_flag=True, help="Requeue every failed message whose links have not expired.")
def outbox_retry(ids: tuple[int, ...], all_failed: bool) -> None:
    """Put failed messages back in the queue with their tries reset (exit 1 if one could not be requeued)."""
    if bool(ids) == all_failed:
        raise click.UsageError("give --id N (one or more) or --all-failed")
    outcomes = notifications.requeue(list(ids) if ids else None)
    db.session.commit()
    for outcome in outcomes:
        click.echo(REQUEUE_LINES[outcome.outcome].format(id=outcome.id))
    requeued = sum(outcome.outcome == "requeued" for outcome in outcomes)
    click.echo(f"{requeued} message(s) requeued")
    if requeued < len(outcomes):
        raise SystemExit(1)
