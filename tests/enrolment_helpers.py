"""Enrolment through the real forms in tests: an agency with its verifier, registry people, registration, the wizard.

The fixtures (``agency``, ``verifier_client``, ``registered``, ``wizard``) are loaded for the integration
tests by ``tests/integration/conftest.py``.
"""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.domain.accounts import tokens
from app.domain.enrolment import registration, registries
from app.extensions import db
from app.models import Account, AsnRecord, PopulationRecord, Role, SubscriberProfile
from app.platform import notifications
from tests.auth_helpers import sign_in
from tests.conftest import browser_like_client
from tests.subscribers import create_agency, create_staff

HX = {"HX-Request": "true"}


@pytest.fixture()
def agency(app, instance_dir):
    """Return a fresh agency and its verifier: dict(id, code, domain, username, password, secret, add_person).

    ``add_person(photo=None, seed=None)`` puts a synthetic person in both registries (with ``photo`` as the
    registry photo) and returns (person, servant).
    """
    row = create_agency(app, "T", "Dinas")
    verifier = create_staff(app, Role.VERIFIER, row.id, authenticator=True, name="Verifikator")
    info = {"id": row.id, "code": row.code, "domain": row.domain, "username": verifier.username,
            "password": verifier.password, "secret": verifier.secret}

    def add_person(photo: bytes | None = None, seed: int | None = None):
        with app.app_context():
            seed = seed if seed is not None else secrets.randbelow(10**9)
            person, servant = registries.demo_people(1, row.code, seed=seed)[0]
            path = None
            if photo:
                folder = Path(instance_dir) / "registry" / "photos"
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{person['nik']}.jpg").write_bytes(photo)
                path = f"registry/photos/{person['nik']}.jpg"
            db.session.add(PopulationRecord(nik=person["nik"], name=person["name"], birth_date=person["birth_date"],
                                            gender=person["gender"], photo_path=path))
            db.session.add(AsnRecord(**servant))
            db.session.commit()
            return person, servant

    info["add_person"] = add_person
    return info


@pytest.fixture()
def verifier_client(app, agency):
    """Return a test client signed in as the agency's verifier."""
    client = browser_like_client(app)
    assert sign_in(client, agency["username"], agency["password"], agency["secret"]).status_code == 302
    return client


def registration_form(person, servant, agency, **changes):
    """Return the registration form for a registry person."""
    form = {"name": person["name"], "nik": person["nik"], "nip": servant["nip"],
            "email": f"{person['nik'][-8:]}@{agency['domain']}", "phone": "081234" + person["nik"][-6:]}
    return {**form, **changes}


def count_accounts(app) -> int:
    """Return how many accounts exist."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Account)).scalar()


@pytest.fixture()
def registered(app, agency, verifier_client):
    """Return a factory registering a registry person by the form: (person, servant, account id, activation token)."""

    def make(photo: bytes | None = None):
        person, servant = agency["add_person"](photo)
        response = verifier_client.post("/verifikator/daftar", data=registration_form(person, servant, agency))
        assert response.status_code == 302, response.get_data(as_text=True)
        with app.app_context():
            account = db.session.execute(
                select(Account).join(SubscriberProfile).where(SubscriberProfile.nik == person["nik"])
            ).scalar_one()
            raw = tokens.issue(account.id, registration.ACTIVATION, registration.ACTIVATION_TTL)
            db.session.commit()
            return person, servant, account.id, raw

    return make


@pytest.fixture()
def wizard(app, registered):
    """Return a factory of registered people's clients in the wizard: (client, person, servant, account id)."""

    def start(photo: bytes | None = None):
        person, servant, account_id, raw = registered(photo)
        client = browser_like_client(app)
        assert client.get(f"/aktivasi/{raw}").status_code == 302
        return client, person, servant, account_id

    return start


def deliver(app) -> None:
    """Send everything the outbox holds that is due, as `flask outbox work` does."""
    with app.app_context():
        for _ in range(50):
            result = notifications.work()
            if not (result.sent or result.retried or result.failed):
                break


def path_of(link: str) -> str:
    """Return the path of an e-mailed link (the test client's cookies belong to its own host)."""
    return urlsplit(link).path


def random_phone() -> str:
    """Return a fresh local mobile number."""
    return f"0815{secrets.randbelow(10**8):08d}"


def finish_wizard(client, person, servant, whatsapp_gateway, selfie: bytes):
    """Fill every wizard step through the forms and send the data; return the submit response."""
    assert client.post("/aktivasi/data-diri", data={"name": person["name"]}, headers=HX).status_code == 200
    phone = random_phone()
    assert client.post("/aktivasi/telepon/kirim", data={"phone": phone}, headers=HX).status_code == 200
    code = re.search(r"\b(\d{6})\b", whatsapp_gateway.wait_for("+62" + phone[1:])["message"]).group(1)
    assert client.post("/aktivasi/telepon/verifikasi", data={"code": code}, headers=HX).status_code == 200
    response = client.post("/aktivasi/kedinasan", data={"employment": "ASN", "nip": servant["nip"]}, headers=HX)
    assert response.status_code == 200, response.get_data(as_text=True)
    upload_selfie(client, selfie)
    return client.post("/aktivasi/kirim", data={"privacy": "1", "agreement": "1"}, headers=HX)


def upload_selfie(client, selfie: bytes, expected: int = 200):
    """Send a selfie in the wizard."""
    response = client.post("/aktivasi/swafoto", data={"selfie": (io.BytesIO(selfie), "selfie.jpg")}, headers=HX,
                           content_type="multipart/form-data")
    assert response.status_code == expected, response.get_data(as_text=True)
    return response
