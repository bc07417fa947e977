"""Write and verify the audit hash chain, keyed by the HSM, and checkpoint its head with the TSA.

Each new event's hash is HMAC-SHA256 under a key only the HSM can apply, so a rewritten copy of the
database cannot be re-chained. What the chain alone cannot show is its newest events cut off together
with the head row: a checkpoint (the newest event's sequence and hash, time-stamped by Paraf's TSA) kept
away from the server shows that.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import tsp
from sqlalchemy import select, update

from ..extensions import db
from ..models.audit import GENESIS, HSM_HMAC, PLAIN_SHA256, AuditEvent, AuditHead
from ..models.types import utcnow

HASHED_FIELDS = ("seq", "at", "actor", "action", "subject_type", "subject_id", "agency_id", "ip", "reason", "details")


@dataclass(frozen=True)
class Actor:
    """Who did something, from where, for which agency."""

    name: str
    ip: str | None = None
    agency_id: int | None = None


SYSTEM = Actor("system")


def hashed_bytes(prev_hash: str, event: AuditEvent) -> bytes:
    """Return what an event's hash covers: the previous event's hash and the event's fields."""
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    fields["at"] = event.at.isoformat()
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (prev_hash + payload).encode("utf-8")


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """Return the chain hash of an event given the previous event's hash, by the event's scheme."""
    data = hashed_bytes(prev_hash, event)
    if event.scheme == PLAIN_SHA256:
        return hashlib.sha256(data).hexdigest()
    from ..domain import keys  # it imports this module: import it late

    return keys.audit_mac(data).hex()


def record(
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | int | None,
    reason: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append an event to the chain (no secrets in ``details``)."""
    # Bump the head first: the UPDATE takes the write lock before the head is read.
    if db.session.execute(update(AuditHead).values(seq=AuditHead.seq + 1)).rowcount == 0:
        db.session.add(AuditHead(id=1, seq=1, hash=GENESIS))
        db.session.flush()
    head = db.session.execute(select(AuditHead).execution_options(populate_existing=True)).scalar_one()
    event = AuditEvent(
        seq=head.seq,
        at=utcnow().replace(microsecond=0),
        actor=actor.name,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        agency_id=actor.agency_id,
        ip=actor.ip,
        reason=reason,
        details=json.dumps(details or {}, sort_keys=True, ensure_ascii=False),
        prev_hash=head.hash,
        scheme=HSM_HMAC,
    )
    event.hash = event_hash(head.hash, event)
    head.hash = event.hash
    db.session.add(event)
    db.session.flush()
    return event


def seal_plain_events(actor: Actor) -> None:
    """Append a keyed event when the newest is plain SHA-256, so the older ones can no longer be re-chained."""
    newest = db.session.execute(select(AuditEvent.scheme).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    if newest == PLAIN_SHA256:
        record(actor, "audit.keyed", "audit", None)


def verify(checkpoints: Iterable[tuple[str, dict]] = ()) -> list[str]:
    """Return the problems found in the chain and against ``(name, statement)`` checkpoints; none means intact.

    Plain SHA-256 events are accepted only before the first keyed one, and the newest event must be keyed:
    otherwise anyone could rewrite the chain as plain SHA-256.
    """
    problems = []
    prev_hash, expected_seq, keyed, newest = GENESIS, 1, False, None
    for event in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        if event.seq != expected_seq:
            problems.append(f"event {event.id}: sequence {event.seq}, expected {expected_seq} (removed or reordered)")
        if event.prev_hash != prev_hash:
            problems.append(f"event {event.id}: does not follow the previous event (removed or reordered)")
        if event.scheme == PLAIN_SHA256 and keyed:
            problems.append(f"event {event.id}: not keyed by the HSM after keyed events (rewritten)")
        elif event_hash(event.prev_hash, event) != event.hash:
            problems.append(f"event {event.id}: content changed after it was written")
        keyed = keyed or event.scheme != PLAIN_SHA256
        prev_hash, expected_seq, newest = event.hash, event.seq + 1, event
    if newest is not None and newest.scheme == PLAIN_SHA256:
        problems.append(f"event {newest.id}: the newest event is not keyed by the HSM (rewritten, or run `flask pki init`)")
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        problems.append("the newest events were removed")
    for name, point in checkpoints:
        event = db.session.execute(select(AuditEvent).where(AuditEvent.seq == point["seq"])).scalar_one_or_none()
        if event is None:
            problems.append(f"checkpoint {name}: event {point['event']} is gone (the newest events were removed)")
        elif (event.id, event.hash) != (point["event"], point["hash"]):
            problems.append(f"checkpoint {name}: event {event.id} is not the one checkpointed at {point['at']} (rewritten)")
    return problems


def checkpoint(folder: Path) -> tuple[dict, Path]:
    """Time-stamp the newest event with the TSA; write ``checkpoint-SEQ.json`` and its RFC 3161 reply ``.tsr``.

    ``openssl ts -verify -data checkpoint-SEQ.json -in checkpoint-SEQ.tsr`` checks the pair.

    :raises LookupError: the chain is empty.
    """
    from ..domain import keys  # it imports this module: import it late

    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one_or_none()
    if event is None:
        raise LookupError("the audit chain is empty")
    point = {"event": event.id, "seq": event.seq, "hash": event.hash, "at": utcnow().replace(microsecond=0).isoformat()}
    statement = json.dumps(point, sort_keys=True).encode()
    request = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(statement).digest()},
        "nonce": secrets.randbits(63),
        "cert_req": True,
    })
    reply = keys.timestamp_response(request.dump())
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"checkpoint-{event.seq:010d}.json"
    path.write_bytes(statement)
    path.with_suffix(".tsr").write_bytes(reply)
    return point, path


def read_checkpoints(paths: Iterable[Path]) -> list[tuple[str, dict]]:
    """Return ``(file name, statement)`` of each checkpoint file, and of those in each folder, for :func:`verify`."""
    files = []
    for path in paths:
        found = sorted(path.glob("checkpoint-*.json")) if path.is_dir() else [path]
        if not found:
            raise ValueError(f"no checkpoint-*.json in {path}")
        files += found
    return [(str(file), json.loads(file.read_bytes())) for file in files]
