"""Agency seals for tests: an issued seal with two custodians and an allowed API client, and the codes they receive."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from app.domain.seals import requests
from app.extensions import db
from app.models import Account, ApiClient, OutboxMessage, Role, Seal
from app.platform import notifications
from app.platform.audit import Actor
from tests.api_helpers import make_client
from tests.subscribers import create_agency, create_agency_head, create_staff, create_subscriber

SEAL_NAME = "Segel Surat Keluar"
CODE = re.compile(r"\b(\d{8})\b")


@dataclass(frozen=True)
class SealCase:
    """An issued seal: its ``idSubscriber``, custodians (head, staff), the allowed client's headers, an outsider's."""

    seal_id: int
    id_subscriber: str
    agency_id: int
    agency_name: str
    head_id: int
    head_email: str
    staff_id: int
    staff_email: str
    headers: dict
    client_name: str
    outsider_headers: dict  # a client of another agency
    neighbour_headers: dict  # a client of the same agency the seal does not allow


def issue_seal(app: Flask) -> SealCase:
    """Create an agency whose head requests a seal (a staff member as second custodian), approved and issued."""
    agency = create_agency(app, name="Dinas Komunikasi dan Informatika")
    head = create_agency_head(app, agency.id)
    staff = create_subscriber(app, name="Made Arsana", position="Sekretaris", agency_id=agency.id, certificate=False)
    ra = create_staff(app, Role.CENTRAL_RA)
    client_name, headers = make_client(app, [agency.id])
    _neighbour, neighbour_headers = make_client(app, [agency.id])
    _outsider, outsider_headers = make_client(app, [create_agency(app).id])
    actor = Actor("test")
    with app.app_context():
        client = db.session.execute(select(ApiClient).where(ApiClient.name == client_name)).scalar_one()
        seal = requests.request_seal(agency.id, SEAL_NAME, db.session.get(Account, head.id), actor,
                                     custodian_ids=[staff.id], client_ids=[client.id])
        requests.approve_seal(seal, db.session.get(Account, ra.id), actor)
        requests.issue_seal(seal, actor)
        db.session.commit()
        return SealCase(seal.id, seal.id_subscriber, agency.id, agency.name, head.id, head.email, staff.id, staff.email,
                        headers, client_name, outsider_headers, neighbour_headers)


@pytest.fixture()
def seal_case(app: Flask) -> SealCase:
    """Return a newly issued seal."""
    return issue_seal(app)


def code_sent_to(app: Flask, account_id: int) -> str:
    """Return the activation code in the newest outbox message to a custodian (read from its sealed links)."""
    with app.app_context():
        message = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.account_id == account_id).order_by(OutboxMessage.id.desc())
        ).scalars().first()
        return notifications.links_of(message)["code"]


def code_in(text: str) -> str:
    """Return the eight-digit code in a message's text."""
    return CODE.search(text).group(1)


def seal_row(app: Flask, seal_id: int) -> Seal:
    """Return the seal's row, detached, as stored now."""
    with app.app_context():
        seal = db.session.get(Seal, seal_id)
        db.session.expunge(seal)
        return seal
