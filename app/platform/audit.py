"""Write and verify the audit hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update

from ..extensions import db
from ..models.audit import GENESIS, AuditEvent, AuditHead
from ..models.types import utcnow

HASHED_FIELDS = ("seq", "at", "actor", "action", "subject_type", "subject_id", "agency_id", "ip", "reason", "details")


@dataclass(frozen=True)
class Actor:
    """Who did something, from where, for which agency."""

    name: str
    ip: str | None = None
    agency_id: int | None = None


SYSTEM = Actor("system")


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """Return the chain hash of an event given the previous event's hash."""
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    fields["at"] = event.at.isoformat()
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


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
    )
    event.hash = event_hash(head.hash, event)
    head.hash = event.hash
    db.session.add(event)
    db.session.flush()
    return event


def verify() -> list[str]:
    """Return the problems found in the chain; an empty list means it is intact."""
    problems = []
    prev_hash, expected_seq = GENESIS, 1
    for event in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        if event.seq != expected_seq:
            problems.append(f"event {event.id}: sequence {event.seq}, expected {expected_seq} (removed or reordered)")
        if event.prev_hash != prev_hash:
            problems.append(f"event {event.id}: does not follow the previous event (removed or reordered)")
        if event_hash(event.prev_hash, event) != event.hash:
            problems.append(f"event {event.id}: content changed after it was written")
        prev_hash, expected_seq = event.hash, event.seq + 1
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        problems.append("the newest events were removed")
    return problems
