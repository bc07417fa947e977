"""Two central-RA officers decide one migration ticket at the same time: exactly one decision stands.

Both officers open the ticket (the same version) before either decides; the first decision is committed,
then the second is made from what its officer read. The ticket's version column refuses the second.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app import lifecycle
from app.domain.certificates import data_changes
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus, ChangeState
from app.models import Account, AuditEvent, Certificate, DataChange, Role
from app.models.types import utcnow
from app.platform.audit import Actor
from tests.subscribers import create_agency, create_staff, create_subscriber, signed_in_client

REFUSAL = "baru saja diubah oleh orang lain"
OUTCOME = {"approve": ChangeState.PENDING_SUBSCRIBER, "reject": ChangeState.REJECTED}


def waiting_ticket(app) -> tuple[int, int, int]:
    """Return (ticket id, subscriber id, target agency id) of a migration ticket waiting for the central RA."""
    person = create_subscriber(app, name="Rina Kusumawati")
    verifier = create_staff(app, Role.VERIFIER, person.agency_id)
    target = create_agency(app, "T", "Dinas Perhubungan")
    actor = Actor("test")
    with app.app_context():
        form = {"agency": str(target.id), "email": f"rina.kusumawati@{target.domain}", "position": "Kepala Seksi"}
        change = data_changes.start_migration(db.session.get(Account, person.id), form, actor,
                                              db.session.get(Account, verifier.id))
        change.signed_at = utcnow()  # the agency head's signature has its own tests: put the ticket in the RA's queue
        lifecycle.apply(change, "data_change", "sign", actor)
        db.session.commit()
        return change.id, person.id, target.id


def decide(client, change_id: int, action: str):
    """Post one RA decision on the ticket page."""
    path = {"approve": "setujui", "reject": "tolak"}[action]
    return client.post(f"/ra/perubahan-data/{change_id}/{path}", data={"reason": "Formulir tidak lengkap"})


@pytest.mark.parametrize(("first", "second"), [("approve", "reject"), ("reject", "approve"), ("approve", "approve")])
def test_two_concurrent_decisions_on_one_ticket_only_the_first_stands(app, monkeypatch, first, second):
    change_id, person_id, target_id = waiting_ticket(app)
    officers = [create_staff(app, Role.CENTRAL_RA) for _ in range(2)]
    clients = [signed_in_client(app, officer.user_id) for officer in officers]
    both_read = threading.Barrier(2, timeout=60)
    first_committed = threading.Event()

    def in_turn(decision):
        def held(*args, **kwargs):
            both_read.wait()  # each request has loaded the ticket: both hold the same version
            if threading.current_thread().name == "second":
                assert first_committed.wait(60)
            return decision(*args, **kwargs)

        return held

    monkeypatch.setattr(data_changes, "approve", in_turn(data_changes.approve))
    monkeypatch.setattr(data_changes, "reject", in_turn(data_changes.reject))
    responses = {}

    def officer(name: str, client, action: str):
        responses[name] = decide(client, change_id, action)  # the request's transaction is settled when it returns
        if name == "first":
            first_committed.set()

    threads = [threading.Thread(target=officer, name=name, args=(name, client, action))
               for name, client, action in (("first", clients[0], first), ("second", clients[1], second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert responses["first"].status_code == 303, responses["first"].get_data(as_text=True)
    refused = responses["second"]
    assert refused.status_code == 409 and REFUSAL in refused.get_data(as_text=True)
    with app.app_context():
        change = db.session.get(DataChange, change_id)
        assert (change.state, change.decided_by_id) == (OUTCOME[first], officers[0].id)
        decisions = db.session.execute(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "data_change", AuditEvent.subject_id == str(change_id))
            .where(AuditEvent.action.in_(("data_change.approve", "data_change.reject")))
        ).scalars().all()
        assert decisions == [f"data_change.{first}"]
        account = db.session.get(Account, person_id)
        migrations = db.session.execute(
            select(AuditEvent.id).where(AuditEvent.action == "account.migrate", AuditEvent.subject_id == str(person_id))
        ).all()
        certificates = db.session.execute(
            select(Certificate.status).where(Certificate.account_id == person_id)
        ).scalars().all()
        if first == "approve":
            assert (account.status, account.agency_id, len(migrations)) == (AccountStatus.UPDATE, target_id, 1)
            assert certificates == [CertificateStatus.REVOKE]
        else:
            assert (account.status, len(migrations)) == (AccountStatus.VERIFIED, 0)
            assert account.agency_id != target_id and certificates == [CertificateStatus.ISSUE]
