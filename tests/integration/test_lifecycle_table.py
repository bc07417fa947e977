"""Every (status, action) pair of the lifecycle: allowed ones move and are audited, all others change nothing."""

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from app import lifecycle
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus, ChangeState, Forbidden
from app.models import AuditEvent
from app.platform.audit import Actor

STATUSES = {"account": [None, *AccountStatus], "certificate": [None, *CertificateStatus],
            "data_change": [None, *ChangeState]}
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
    assert len(PAIRS) == (8 * len(lifecycle.ACTIONS["account"]) + 5 * len(lifecycle.ACTIONS["certificate"])
                          + 7 * len(lifecycle.ACTIONS["data_change"]))


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
    else:
        assert lifecycle.apply(row, kind, action, Actor("table-test"), reason="uji") == target
        assert row.current(kind) == target
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        assert (event.action, event.subject_id, event.reason) == (f"{kind}.{action}", "424242", "uji")
        assert audit_count() == before + 1
    db.session.rollback()
