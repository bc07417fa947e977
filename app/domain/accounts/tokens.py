"""Single-use link tokens (activation, set/reset passphrase, data change, ...): only their SHA-256 is stored.

``issue`` revokes the account's earlier live tokens of the same purpose ("resend kills the old
link"); ``verify`` checks without using; ``consume`` uses a token exactly once, even when two
requests race. ``record_refusal`` writes a refused link to the audit trail. All add/flush in the
caller's transaction and never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from flask_babel import gettext, ngettext
from sqlalchemy import select, update

from ...extensions import db
from ...models.account import Account
from ...models.token import LinkToken
from ...models.types import utcnow
from ...platform.audit import Actor, record
from ..errors import DomainError

TOKEN_BYTES = 32


class TokenError(DomainError):
    """A link token cannot be used; the text tells the person what to do."""

    status = 410


class TokenInvalid(TokenError):
    """Unknown, for another purpose, revoked by a newer link, or already used."""

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("Tautan tidak valid atau sudah digunakan. Minta tautan baru kepada verifikator."))


class TokenExpired(TokenError):
    """Past its expiry."""

    def __init__(self, message: str | None = None, validity: timedelta | None = None):
        super().__init__(
            message
            or gettext(
                "Tautan sudah kedaluwarsa (berlaku %(duration)s). Minta tautan baru kepada verifikator.",
                duration=_duration(validity),
            )
        )


def _duration(validity: timedelta | None) -> str:
    """Say how long a link was valid, in the page's language (``24 jam`` when unknown)."""
    if validity is None:
        return ngettext("%(num)d jam", "%(num)d jam", 24)
    minutes = round(validity.total_seconds() / 60)
    if minutes >= 60 and minutes % 60 == 0:
        return ngettext("%(num)d jam", "%(num)d jam", minutes // 60)
    return ngettext("%(num)d menit", "%(num)d menit", max(minutes, 1))


def hash_token(raw: str) -> str:
    """Return the SHA-256 hex digest under which a raw token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(account_id: int, purpose: str, ttl: timedelta, now: datetime | None = None) -> str:
    """Create a token for ``account_id`` and ``purpose``, revoke its earlier live ones, return the raw token."""
    now = now or utcnow()
    revoke(account_id, purpose, now)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = LinkToken(account_id=account_id, purpose=purpose, token_hash=hash_token(raw), expires_at=now + ttl)
    token.created_at = now
    db.session.add(token)
    db.session.flush()
    return raw


def revoke(account_id: int, purpose: str, now: datetime | None = None) -> None:
    """Revoke the live tokens of ``account_id`` for ``purpose``."""
    now = now or utcnow()
    db.session.execute(
        update(LinkToken)
        .where(
            LinkToken.account_id == account_id,
            LinkToken.purpose == purpose,
            LinkToken.used_at.is_(None),
            LinkToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )


def verify(raw: str, purpose: str, now: datetime | None = None) -> LinkToken:
    """Return the live token for ``raw`` without using it; raise ``TokenInvalid`` or ``TokenExpired``."""
    now = now or utcnow()
    if not raw or len(raw) > 256:
        raise TokenInvalid()
    token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None or token.purpose != purpose or token.used_at is not None or token.revoked_at is not None:
        raise TokenInvalid()
    if token.expires_at <= now:
        raise TokenExpired(validity=token.expires_at - token.created_at)
    return token


def consume(raw: str, purpose: str, now: datetime | None = None) -> LinkToken:
    """Use the token for ``raw`` once; a second (or concurrent) use raises ``TokenInvalid``."""
    now = now or utcnow()
    token = verify(raw, purpose, now)
    result = db.session.execute(
        update(LinkToken)
        .where(
            LinkToken.id == token.id,
            LinkToken.used_at.is_(None),
            LinkToken.revoked_at.is_(None),
            LinkToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise TokenInvalid()
    db.session.refresh(token)
    return token


def record_refusal(raw: str, purpose: str, actor: Actor) -> None:
    """Write a refused link we issued (used, revoked, expired, ...) to the audit trail, never the token itself.

    Made-up tokens are not recorded: anyone can send them, and each event takes the chain's write lock.
    """
    if not raw or len(raw) > 256:
        return
    token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None:
        return
    if token.purpose != purpose:
        why = "wrong_purpose"
    elif token.used_at is not None:
        why = "used"
    elif token.revoked_at is not None:
        why = "revoked"
    elif token.expires_at <= utcnow():
        why = "expired"
    else:
        why = "nothing_pending"  # a live link whose work is already done
    account = db.session.get(Account, token.account_id)
    if actor.agency_id is None:
        actor = replace(actor, agency_id=account.agency_id)
    record(actor, "link.refused", "account", account.id, reason=why, details={"purpose": purpose})
