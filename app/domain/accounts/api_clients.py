"""Integration API clients: create, authenticate, disable, and the agency scope check (add/flush only).

The one exception to add/flush: :func:`authenticate` notes a client's use in its own short transaction,
committed at once, so no request holds a write lock on it while it signs or validates.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from ...extensions import db
from ...models import Agency, ApiClient
from ...models.types import utcnow
from ...platform.audit import Actor, record
from ..errors import InputError

log = logging.getLogger(__name__)
USE_NOTED_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per client."""


class ClientError(InputError):
    """A client cannot be created or changed; the text says why."""


@dataclass(frozen=True)
class Credentials:
    """What an integrator is given once: the HTTP Basic username and password."""

    client_id: str
    secret: str


def _hash(secret: str) -> str:
    """Return the stored form of a secret (secrets are 32 random bytes, so one SHA-256 is enough)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(name: str, agency_codes: list[str], actor: Actor) -> tuple[ApiClient, Credentials]:
    """Create a client scoped to the agencies with these codes; return it with its secret (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ClientError("the client needs a name")
    if db.session.execute(select(ApiClient.id).where(ApiClient.name == name)).first():
        raise ClientError(f"a client named {name!r} already exists")
    codes = sorted({code.strip().upper() for code in agency_codes if code.strip()})
    if not codes:
        raise ClientError("give at least one agency (--agency CODE)")
    agencies = db.session.execute(select(Agency).where(Agency.code.in_(codes))).scalars().all()
    missing = set(codes) - {agency.code for agency in agencies}
    if missing:
        raise ClientError(f"unknown agency code(s): {', '.join(sorted(missing))}")
    credentials = Credentials(client_id="prf_" + secrets.token_hex(12), secret=secrets.token_urlsafe(32))
    client = ApiClient(name=name, client_id=credentials.client_id, secret_hash=_hash(credentials.secret), agencies=agencies)
    db.session.add(client)
    db.session.flush()
    record(actor, "api_client.create", "api_client", client.id, details={"name": name, "agencies": codes})
    return client, credentials


def authenticate(client_id: str, secret: str) -> ApiClient | None:
    """Return the enabled client with these credentials (secret compared in constant time) and note its use."""
    client = db.session.execute(select(ApiClient).where(ApiClient.client_id == (client_id or "")[:64])).scalar_one_or_none()
    given = _hash(secret or "")
    if client is None:
        hmac.compare_digest(given, given)  # the same work for an unknown id
        return None
    if not hmac.compare_digest(client.secret_hash, given) or not client.enabled:
        return None
    _note_use(client)
    return client


def _note_use(client: ApiClient) -> None:
    """Write ``last_used_at`` when older than a minute, on a connection of its own committed at once (never the request's)."""
    now = utcnow()
    if client.last_used_at is not None and now - client.last_used_at < USE_NOTED_EVERY:
        return
    stale = or_(ApiClient.last_used_at.is_(None), ApiClient.last_used_at < now - USE_NOTED_EVERY)
    try:
        with db.engine.begin() as connection:
            connection.execute(update(ApiClient).where(ApiClient.id == client.id, stale).values(last_used_at=now))
    except OperationalError:  # the database is busy: the next call notes the use
        log.warning("last use of API client %s not noted: database busy", client.client_id, exc_info=True)


def by_name(name: str) -> ApiClient | None:
    """Return the client with this name."""
    return db.session.execute(select(ApiClient).where(ApiClient.name == name)).scalar_one_or_none()


def all_clients() -> list[ApiClient]:
    """Return every client, by name."""
    return list(db.session.execute(select(ApiClient).order_by(ApiClient.name)).scalars())


def disable(client: ApiClient, actor: Actor) -> bool:
    """Disable a client for good; return False if it already was."""
    if not client.enabled:
        return False
    client.disabled_at = utcnow()
    record(actor, "api_client.disable", "api_client", client.id, details={"name": client.name})
    return True


def in_scope(client: ApiClient, agency_id: int | None) -> bool:
    """Return whether the client may act for subscribers of this agency."""
    return agency_id is not None and agency_id in client.agency_ids
