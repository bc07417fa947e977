"""The demo data set (`flask demo seed`): an agency with its verifier, a subscriber and the agency head (both holding an
ISSUE certificate), a central RA, an admin, a registry, and an integration API client scoped to the agency.

Every account gets a confirmed authenticator; its base32 secret goes into demo-accounts.json (``totp_secret``).
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
from .domain.accounts import api_clients, authenticators
from .domain.accounts.passwords import hash_password, one_time_password
from .domain.enrolment import issuance, registries
from .extensions import db
from .models import Account, Agency, AsnRecord, Employment, PopulationRecord, Role, SubscriberProfile
from .models.types import utcnow
from .platform.audit import Actor

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
    credentials = {
        "verifier": _staff(Role.VERIFIER, "verifikator", "Verifikator Demo", agency),
        "central_ra": _staff(Role.CENTRAL_RA, "ra.pusat", "RA Pusat Demo", None),
        "admin": _staff(Role.ADMIN, "admin", "Admin Demo", None),
    }
    subscriber = _certified(Role.SUBSCRIBER, "pengguna.demo", agency, *people[0], actor)
    head = _certified(Role.AGENCY_HEAD, "pimpinan.demo", agency, *people[1], actor)
    _client, api_credentials = api_clients.create("Aplikasi Demo", [AGENCY[0]], actor)
    return {
        **credentials,
        "subscriber": subscriber,
        "agency_head": head,
        "api_client": {"username": api_credentials.client_id, "password": api_credentials.secret},
    }


def _staff(role: Role, username: str, name: str, agency: Agency | None) -> dict:
    """Create a staff account with a confirmed authenticator; return its credentials."""
    password = one_time_password()
    domain = agency.email_domain if agency else "paraf.local"
    account = Account(role=role, agency_id=agency.id if agency else None, email=f"{username}@{domain}", username=username,
                      password_hash=hash_password(password), name=name)
    db.session.add(account)
    db.session.flush()
    _device, secret = authenticators.provision(account, "Demo")
    return {"username": username, "password": password, "totp_secret": secret}


def _certified(role: Role, username: str, agency: Agency, person: dict, servant: dict, actor: Actor) -> dict:
    """Create a verified account of ``agency`` holding an ISSUE certificate; return its credentials."""
    from .domain import keys

    password, passphrase = one_time_password(), "Demo#" + secrets.token_hex(4) + "Aa"
    account = Account(role=role, agency_id=agency.id, email=f"{username}@{agency.email_domain}", username=username,
                      password_hash=hash_password(password), name=person["name"])
    account.agency = agency
    db.session.add(account)
    for action in ("register", "submit", "approve"):
        lifecycle.apply(account, "account", action, actor)
    now = utcnow()
    db.session.add(SubscriberProfile(
        account_id=account.id, nik=person["nik"], nip=servant["nip"], name=person["name"], birth_date=person["birth_date"],
        gender=person["gender"], phone=f"+62812345{account.id:04d}", phone_verified_at=now, employment=Employment.ASN,
        unit=servant["unit"], position=servant["position"], province=servant["province"], population_match=True,
        asn_match=True, consent_privacy_at=now, consent_agreement_at=now, submitted_at=now, wizard_step=5, wizard_data={},
    ))
    db.session.flush()
    certificate = keys.issue_subscriber_certificate(issuance.subject_of(account), passphrase, actor, email=account.email)
    certificate.account_id = account.id
    _device, secret = authenticators.provision(account, "Demo")
    return {"nik": person["nik"], "email": account.email, "passphrase": passphrase, "username": username,
            "password": password, "totp_secret": secret}


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
