"""The demo data set (`flask demo seed`): an agency, a verifier, a subscriber holding an ISSUE certificate, a registry,
and an integration API client scoped to the agency.

Both accounts get a confirmed authenticator; its base32 secret goes into demo-accounts.json (``totp_secret``).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from . import lifecycle
from .extensions import db
from .models import Account, Agency, AsnRecord, Employment, PopulationRecord, Role, SubscriberProfile
from .models.types import utcnow
from .services import api_clients, authenticators, issuance, registries
from .services.audit import Actor
from .services.passwords import hash_password, one_time_password

demo_cli = AppGroup("demo", help="Demo data.")
AGENCY = ("DEMO", "Pemerintah Kota Demo", "demo.go.id")


def seed() -> dict:
    """Create the demo data set once and return the credentials to write to demo-accounts.json."""
    actor = Actor("demo-seed")
    agency = Agency(code=AGENCY[0], name=AGENCY[1], email_domain=AGENCY[2], auto_verify=False)
    db.session.add(agency)
    db.session.flush()
    people = registries.demo_people(40, AGENCY[0], seed=2026)
    for person, servant in people:
        db.session.add(PopulationRecord(**{k: person[k] for k in ("nik", "name", "birth_date", "gender")}, photo_path=None))
        db.session.add(AsnRecord(**servant))
    verifier_password = one_time_password()
    verifier = Account(role=Role.VERIFIER, agency_id=agency.id, email=f"verifikator@{AGENCY[2]}", username="verifikator",
                       password_hash=hash_password(verifier_password), name="Verifikator Demo")
    db.session.add(verifier)
    db.session.flush()
    _device, verifier_secret = authenticators.provision(verifier, "Demo")

    person, servant = people[0]
    subscriber_password, passphrase = one_time_password(), "Demo#" + secrets.token_hex(4) + "Aa"
    username = "pengguna.demo"
    subscriber = Account(role=Role.SUBSCRIBER, agency_id=agency.id, email=f"{username}@{AGENCY[2]}", username=username,
                         password_hash=hash_password(subscriber_password), name=person["name"])
    subscriber.agency = agency
    db.session.add(subscriber)
    for action in ("register", "submit", "approve"):
        lifecycle.apply(subscriber, "account", action, actor)
    now = utcnow()
    db.session.add(SubscriberProfile(
        account_id=subscriber.id, nik=person["nik"], nip=servant["nip"], name=person["name"], birth_date=person["birth_date"],
        gender=person["gender"], phone="+628123450000", phone_verified_at=now, employment=Employment.ASN,
        unit=servant["unit"], position=servant["position"], province=servant["province"], population_match=True,
        asn_match=True, consent_privacy_at=now, consent_agreement_at=now, submitted_at=now, wizard_step=5, wizard_data={},
    ))
    db.session.flush()
    from .services import pki

    certificate = pki.issue_subscriber_certificate(issuance.subject_of(subscriber), passphrase, actor, email=subscriber.email)
    certificate.account_id = subscriber.id
    _device, subscriber_secret = authenticators.provision(subscriber, "Demo")
    _client, api_credentials = api_clients.create("Aplikasi Demo", [AGENCY[0]], actor)
    return {
        "verifier": {"username": "verifikator", "password": verifier_password, "totp_secret": verifier_secret},
        "subscriber": {"nik": person["nik"], "email": subscriber.email, "passphrase": passphrase, "username": username,
                       "password": subscriber_password, "totp_secret": subscriber_secret},
        "api_client": {"username": api_credentials.client_id, "password": api_credentials.secret},
    }


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create the demo data set and instance/demo-accounts.json (once; a second run changes nothing)."""
    path = Path(current_app.instance_path) / "demo-accounts.json"
    if db.session.execute(select(Agency).where(Agency.code == AGENCY[0])).first():
        click.echo(f"demo data already present; credentials in {path}")
        return
    credentials = seed()
    db.session.commit()
    path.write_text(json.dumps(credentials, indent=2))
    path.chmod(0o600)
    click.echo(f"demo data created; credentials in {path}")
