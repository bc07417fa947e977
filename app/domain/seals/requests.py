"""A seal's life in the portal: requested (or proposed and confirmed), decided by the central RA, issued, revoked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from flask_babel import gettext
from sqlalchemy import func, select

from ... import lifecycle
from ...extensions import db
from ...models import Account, ApiClient, Certificate, Role, Seal, SealActivation, SealedDocument
from ...models.types import utcnow
from ...platform.audit import Actor, record
from .. import keys
from ..errors import InputError
from . import activation


def _custodians(seal: Seal, account_ids: Sequence[int]) -> list[Account]:
    """Return the accounts named, refusing any outside the seal's agency."""
    accounts = [db.session.get(Account, account_id) for account_id in dict.fromkeys(account_ids)]
    if any(account is None or account.agency_id != seal.agency_id for account in accounts):
        raise InputError(gettext("Pemegang segel harus akun instansi pemilik segel."), field="custodians")
    return accounts


def _clients(seal: Seal, client_ids: Sequence[int]) -> list[ApiClient]:
    """Return the API clients named, refusing any not scoped to the seal's agency."""
    clients = [db.session.get(ApiClient, client_id) for client_id in dict.fromkeys(client_ids)]
    if any(client is None or seal.agency_id not in client.agency_ids for client in clients):
        raise InputError(gettext("Aplikasi yang boleh memakai segel harus terhubung dengan instansi pemilik segel."),
                         field="clients")
    return clients


def request_seal(agency_id: int, name: str, requester: Account, actor: Actor, custodian_ids: Sequence[int] = (),
                 client_ids: Sequence[int] = ()) -> Seal:
    """Request a seal for the agency: the agency head's request goes to the central RA, a verifier's to the agency head."""
    name = " ".join((name or "").split())
    if not 3 <= len(name) <= 120:
        raise InputError(gettext("Nama segel harus 3 sampai 120 karakter."), field="name")
    if requester.agency_id != agency_id or requester.role not in (Role.AGENCY_HEAD, Role.VERIFIER):
        raise InputError(gettext("Hanya pimpinan atau verifikator instansi yang dapat mengajukan segel."))
    seal = Seal(agency_id=agency_id, name=name, requested_by_id=requester.id)
    seal.custodians = _custodians(seal, [*custodian_ids, *([requester.id] if requester.role == Role.AGENCY_HEAD else [])])
    seal.clients = _clients(seal, client_ids)
    db.session.add(seal)
    action = "request" if requester.role == Role.AGENCY_HEAD else "propose"
    lifecycle.apply(seal, "seal", action, actor, details={"name": name, "agency": agency_id})
    return seal


def confirm_seal(seal: Seal, agency_head: Account, actor: Actor) -> None:
    """Confirm a verifier's proposal as the agency head, who becomes a custodian."""
    if agency_head.role != Role.AGENCY_HEAD or agency_head.agency_id != seal.agency_id:
        raise InputError(gettext("Hanya pimpinan instansi pemilik segel yang dapat mengonfirmasi."))
    if agency_head not in seal.custodians:
        seal.custodians.append(agency_head)
    lifecycle.apply(seal, "seal", "confirm", actor)


def approve_seal(seal: Seal, ra: Account, actor: Actor) -> None:
    """Approve a requested seal as the central RA."""
    lifecycle.apply(seal, "seal", "approve", actor, values={"decided_by_id": ra.id, "decided_at": utcnow()})


def reject_seal(seal: Seal, decider: Account, reason: str, actor: Actor) -> None:
    """Reject a proposal (agency head) or a request (central RA), saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError(gettext("Tuliskan alasan penolakan."), field="reason")
    lifecycle.apply(seal, "seal", "reject", actor, reason=reason,
                    values={"decided_by_id": decider.id, "decided_at": utcnow(), "rejection_reason": reason})


def issue_seal(seal: Seal, actor: Actor) -> Certificate:
    """Make the approved seal's key in the HSM and issue its organisation certificate; keep its secret only encrypted."""
    if not lifecycle.allowed("seal", seal.status, "issue"):
        raise lifecycle.Forbidden("seal", seal.status, "issue")
    certificate, secret = keys.issue_seal_certificate(seal.agency.name, seal.name, actor)
    seal.rest_secret = keys.seal_encrypt(keys.seal_rest_key(seal.id_subscriber), secret, activation.aad(seal))
    lifecycle.apply(seal, "seal", "issue", actor, values={"certificate_id": certificate.id},
                    details={"serial": certificate.serial})
    return certificate


def revoke_seal(seal: Seal, reason: str, actor: Actor) -> None:
    """Revoke the seal: its certificate goes on the CRL and OCSP at once, every activation ends."""
    lifecycle.apply(seal, "seal", "revoke", actor, reason=reason)
    for live in activation.live_activations(seal):
        activation.end_activation(live, actor, "revoked")
    keys.revoke(seal.certificate, reason, actor)
    seal.rest_secret = None


def set_custodians(seal: Seal, account_ids: Sequence[int], actor: Actor) -> None:
    """Set who receives the seal's activation codes (accounts of its agency)."""
    seal.custodians = _custodians(seal, account_ids)
    record(actor, "seal.custodians", "seal", seal.id, details={"accounts": [account.id for account in seal.custodians]})


def set_clients(seal: Seal, client_ids: Sequence[int], actor: Actor) -> None:
    """Set which API clients may use the seal (clients scoped to its agency)."""
    seal.clients = _clients(seal, client_ids)
    record(actor, "seal.clients", "seal", seal.id, details={"clients": [client.name for client in seal.clients]})


def lift_lock(seal: Seal, actor: Actor) -> None:
    """Lift the lock that too many wrong codes put on the seal, and forget the wrong count."""
    seal.locked_at, seal.wrong_codes = None, 0
    db.session.flush()
    record(actor, "seal.unlock", "seal", seal.id)


def seals_of_agency(agency_id: int) -> list[Seal]:
    """Return the agency's seals, newest first."""
    return list(db.session.execute(select(Seal).where(Seal.agency_id == agency_id).order_by(Seal.id.desc())).scalars())


def activations_of(seal: Seal, limit: int = 20) -> list[SealActivation]:
    """Return the seal's newest activations."""
    return list(db.session.execute(
        select(SealActivation).where(SealActivation.seal_id == seal.id).order_by(SealActivation.id.desc()).limit(limit)
    ).scalars())


def documents_per_day(seal: Seal, days: int = 30) -> list[tuple[date, int]]:
    """Return how many documents the seal sealed on each UTC day of the last ``days`` days (days with none left out)."""
    since = utcnow() - timedelta(days=days)
    day = func.date(SealedDocument.created_at)
    rows = db.session.execute(
        select(day, func.count()).where(SealedDocument.seal_id == seal.id, SealedDocument.created_at >= since)
        .group_by(day).order_by(day)
    ).all()
    return [(value if isinstance(value, date) else date.fromisoformat(value), count) for value, count in rows]
