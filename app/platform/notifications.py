"""The durable outbox (F17): queue e-mail and WhatsApp messages in the caller's transaction, deliver them later.

``email_message``/``whatsapp_message`` render a message of ``templates/messages/`` (see
``messages``) and queue it; ``queue_email``/``queue_whatsapp`` queue a text as it is. Both add and
flush a row and never commit: the message exists only if the change that caused it is committed.
Links carrying raw tokens are kept sealed (``sealing``: AES-256-GCM, key from ``SECRET_KEY``
through HKDF), filled into the text's ``{name}`` placeholders only when the message is sent, and
wiped then; an e-mail's HTML part is rendered at that moment too, so no copy of a link is stored.
A message given up on (``failed``) keeps its sealed links until ``links_expire_at`` (the caller says
when its tokens expire), so ``requeue()`` (``flask outbox retry``) can still deliver it; a pass of the
worker wipes the links of failed messages once they have expired.

``work()`` is the exception to "the domain never commits": it is a unit of work of its own (the
``flask outbox work`` worker). It commits each claim before sending, so several processes can
work the same table and a worker that dies mid-send leaves a lease that expires, and it commits
each outcome. Never call it inside a request's transaction.

Secrets that must not be stored (OTP codes, one-time passwords) go through ``*_now``: sent at once, never queued.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select, update

from .. import lifecycle
from ..domain.errors import InputError
from ..extensions import db
from ..lifecycle import OutboxStatus
from ..models.outbox import OutboxMessage
from ..models.types import utcnow
from . import messages, sealing
from .audit import SYSTEM
from .mailer import SmtpTransport, TransportError, WhatsAppTransport

log = logging.getLogger(__name__)

EMAIL = "email"
WHATSAPP = "whatsapp"

LEASE = timedelta(minutes=10)  # a message "sending" for longer belongs to a worker that died
BACKOFF_BASE_SECONDS = 30
SEAL_INFO = b"paraf outbox sealed links v1"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
PHONE = re.compile(r"^\+?[0-9]{8,15}$")

_warned_no_gateway = False


class NotificationError(InputError):
    """A message could not be sent now; the text says what to do, in Bahasa Indonesia."""


@dataclass(frozen=True)
class WorkResult:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Requeued:
    """What ``requeue()`` did with one message: ``requeued``, ``links_expired`` or ``not_failed``."""

    id: int
    outcome: str


def whatsapp_number(phone: str) -> str:
    """Return an Indonesian phone number as ``+62…`` (accepts ``08…``, ``62…``, ``+62…``, spaces and dashes)."""
    digits = re.sub(r"[\s\-().]", "", phone or "")
    if digits.startswith("0"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    if not PHONE.match(digits):
        raise NotificationError(gettext("Nomor HP tidak valid. Tulis nomor seperti 081234567890."))
    return digits if digits.startswith("+") else "+" + digits


def _aad(message_id: int) -> bytes:
    """Bind a sealed blob to its row, so it cannot be moved to another message."""
    return b"paraf-outbox:%d" % message_id


def _seal(message_id: int, links: dict[str, str]) -> bytes:
    """Encrypt the links of a message."""
    return sealing.seal(json.dumps(links, sort_keys=True).encode("utf-8"), SEAL_INFO, _aad(message_id))


def links_of(message: OutboxMessage) -> dict[str, str]:
    """Return the unsealed links of a message (empty once sent); raise ``ValueError`` if they cannot be opened."""
    blob = message.sealed_links
    if not blob:
        return {}
    if blob[:1] != sealing.VERSION:
        raise ValueError(f"outbox message {message.id}: unknown sealed-links format")
    try:
        plaintext = sealing.unseal(blob, SEAL_INFO, _aad(message.id))
    except sealing.SealError:
        raise ValueError(f"outbox message {message.id}: links cannot be unsealed (SECRET_KEY changed?)") from None
    return json.loads(plaintext)


def fill_links(body: str, links: dict[str, str]) -> str:
    """Fill the ``{name}`` placeholders of ``body`` that name a link; leave other braces alone."""
    return PLACEHOLDER.sub(lambda match: links.get(match.group(1), match.group(0)), body)


def _queue(channel: str, to: str, subject: str, body: str, links: dict[str, str] | None, account_id: int | None,
           links_expire_at: datetime | None):
    """Add one pending message (links sealed, with when they expire) to the caller's transaction."""
    links = dict(links or {})
    missing = [name for name in links if "{" + name + "}" not in body]
    if missing:
        raise ValueError(f"the body has no placeholder for link(s) {', '.join(sorted(missing))}")
    message = OutboxMessage(
        channel=channel,
        recipient=to,
        subject=subject,
        body=body,
        attempts=0,
        next_attempt_at=utcnow(),
        account_id=account_id,
        created_at=utcnow(),
        links_expire_at=links_expire_at if links else None,
    )
    db.session.add(message)
    lifecycle.apply(message, "outbox", "queue", SYSTEM)  # flushed: the id seals the links
    if links:
        message.sealed_links = _seal(message.id, links)
        db.session.flush()
    return message


def queue_email(
    to: str, subject: str, body: str, links: dict[str, str] | None = None, account_id: int | None = None,
    links_expire_at: datetime | None = None,
) -> OutboxMessage:
    """Queue an e-mail; ``body`` may hold ``{name}`` placeholders filled from ``links`` when it is sent.

    ``links_expire_at``: when the links' tokens stop working (None: they do not expire); a failed message
    can be retried until then.
    """
    return _queue(EMAIL, to.strip(), subject, body, links, account_id, links_expire_at)


def queue_whatsapp(
    to: str, body: str, links: dict[str, str] | None = None, account_id: int | None = None,
    links_expire_at: datetime | None = None,
) -> OutboxMessage:
    """Queue a WhatsApp message to an Indonesian number; placeholders and expiry as for ``queue_email``."""
    return _queue(WHATSAPP, whatsapp_number(to), "", body, links, account_id, links_expire_at)


def email_message(
    to: str, name: str, context: dict, links: dict[str, str] | None = None, account_id: int | None = None,
    links_expire_at: datetime | None = None,
) -> OutboxMessage:
    """Queue the e-mail message ``name`` rendered with ``context``; links and expiry as for ``queue_email``."""
    rendered = messages.email(name, context, list(links or ()))
    return queue_email(to, rendered.subject, rendered.text, links, account_id, links_expire_at)


def whatsapp_message(
    to: str, name: str, context: dict, links: dict[str, str] | None = None, account_id: int | None = None,
    links_expire_at: datetime | None = None,
) -> OutboxMessage:
    """Queue the WhatsApp text of message ``name`` rendered with ``context``; links as for ``email_message``."""
    return queue_whatsapp(to, messages.whatsapp(name, context, list(links or ())), links, account_id, links_expire_at)


def send_email_now(to: str, subject: str, body: str) -> None:
    """Send an e-mail at once, storing nothing (for secrets); raise ``NotificationError`` on failure."""
    try:
        SmtpTransport.from_config(current_app.config).send(to, subject, body, messages.email_html(subject, body))
    except TransportError as exc:
        log.warning("immediate e-mail failed: %s", exc)
        raise NotificationError(gettext("E-mail tidak dapat dikirim saat ini. Coba lagi beberapa menit lagi.")) from None


def send_whatsapp_now(to: str, body: str) -> None:
    """Send a WhatsApp message at once, storing nothing (for secrets); raise ``NotificationError`` on failure."""
    number = whatsapp_number(to)
    transport = WhatsAppTransport.from_config(current_app.config)
    if transport is None:
        log.warning("immediate WhatsApp message not sent: WHATSAPP_GATEWAY_URL is not configured")
        raise NotificationError(gettext("Pengiriman WhatsApp belum dikonfigurasi. Hubungi administrator Paraf."))
    try:
        transport.send(number, body)
    except TransportError as exc:
        log.warning("immediate WhatsApp message failed: %s", exc)
        raise NotificationError(
            gettext("Pesan WhatsApp tidak dapat dikirim saat ini. Periksa nomor HP Anda atau coba lagi beberapa menit lagi.")
        ) from None


def email_message_now(to: str, name: str, context: dict) -> None:
    """Send the e-mail message ``name`` rendered with ``context`` at once; as ``send_email_now``."""
    rendered = messages.email(name, context)
    send_email_now(to, rendered.subject, rendered.text)


def whatsapp_message_now(to: str, name: str, context: dict) -> None:
    """Send the WhatsApp text of message ``name`` rendered with ``context`` at once; as ``send_whatsapp_now``."""
    send_whatsapp_now(to, messages.whatsapp(name, context))


def backoff(attempts: int, cap_seconds: float = 3600) -> timedelta:
    """Return the wait before the next try after ``attempts`` failures: 30 s doubling, capped, jittered."""
    base = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), cap_seconds)
    return timedelta(seconds=base * random.uniform(0.75, 1.0))


def _claim(now: datetime, limit: int, channels: tuple[str, ...]) -> list[int]:
    """Take up to ``limit`` due messages (pending, or sending with an expired lease) and commit the claims."""
    due = (
        OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.channel.in_(channels),
    )
    candidates = db.session.execute(
        select(OutboxMessage).where(*due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        .execution_options(populate_existing=True)
    ).scalars().all()
    claimed = []
    for message in candidates:
        # Compare-and-swap on the status and the lease: of several workers that saw the same row, exactly one moves it.
        try:
            lifecycle.apply(message, "outbox", "claim", SYSTEM, values={"next_attempt_at": now + LEASE},
                            where=(OutboxMessage.next_attempt_at <= now,))
        except lifecycle.Stale:
            continue
        claimed.append(message.id)
    db.session.commit()
    return claimed


def _deliver(message: OutboxMessage, smtp: SmtpTransport, whatsapp: WhatsAppTransport | None) -> None:
    """Send one claimed message through its channel."""
    text = fill_links(message.body, links_of(message))
    if message.channel == EMAIL:
        smtp.send(message.recipient, message.subject, text, messages.email_html(message.subject, text))
    elif message.channel == WHATSAPP and whatsapp is not None:
        whatsapp.send(message.recipient, text)
    else:
        raise TransportError(f"no transport for channel {message.channel!r}")


def _warn_no_gateway_once() -> None:
    """Log, once per process, that WhatsApp messages wait for a gateway."""
    global _warned_no_gateway
    if not _warned_no_gateway:
        _warned_no_gateway = True
        log.warning("WhatsApp messages stay pending: WHATSAPP_GATEWAY_URL is not configured")


def work(now: datetime | None = None, limit: int = 50) -> WorkResult:
    """Deliver due messages once; commit each claim and outcome (see the module docstring)."""
    now = now or utcnow()
    config = current_app.config
    smtp = SmtpTransport.from_config(config)
    whatsapp = WhatsAppTransport.from_config(config)
    channels: tuple[str, ...] = (EMAIL, WHATSAPP)
    if whatsapp is None:
        channels = (EMAIL,)
        waiting = db.session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.channel == WHATSAPP, OutboxMessage.status == OutboxStatus.PENDING)
            .limit(1)
        ).first()
        if waiting:
            _warn_no_gateway_once()
    max_attempts = int(config["OUTBOX_MAX_ATTEMPTS"])
    cap = float(config["OUTBOX_BACKOFF_CAP_SECONDS"])
    _wipe_expired_links(now)
    sent = retried = failed = 0
    for message_id in _claim(now, limit, channels):
        message = db.session.get(OutboxMessage, message_id, populate_existing=True)
        error, permanent = None, False
        try:
            _deliver(message, smtp, whatsapp)
        except TransportError as exc:
            error = str(exc)
        except ValueError as exc:  # the links cannot be unsealed: retrying will not help
            error, permanent = str(exc), True
        except Exception as exc:  # a bug must not leave the message leased forever; its text may quote the body
            log.error("outbox message %d: unexpected %s while sending", message.id, type(exc).__name__)
            error = f"unexpected {type(exc).__name__}"
        message.attempts += 1
        if error is None:
            lifecycle.apply(message, "outbox", "deliver", SYSTEM,
                            values={"sent_at": utcnow(), "sealed_links": None, "last_error": None})
            sent += 1
        elif permanent or message.attempts >= max_attempts:
            lifecycle.apply(message, "outbox", "fail", SYSTEM, values={"last_error": error[:500]})  # links kept
            failed += 1
            log.error("outbox message %d failed for good after %d attempt(s)", message.id, message.attempts)
        else:
            lifecycle.apply(message, "outbox", "retry", SYSTEM,
                            values={"last_error": error[:500], "next_attempt_at": now + backoff(message.attempts, cap)})
            retried += 1
            log.warning("outbox message %d: attempt %d failed, will retry", message.id, message.attempts)
        db.session.commit()
    return WorkResult(sent=sent, retried=retried, failed=failed)


def _wipe_expired_links(now: datetime) -> None:
    """Wipe the sealed links of failed messages whose links have expired, and commit."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED, OutboxMessage.sealed_links.is_not(None),
               OutboxMessage.links_expire_at <= now)
        .values(sealed_links=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def links_lost(message: OutboxMessage, now: datetime) -> bool:
    """Return whether a message's links have expired or were wiped, so sending it again is pointless."""
    if message.links_expire_at is not None and message.links_expire_at <= now:
        return True
    return message.sealed_links is None and PLACEHOLDER.search(message.body) is not None  # wiped before it failed


def requeue(ids: list[int] | None, now: datetime | None = None) -> list[Requeued]:
    """Put failed messages (``ids``, or all when None) back in the queue with their tries reset; the caller commits.

    A message whose links have expired stays failed (``links_expired``); an id that is not a failed message
    is reported as ``not_failed``.
    """
    now = now or utcnow()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    query = query.where(OutboxMessage.id.in_(ids)) if ids is not None else query.where(OutboxMessage.status == OutboxStatus.FAILED)
    found = {message.id: message for message in db.session.execute(query).scalars()}
    outcomes = []
    for message_id in ids if ids is not None else list(found):
        message = found.get(message_id)
        if message is None or message.status != OutboxStatus.FAILED:
            outcomes.append(Requeued(message_id, "not_failed"))
        elif links_lost(message, now):
            outcomes.append(Requeued(message_id, "links_expired"))
        else:
            lifecycle.apply(message, "outbox", "requeue", SYSTEM, guard=True,
                            values={"attempts": 0, "next_attempt_at": now, "last_error": None})
            outcomes.append(Requeued(message_id, "requeued"))
    return outcomes
