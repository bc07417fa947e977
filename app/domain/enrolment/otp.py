"""Six-digit one-time codes sent by WhatsApp to verify a phone number; only an argon2 hash is stored.

The code goes straight to the gateway (``notifications.whatsapp_message_now``), never through the
outbox. Wrong tries are counted on the code's row in the caller's transaction: a view MUST
commit after ``OtpWrong`` and ``OtpLocked`` too (not roll back), or the count is lost.
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import select, update

from ...extensions import db
from ...models.token import OtpCode
from ...models.types import utcnow
from ...platform import notifications
from ..errors import InputError

# A code lives for minutes and allows five tries: a modest cost is enough.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class OtpError(InputError):
    """A code cannot be sent or accepted; the text tells the person what to do."""

    field = "code"


class OtpThrottled(OtpError):
    """A new code was asked for too soon."""

    status = 429

    def __init__(self, seconds_to_wait: int):
        self.seconds_to_wait = seconds_to_wait
        super().__init__(
            ngettext(
                "Tunggu %(num)d detik sebelum meminta kode baru.",
                "Tunggu %(num)d detik sebelum meminta kode baru.",
                seconds_to_wait,
            )
        )


class OtpExpired(OtpError):
    """The newest code is past its expiry."""

    def __init__(self, minutes: int = 15):
        super().__init__(
            ngettext(
                "Kode OTP sudah kedaluwarsa (%(num)d menit). Minta kode baru.",
                "Kode OTP sudah kedaluwarsa (%(num)d menit). Minta kode baru.",
                minutes,
            )
        )


class OtpWrong(OtpError):
    """The code does not match; ``remaining`` tries are left."""

    keep_changes = True  # the wrong try counts toward the code's lock

    def __init__(self, remaining: int):
        self.remaining = remaining
        super().__init__(gettext("Kode OTP salah. Sisa percobaan: %(remaining)d.", remaining=remaining))


class OtpLocked(OtpError):
    """Too many wrong tries for this code."""

    keep_changes = True

    def __init__(self, max_attempts: int = 5):
        super().__init__(
            ngettext("Kode OTP salah %(num)d kali. Minta kode baru.", "Kode OTP salah %(num)d kali. Minta kode baru.", max_attempts)
        )


class OtpMissing(OtpError):
    """No code is waiting: none was sent, or the newest was already used."""

    def __init__(self):
        super().__init__(gettext("Tidak ada kode OTP yang menunggu. Minta kode baru."))


def _setting(name: str) -> int:
    """Return an integer ``OTP_*`` setting."""
    return int(current_app.config[name])


def _throttle(account_id: int, purpose: str, now: datetime) -> None:
    """Raise ``OtpThrottled`` when the last send was too recent or the hourly allowance is used up."""
    sent = (
        db.session.execute(
            select(OtpCode.created_at)
            .where(
                OtpCode.account_id == account_id,
                OtpCode.purpose == purpose,
                OtpCode.created_at > now - timedelta(hours=1),
            )
            .order_by(OtpCode.created_at)
        )
        .scalars()
        .all()
    )
    waits = []
    if sent:
        waits.append(sent[-1] + timedelta(seconds=_setting("OTP_RESEND_SECONDS")) - now)
    max_per_hour = _setting("OTP_MAX_PER_HOUR")
    if len(sent) >= max_per_hour:
        waits.append(sent[len(sent) - max_per_hour] + timedelta(hours=1) - now)
    wait = max(waits, default=timedelta(0))
    if wait > timedelta(0):
        raise OtpThrottled(math.ceil(wait.total_seconds()))


def _create(account_id: int, destination: str, purpose: str, now: datetime) -> tuple[OtpCode, str]:
    """Throttle, then add a new code's row (hash only); return the row and the code."""
    _throttle(account_id, purpose, now)
    code = f"{secrets.randbelow(10**6):06d}"
    row = OtpCode(
        account_id=account_id,
        purpose=purpose,
        destination=destination,
        code_hash=_hasher.hash(code),
        attempts=0,
        expires_at=now + timedelta(minutes=_setting("OTP_TTL_MINUTES")),
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row, code


def _supersede(row: OtpCode, now: datetime) -> None:
    """Expire the earlier live codes of the same account and purpose."""
    db.session.execute(
        update(OtpCode)
        .where(OtpCode.account_id == row.account_id, OtpCode.purpose == row.purpose, OtpCode.id != row.id)
        .where(OtpCode.used_at.is_(None), OtpCode.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session="fetch")
    )


def send(account_id: int, phone: str, purpose: str = "phone", now: datetime | None = None) -> OtpCode:
    """Make a new code (invalidating the previous one), store its hash, and send it by WhatsApp at once."""
    now = now or utcnow()
    destination = notifications.whatsapp_number(phone)
    row, code = _create(account_id, destination, purpose, now)
    try:
        notifications.whatsapp_message_now(destination, "phone_code", {"code": code, "minutes": _setting("OTP_TTL_MINUTES")})
    except notifications.NotificationError:
        # Not delivered: forget it, so it neither counts against the limits nor replaces the previous code.
        db.session.delete(row)
        db.session.flush()
        raise
    _supersede(row, now)
    return row


def issue(account_id: int, destination: str, purpose: str, now: datetime | None = None) -> tuple[OtpCode, str]:
    """Make a new code that replaces the previous one and return it for the caller to deliver (e.g. sealed in the outbox)."""
    now = now or utcnow()
    row, code = _create(account_id, destination, purpose, now)
    _supersede(row, now)
    return row, code


def _newest(account_id: int, purpose: str) -> OtpCode | None:
    """Return the newest code of ``account_id`` for ``purpose``."""
    return db.session.execute(
        select(OtpCode)
        .where(OtpCode.account_id == account_id, OtpCode.purpose == purpose)
        .order_by(OtpCode.created_at.desc(), OtpCode.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _matches(code_hash: str, code: str) -> bool:
    """Return whether ``code`` is the code behind ``code_hash``."""
    if not code.isdigit() or len(code) > 16:
        return False
    try:
        return _hasher.verify(code_hash, code)
    except (VerificationError, InvalidHashError):
        return False


def check(account_id: int, code: str, purpose: str = "phone", now: datetime | None = None) -> OtpCode:
    """Accept the newest code once, or raise ``OtpExpired``/``OtpWrong``/``OtpLocked``/``OtpMissing`` (commit after)."""
    now = now or utcnow()
    max_attempts = _setting("OTP_MAX_ATTEMPTS")
    row = _newest(account_id, purpose)
    if row is None or row.used_at is not None:
        raise OtpMissing()
    if row.attempts >= max_attempts:
        raise OtpLocked(max_attempts)
    if row.expires_at <= now:
        raise OtpExpired(round((row.expires_at - row.created_at).total_seconds() / 60) or 1)
    live = (OtpCode.id == row.id, OtpCode.used_at.is_(None), OtpCode.attempts < max_attempts)
    code = (code or "").strip()
    if not _matches(row.code_hash, code):
        db.session.execute(
            update(OtpCode)
            .where(*live)
            .values(attempts=OtpCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(row)
        remaining = max_attempts - row.attempts
        if remaining <= 0:
            raise OtpLocked(max_attempts)
        raise OtpWrong(remaining)
    result = db.session.execute(
        update(OtpCode).where(*live).values(used_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise OtpMissing()
    db.session.refresh(row)
    return row
