"""Statuses, the transitions the procedures allow, and ``apply()``: the only writer of status."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .domain.errors import Conflict

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


class WorkflowStatus(enum.StrEnum):
    """Where a sequential signing workflow stands."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"


class SealStatus(enum.StrEnum):
    """Where an agency's electronic seal stands: proposed or requested, decided by the central RA, issued, revoked."""

    PROPOSED = "PROPOSED"  # by a verifier: the agency head confirms it
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ISSUE = "ISSUE"
    REVOKE = "REVOKE"


class OutboxStatus(enum.StrEnum):
    """Where an outbox message stands; stored in lower case, as the column always held it."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


NO_STATUS = {"account": "NOT_REGISTERED", "certificate": "NO_CERTIFICATE"}  # the words for "no row yet"


class Forbidden(Conflict):
    """The transition is not in the table; :attr:`message` says so in the person's language."""

    def __init__(self, kind: str, status: object, action: str):
        super().__init__(f"{kind} in status {status} cannot {action}")
        self.kind, self.current, self.action = kind, status, action

    @property
    def reason(self) -> str:
        """Say in the user's language why the step is refused."""
        from flask_babel import gettext

        return gettext("Langkah ini tidak diizinkan: %(kind)s berstatus %(status)s.",
                       kind=_noun(self.kind), status=self.current or NO_STATUS.get(self.kind, "—"))

    @property
    def message(self) -> str:
        """Return :attr:`reason`, the sentence shown to the person."""
        return self.reason


class Stale(Conflict):
    """Someone else moved the row after this request read it (a guard or a version column saw it); nothing changes."""

    def __init__(self, kind: str, status: object, action: str):
        super().__init__(f"{kind} left status {status} before {action}")
        self.kind, self.current, self.action = kind, status, action

    @property
    def message(self) -> str:
        """Say in the user's language that someone else was first."""
        from flask_babel import gettext

        return gettext("Langkah ini tidak dijalankan: %(kind)s ini baru saja diubah oleh orang lain. "
                       "Muat ulang halaman untuk melihat statusnya sekarang.", kind=_noun(self.kind))


def _noun(kind: str) -> str:
    """Return the word for a kind of row, in the user's language."""
    from flask_babel import gettext

    return {"account": gettext("akun"), "certificate": gettext("sertifikat"),
            "data_change": gettext("permintaan perubahan data"), "workflow": gettext("alur tanda tangan"),
            "outbox": gettext("pesan"), "seal": gettext("segel elektronik")}[kind]


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

# A sequential signing workflow (F7): every signature but the last keeps it ACTIVE, the last completes it.
WORKFLOW_TRANSITIONS: dict[tuple[WorkflowStatus | None, str], WorkflowStatus] = {
    (None, "create"): WorkflowStatus.ACTIVE,
    (WorkflowStatus.ACTIVE, "sign"): WorkflowStatus.ACTIVE,
    (WorkflowStatus.ACTIVE, "complete"): WorkflowStatus.COMPLETED,
    (WorkflowStatus.ACTIVE, "decline"): WorkflowStatus.DECLINED,
}

# An outbox message (F17): a worker claims it (again, once the lease of a worker that died expires), then sends it,
# puts it back for a later try, or gives up; an operator can put a message given up on back in the queue.
OUTBOX_TRANSITIONS: dict[tuple[OutboxStatus | None, str], OutboxStatus] = {
    (None, "queue"): OutboxStatus.PENDING,
    (OutboxStatus.PENDING, "claim"): OutboxStatus.SENDING,
    (OutboxStatus.SENDING, "claim"): OutboxStatus.SENDING,
    (OutboxStatus.SENDING, "deliver"): OutboxStatus.SENT,
    (OutboxStatus.SENDING, "retry"): OutboxStatus.PENDING,
    (OutboxStatus.SENDING, "fail"): OutboxStatus.FAILED,
    (OutboxStatus.FAILED, "requeue"): OutboxStatus.PENDING,
}

# An agency's electronic seal: requested by the agency head (or proposed by a verifier and confirmed by the agency
# head), approved or rejected by the central RA, issued (key and certificate made), revoked.
SEAL_TRANSITIONS: dict[tuple[SealStatus | None, str], SealStatus] = {
    (None, "propose"): SealStatus.PROPOSED,
    (None, "request"): SealStatus.REQUESTED,
    (SealStatus.PROPOSED, "confirm"): SealStatus.REQUESTED,
    (SealStatus.PROPOSED, "reject"): SealStatus.REJECTED,
    (SealStatus.REQUESTED, "approve"): SealStatus.APPROVED,
    (SealStatus.REQUESTED, "reject"): SealStatus.REJECTED,
    (SealStatus.APPROVED, "issue"): SealStatus.ISSUE,
    (SealStatus.ISSUE, "revoke"): SealStatus.REVOKE,
}

TABLES = {"account": ACCOUNT_TRANSITIONS, "certificate": CERTIFICATE_TRANSITIONS,
          "data_change": DATA_CHANGE_TRANSITIONS, "workflow": WORKFLOW_TRANSITIONS, "outbox": OUTBOX_TRANSITIONS,
          "seal": SEAL_TRANSITIONS}
FIELDS = {"data_change": "state"}  # the status column of each kind, when it is not ``status``
SUBJECTS = {"workflow": "public_id"}  # the column the audit trail names a row by, when it is not ``id``
# Kinds whose moves write no audit event: an outbox message moves several times per delivery (the trail would
# flood) and keeps its own attempts, last error and sent time; the change that queued it is audited.
UNAUDITED = frozenset({"outbox"})
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
    *,
    values: dict | None = None,
    guard: bool = False,
    where: tuple = (),
) -> object:
    """Move ``obj`` (already added to the session) along the table, set ``values`` with it, and write the audit event.

    Kinds in :data:`UNAUDITED` write no audit event. Without a guard the move is flushed at once, so a row
    with a version column that someone else changed first fails here rather than at the commit.

    :param values: other columns written together with the status (e.g. ``completed_at``).
    :param guard: write the move as one compare-and-swap ``UPDATE … WHERE id = :id AND <status> = :current``,
        for rows without a version column that two requests or workers may move at once; ``obj`` then holds
        the stored values.
    :param where: more conditions the guarded ``UPDATE`` must meet (e.g. an expired lease); implies ``guard``.
    :raises Forbidden: the table has no such transition; nothing changes.
    :raises Stale: someone else moved the row first (no row matched the guard, or the version was stale);
        this move is not written, and after a stale version the caller must roll back.
    """
    from .extensions import db
    from .platform.audit import record  # models import this module: import the service late

    field = FIELDS.get(kind, "status")
    current = getattr(obj, field, None)
    try:
        target = TABLES[kind][(current, action)]
    except KeyError:
        raise Forbidden(kind, current, action) from None
    columns = {field: target, **(values or {})}
    if guard or where:
        model = type(obj)
        swap = (update(model).where(model.id == obj.id, getattr(model, field) == current, *where).values(columns)
                .execution_options(synchronize_session=False))
        if db.session.execute(swap).rowcount != 1:
            raise Stale(kind, current, action)
        for name, value in columns.items():
            set_committed_value(obj, name, value)
    else:
        for name, value in columns.items():
            setattr(obj, name, value)
        try:
            db.session.flush()  # a new row also gets its id here, for the audit event
        except StaleDataError:
            raise Stale(kind, current, action) from None
    if kind not in UNAUDITED:
        change = {"from": None if current is None else str(current), "to": str(target)}
        subject = getattr(obj, SUBJECTS.get(kind, "id"))
        record(actor, f"{kind}.{action}", kind, subject, reason, {**change, **(details or {})})
    return target
