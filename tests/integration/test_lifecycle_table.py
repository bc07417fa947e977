"""Every (status, action) pair of the lifecycle: allowed ones move (audited, but the outbox), all others change nothing."""

from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update

from app import lifecycle
from app.extensions import db
from app.lifecycle import (
    AccountStatus,
    CertificateStatus,
    ChangeState,
    Forbidden,
    OutboxStatus,
    SealStatus,
    Stale,
    WorkflowStatus,
)
from app.models import AuditEvent, OutboxMessage
from app.platform.audit import Actor

STATUSES = {"account": [None, *AccountStatus], "certificate": [None, *CertificateStatus],
            "data_change": [None, *ChangeState], "workflow": [None, *WorkflowStatus], "outbox": [None, *OutboxStatus],
            "seal": [None, *SealStatus]}
PAIRS = [
    (kind, status, action)
    for kind, statuses in STATUSES.items()
    for status in statuses
    for action in lifecycle.ACTIONS[kind]
]


@dataclass
class Row:
    """A stand-in with just what ``apply`` reads and writes (``state`` for a data-change request)."""

    id: int
    status: object = None
    state: object = None
    public_id: str = "424242"  # a workflow is named by it in the audit trail

    def current(self, kind: str) -> object:
        """Return the column ``apply`` moves for ``kind``."""
        return getattr(self, lifecycle.FIELDS.get(kind, "status"))


def audit_count() -> int:
    """Return how many audit events exist."""
    return db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def test_every_action_and_status_is_covered():
    assert {"request_update", "confirm_update", "migrate", "suspend", "reactivate"} <= set(lifecycle.ACTIONS["account"])
    assert {"request", "issue", "revoke", "expire"} <= set(lifecycle.ACTIONS["certificate"])
    assert {"request_migration", "sign", "approve", "reject", "confirm", "cancel"} <= set(lifecycle.ACTIONS["data_change"])
    assert set(lifecycle.ACTIONS["workflow"]) == {"create", "sign", "complete", "decline"}
    assert set(lifecycle.ACTIONS["outbox"]) == {"queue", "claim", "deliver", "retry", "fail", "requeue"}
    assert len(PAIRS) == (8 * len(lifecycle.ACTIONS["account"]) + 5 * len(lifecycle.ACTIONS["certificate"])
                          + 7 * len(lifecycle.ACTIONS["data_change"]) + 4 * len(lifecycle.ACTIONS["workflow"])
                          + 5 * len(lifecycle.ACTIONS["outbox"]) + 7 * len(lifecycle.ACTIONS["seal"]))


def test_workflow_and_outbox_moves_are_the_procedures_own():
    assert lifecycle.WORKFLOW_TRANSITIONS == {
        (None, "create"): WorkflowStatus.ACTIVE,
        (WorkflowStatus.ACTIVE, "sign"): WorkflowStatus.ACTIVE,  # signer k < n: still waiting for k + 1
        (WorkflowStatus.ACTIVE, "complete"): WorkflowStatus.COMPLETED,
        (WorkflowStatus.ACTIVE, "decline"): WorkflowStatus.DECLINED,
    }
    assert lifecycle.OUTBOX_TRANSITIONS == {
        (None, "queue"): OutboxStatus.PENDING,
        (OutboxStatus.PENDING, "claim"): OutboxStatus.SENDING,
        (OutboxStatus.SENDING, "claim"): OutboxStatus.SENDING,  # the lease of a worker that died expired
        (OutboxStatus.SENDING, "deliver"): OutboxStatus.SENT,
        (OutboxStatus.SENDING, "retry"): OutboxStatus.PENDING,
        (OutboxStatus.SENDING, "fail"): OutboxStatus.FAILED,
        (OutboxStatus.FAILED, "requeue"): OutboxStatus.PENDING,  # `flask outbox retry`, while its links are valid
    }
    assert lifecycle.UNAUDITED == {"outbox"}


@pytest.mark.parametrize(("kind", "status", "action"), PAIRS, ids=lambda v: str(v))
def test_transition(app_ctx, kind, status, action):
    row = Row(id=424242, **{lifecycle.FIELDS.get(kind, "status"): status})
    before = audit_count()
    target = lifecycle.TABLES[kind].get((status, action))
    if target is None:
        with pytest.raises(Forbidden) as refused:
            lifecycle.apply(row, kind, action, Actor("table-test"), reason="uji")
        assert row.current(kind) == status
        assert audit_count() == before
        assert str(status or lifecycle.NO_STATUS.get(kind, "—")) in refused.value.reason
    elif kind in lifecycle.UNAUDITED:
        assert lifecycle.apply(row, kind, action, Actor("table-test"), reason="uji") == target
        assert row.current(kind) == target
        assert audit_count() == before
    else:
        assert lifecycle.apply(row, kind, action, Actor("table-test"), reason="uji") == target
        assert row.current(kind) == target
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        assert (event.action, event.subject_id, event.reason) == (f"{kind}.{action}", "424242", "uji")
        assert audit_count() == before + 1
    db.session.rollback()


@pytest.fixture()
def stored_message(app_ctx):
    """Return a factory of committed pending outbox messages, deleted after the test so no worker sends them."""
    made = []

    def store() -> OutboxMessage:
        message = OutboxMessage(channel="email", recipient="tabel@contoh.go.id", body="Uji.")
        db.session.add(message)
        lifecycle.apply(message, "outbox", "queue", Actor("table-test"))
        db.session.commit()
        made.append(message.id)
        return message

    yield store
    db.session.rollback()
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(made)))
    db.session.commit()


def test_guarded_move_is_one_compare_and_swap(stored_message):
    message = stored_message()
    before = audit_count()
    lifecycle.apply(message, "outbox", "claim", Actor("table-test"), values={"last_error": "diklaim"}, guard=True)
    assert (message.status, message.last_error) == (OutboxStatus.SENDING, "diklaim")
    assert not db.session.dirty  # the UPDATE already wrote it; the row shows the stored values
    db.session.commit()
    db.session.expire_all()
    assert (message.status, message.last_error) == (OutboxStatus.SENDING, "diklaim")
    assert audit_count() == before


def test_guarded_move_of_a_row_someone_else_moved_first_is_stale(stored_message):
    message = stored_message()
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                       .values(status=OutboxStatus.SENDING).execution_options(synchronize_session=False))
    assert message.status == OutboxStatus.PENDING  # what this request read
    with pytest.raises(Stale) as stale:
        lifecycle.apply(message, "outbox", "claim", Actor("table-test"), guard=True)
    assert stale.value.status == 409 and "baru saja diubah oleh orang lain" in stale.value.message
    assert message.status == OutboxStatus.PENDING
    untouched = stored_message()
    with pytest.raises(Stale):  # the extra conditions must hold too
        lifecycle.apply(untouched, "outbox", "claim", Actor("table-test"),
                        where=(OutboxMessage.next_attempt_at.is_(None),))
    assert untouched.status == OutboxStatus.PENDING
    db.session.rollback()


# The procedures' own list (docs/mission.md "Statuses" and F1-F15), written out here rather than read back from the
# table: (kind, from, action, to), with None for "no row yet" (NOT_REGISTERED, NO_CERTIFICATE, no request).
PROCEDURES = [
    ("account", None, "register", "REGISTERED"),  # F1: registered by the verifier or by oneself; activation link sent
    ("account", "REGISTERED", "submit", "ACTIVATED"),  # F2: the wizard's data sent, waiting for the verifier
    ("account", "REJECTED", "submit", "ACTIVATED"),  # F2: corrected and sent again after a rejection
    ("account", "ACTIVATED", "approve", "VERIFIED"),  # F3: the verifier approves
    ("account", "ACTIVATED", "auto_verify", "VERIFIED"),  # F2: both registries and the selfie match (agency setting)
    ("account", "ACTIVATED", "reject", "REJECTED"),  # F3: the verifier rejects, with a reason
    ("account", "VERIFIED", "request_update", "UPDATE"),  # F13: a data change waits for the subscriber
    ("account", "VERIFIED", "migrate", "UPDATE"),  # F14: a move to another agency waits for the subscriber
    ("account", "UPDATE", "confirm_update", "VERIFIED"),  # F13: the subscriber confirms through the link
    ("account", "UPDATE", "cancel_update", "VERIFIED"),  # F13: the verifier withdraws an unconfirmed change
    ("account", "VERIFIED", "suspend", "SUSPENDED"),  # F15: the central RA blocks a compromised account
    ("account", "UPDATE", "suspend", "SUSPENDED"),  # F15: ... also while a change is pending
    ("account", "SUSPENDED", "reactivate", "VERIFIED"),  # F15: the RA approves the reactivation
    ("certificate", None, "request", "NEW"),  # F4: a set-passphrase link is sent
    ("certificate", None, "issue", "ISSUE"),  # F4, F9, F12: the key and certificate made at once, no NEW row first
    ("certificate", "NEW", "issue", "ISSUE"),  # F4: the passphrase is set
    ("certificate", "ISSUE", "revoke", "REVOKE"),  # F9, F11, F13: revoked (reset, by request, a data change)
    ("certificate", "ISSUE", "expire", "EXPIRED"),  # F12: the validity ends
    ("data_change", None, "request_update", "PENDING_SUBSCRIBER"),  # F13: the verifier's change, to be confirmed
    ("data_change", None, "request_migration", "WAITING_AGENCY_HEAD"),  # F14: the migration form, to be signed
    ("data_change", "WAITING_AGENCY_HEAD", "sign", "WAITING_RA"),  # F14: the agency head signs the form
    ("data_change", "WAITING_AGENCY_HEAD", "cancel", "CANCELLED"),  # F14: withdrawn before the signature
    ("data_change", "WAITING_RA", "cancel", "CANCELLED"),  # F14: withdrawn before the RA decides
    ("data_change", "WAITING_RA", "approve", "PENDING_SUBSCRIBER"),  # F14: the central RA approves the ticket
    ("data_change", "WAITING_RA", "reject", "REJECTED"),  # F14: the central RA rejects it, with a reason
    ("data_change", "PENDING_SUBSCRIBER", "confirm", "APPLIED"),  # F13, F14: the subscriber confirms
    ("data_change", "PENDING_SUBSCRIBER", "cancel", "CANCELLED"),  # F13: the verifier withdraws it
]


def test_the_table_is_exactly_what_the_procedures_allow():
    procedures = set(PROCEDURES)
    table = {
        (kind, None if status is None else str(status), action, str(target))
        for kind in ("account", "certificate", "data_change")
        for (status, action), target in lifecycle.TABLES[kind].items()
    }
    assert len(procedures) == len(PROCEDURES), "a transition is written twice"
    assert sorted(procedures - table, key=str) == [], "the procedures allow these, the table does not"
    assert sorted(table - procedures, key=str) == [], "the table allows these, the procedures do not"
