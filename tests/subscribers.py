"""Factories of the people tests need: agencies, staff (verifiers, agency heads, ...), subscribers holding an
ISSUE certificate made through the services, and test clients signed in as any of them.

Signing in injects the Flask-Login session (the login pages have their own tests): ``_user_id`` is
``account.get_id()``. The client then picks up a CSRF token from a public page and sends it with every
request, as the pages do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import lifecycle
from app.domain import keys
from app.domain.accounts.passwords import hash_password
from app.domain.enrolment import issuance
from app.domain.signing import signatures
from app.extensions import db
from app.models import Account, Agency, Employment, Role, SubscriberProfile
from app.models.types import utcnow
from app.platform.audit import Actor
from tests.auth_helpers import give_authenticator, send_csrf

PASSPHRASE = "Rahasia#Tanda2026"


@dataclass(frozen=True)
class AgencyRef:
    """An agency made for a test."""

    id: int
    code: str
    name: str
    domain: str


def add_agency(prefix: str = "S", name: str = "Dinas Uji") -> Agency:
    """Add a new agency with a unique code, named ``name`` and its code, in the caller's transaction (flushed)."""
    code = prefix + secrets.token_hex(4).upper()
    agency = Agency(code=code, name=f"{name} {code}", email_domain=f"{code.lower()}.go.id")
    db.session.add(agency)
    db.session.flush()
    return agency


def create_agency(app: Flask, prefix: str = "S", name: str = "Dinas Uji") -> AgencyRef:
    """Create a committed agency (see :func:`add_agency`)."""
    with app.app_context():
        agency = add_agency(prefix, name)
        db.session.commit()
        return AgencyRef(agency.id, agency.code, agency.name, agency.email_domain)


@dataclass(frozen=True)
class Subscriber:
    """A subscriber made for a test: what a test needs to act as them and to check what they signed."""

    id: int
    user_id: str
    name: str
    display_name: str
    position: str
    email: str
    passphrase: str
    certificate_id: int | None
    agency_id: int
    nip: str


def create_subscriber(
    app: Flask,
    name: str = "Siti Rahmawati",
    position: str = "Kepala Subbagian Umum",
    front_title: str = "",
    back_title: str = "",
    passphrase: str = PASSPHRASE,
    agency_id: int | None = None,
    certificate: bool = True,
) -> Subscriber:
    """Create a VERIFIED subscriber (of a new agency unless ``agency_id``) with an ISSUE certificate (as ``app/demo.py`` does)."""
    actor = Actor("test")
    with app.app_context():
        if agency_id is None:
            agency = add_agency()
        else:
            agency = db.session.get(Agency, agency_id)
        tag = secrets.token_hex(4)
        account = Account(role=Role.SUBSCRIBER, agency_id=agency.id, email=f"{tag}@{agency.email_domain}",
                          username=f"s{tag}", name=name)
        account.agency = agency
        db.session.add(account)
        for action in ("register", "submit", "approve"):
            lifecycle.apply(account, "account", action, actor)
        now = utcnow()
        db.session.add(SubscriberProfile(
            account_id=account.id, nik="".join(str(secrets.randbelow(10)) for _ in range(16)),
            nip="19800101" + "".join(str(secrets.randbelow(10)) for _ in range(10)), name=name,
            front_title=front_title, back_title=back_title, employment=Employment.ASN, unit="Bagian Umum",
            position=position, province="Bali", consent_privacy_at=now, consent_agreement_at=now, submitted_at=now,
            wizard_step=5, wizard_data={},
        ))
        db.session.flush()
        certificate_id = None
        if certificate:
            row = keys.issue_subscriber_certificate(issuance.subject_of(account), passphrase, actor, email=account.email)
            row.account_id = account.id
            db.session.flush()
            certificate_id = row.id
        db.session.commit()
        return Subscriber(
            id=account.id, user_id=account.get_id(), name=name, display_name=signatures.display_name(account),
            position=position, email=account.email, passphrase=passphrase, certificate_id=certificate_id,
            agency_id=agency.id, nip=account.profile.nip,
        )


@dataclass(frozen=True)
class Staff:
    """A staff account made for a test: its id, its session id (``Account.get_id()``), its sign-in and
    its authenticator's base32 secret (None when it has none yet)."""

    id: int
    user_id: str
    username: str
    password: str
    secret: str | None = None


def create_staff(app: Flask, role: Role, agency_id: int | None = None, authenticator: bool = False,
                 name: str | None = None) -> Staff:
    """Create a committed staff account (verifier, central RA, agency head or admin) with a portal password,
    and with a confirmed authenticator device when ``authenticator``."""
    with app.app_context():
        tag = secrets.token_hex(4)
        password = "Staf#" + tag
        account = Account(role=role, agency_id=agency_id, email=f"st-{tag}@paraf.test", username=f"st-{tag}",
                          password_hash=hash_password(password), name=name or f"Petugas {tag}")
        db.session.add(account)
        db.session.flush()
        secret = give_authenticator(account) if authenticator else None
        db.session.commit()
        return Staff(account.id, account.get_id(), account.username, password, secret)


def create_agency_head(app: Flask, agency_id: int) -> Subscriber:
    """Create the agency's head: a subscriber of the agency with an ISSUE certificate and the agency head's role."""
    head = create_subscriber(app, name="Ketut Wedari", position="Kepala Dinas", agency_id=agency_id)
    with app.app_context():
        db.session.get(Account, head.id).role = Role.AGENCY_HEAD
        db.session.commit()
    return head


def signed_in_client(app: Flask, user_id: str) -> FlaskClient:
    """Return a test client signed in as ``user_id`` (``account.get_id()``) that sends the CSRF token."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return send_csrf(client)


@pytest.fixture()
def make_subscriber_with_certificate(app: Flask):
    """Return a factory: ``make(name=..., position=..., front_title=..., back_title=..., passphrase=...)``."""

    def make(**options) -> Subscriber:
        return create_subscriber(app, **options)

    return make


@pytest.fixture()
def subscriber_with_certificate(make_subscriber_with_certificate) -> Subscriber:
    """Return a fresh subscriber (own agency) holding an ISSUE certificate."""
    return make_subscriber_with_certificate()
