"""Statuses, the transitions the procedures allow, and ``apply()``: the only writer of status."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .platform.audit import Actor


class AccountStatus(enum.StrEnum):
    """Status of an account, as the national service names them."""

    NOT_REGISTERED = "NOT_REGISTERED"
    REGISTERED = "REGISTERED"
    ACTIVATED = "ACTIVATED"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"
    UPDATE = "UPDATE"
    SUSPENDED = "SUSPENDED"


class CertificateStatus(enum.StrEnum):
    """Status of a certificate, as the national service names them."""

    NEW = "NEW"
    ISSUE = "ISSUE"
    EXPIRED = "EXPIRED"
    REVOKE = "REVOKE"


class ChangeState(enum.StrEnum):
    """Where a data-change request stands; a migration passes the agency head and the central RA first."""

    WAITING_AGENCY_HEAD = "WAITING_AGENCY_HEAD"
    WAITING_RA = "WAITING_RA"
    PENDING_SUBSCRIBER = "PENDING_SUBSCRIBER"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


NO_STATUS = {"account": "NOT_REGISTERED", "certificate": "NO_CERTIFICATE"}  # the words for "no row yet"


class Forbidden(Exception):
    """The transition is not in the table."""

    def __init__(self, kind: str, status: object, action: str):
        super().__init__(f"{kind} in status {status} cannot {action}")
        self.kind, self.status, self.action = kind, status, action

    @property
    def reason(self) -> str:
        """Say in the user's language why the step is refused."""
        from flask_babel import gettext

        kind = {"account": gettext("akun"), "certificate": gettext("sertifikat")}.get(
            self.kind, gettext("permintaan perubahan data"))
        return gettext("Langkah ini tidak diizinkan: %(kind)s berstatus %(status)s.",
                       kind=kind, status=self.status or NO_STATUS.get(self.kind, "—"))


ACCOUNT_TRANSITIONS: dict[tuple[AccountStatus | None, str], AccountStatus] = {
    (None, "register"): AccountStatus.REGISTERED,
    (AccountStatus.REGISTERED, "submit"): AccountStatus.ACTIVATED,
    (AccountStatus.REJECTED, "submit"): AccountStatus.ACTIVATED,
    (AccountStatus.ACTIVATED, "approve"): AccountStatus.VERIFIED,
    (AccountStatus.ACTIVATED, "auto_verify"): AccountStatus.VERIFIED,
    (AccountStatus.ACTIVATED, "reject"): AccountStatus.REJECTED,
    # F13/F14: a data change (or a move to another agency) waits for the subscriber's confirmation
    (AccountStatus.VERIFIED, "request_update"): AccountStatus.UPDATE,
    (AccountStatus.VERIFIED, "migrate"): AccountStatus.UPDATE,
    (AccountStatus.UPDATE, "confirm_update"): AccountStatus.VERIFIED,
    (AccountStatus.UPDATE, "cancel_update"): AccountStatus.VERIFIED,  # the verifier withdraws an unconfirmed change
    # F15: a compromised account is blocked until the central RA reactivates it
    (AccountStatus.VERIFIED, "suspend"): AccountStatus.SUSPENDED,
    (AccountStatus.UPDATE, "suspend"): AccountStatus.SUSPENDED,
    (AccountStatus.SUSPENDED, "reactivate"): AccountStatus.VERIFIED,
}

CERTIFICATE_TRANSITIONS: dict[tuple[CertificateStatus | None, str], CertificateStatus] = {
    (None, "request"): CertificateStatus.NEW,
    (None, "issue"): CertificateStatus.ISSUE,
    (CertificateStatus.NEW, "issue"): CertificateStatus.ISSUE,
    (CertificateStatus.ISSUE, "revoke"): CertificateStatus.REVOKE,
    (CertificateStatus.ISSUE, "expire"): CertificateStatus.EXPIRED,
}

# A data-change request (F13, F14); its column is ``state``.
DATA_CHANGE_TRANSITIONS: dict[tuple[ChangeState | None, str], ChangeState] = {
    (None, "request_update"): ChangeState.PENDING_SUBSCRIBER,
    (None, "request_migration"): ChangeState.WAITING_AGENCY_HEAD,
    (ChangeState.WAITING_AGENCY_HEAD, "sign"): ChangeState.WAITING_RA,
    (ChangeState.WAITING_AGENCY_HEAD, "cancel"): ChangeState.CANCELLED,
    (ChangeState.WAITING_RA, "cancel"): ChangeState.CANCELLED,
    (ChangeState.WAITING_RA, "approve"): ChangeState.PENDING_SUBSCRIBER,
    (ChangeState.WAITING_RA, "reject"): ChangeState.REJECTED,
    (ChangeState.PENDING_SUBSCRIBER, "confirm"): ChangeState.APPLIED,
    (ChangeState.PENDING_SUBSCRIBER, "cancel"): ChangeState.CANCELLED,
}

TABLES = {"account": ACCOUNT_TRANSITIONS, "certificate": CERTIFICATE_TRANSITIONS, "data_change": DATA_CHANGE_TRANSITIONS}
FIELDS = {"data_change": "state"}  # the status column of each kind, when it is not ``status``
ACTIONS = {kind: sorted({action for _status, action in table}) for kind, table in TABLES.items()}


class HasStatus(Protocol):
    """Anything with a status column and an id."""

    id: int
    status: object


def allowed(kind: str, status: object, action: str) -> bool:
    """Return whether ``action`` is allowed from ``status``."""
    return (status, action) in TABLES[kind]


def apply(
    obj: HasStatus,
    kind: str,
    action: str,
    actor: Actor,
    reason: str | None = None,
    details: dict | None = None,
) -> object:
    """Move ``obj`` (already added to the session) along the table and write the audit event.

    :raises Forbidden: the table has no such transition; nothing changes.
    """
    from .extensions import db
    from .platform.audit import record  # models import this module: import the service late

    field = FIELDS.get(kind, "status")
    current = getattr(obj, field, None)
    try:
        target = TABLES[kind][(current, action)]
    except KeyError:
        raise Forbidden(kind, current, action) from None
    setattr(obj, field, target)
    if obj.id is None:
        db.session.flush()  # a new row gets its id here, for the audit event
    change = {"from": None if current is None else str(current), "to": str(target)}
    record(actor, f"{kind}.{action}", kind, obj.id, reason, {**change, **(details or {})})
    return target
