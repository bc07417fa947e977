"""Self-registration (`/daftar`): a civil servant in the population registry with an agency e-mail gets an activation link."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, Agency, OutboxMessage, SubscriberProfile
from tests.conftest import browser_like_client
from tests.enrolment_helpers import deliver, path_of


def form(person, domain: str, **changes) -> dict:
    """Return the self-registration form for a registry person."""
    return {"nik": person["nik"], "registry_email": f"{person['nik'][-6:]}@mail.example.id",
            "agency_email": f"mandiri.{person['nik'][-8:]}@{domain}", **changes}


def counts(app, email: str) -> tuple[int, int, int]:
    """Return (accounts, profiles, queued messages to ``email``)."""
    with app.app_context():
        def count(model, *where):
            return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar()

        return count(Account), count(SubscriberProfile), count(OutboxMessage, OutboxMessage.recipient == email)


def test_self_registration_sends_an_activation_link(app, agency, smtp_server):
    person, _servant = agency["add_person"]()
    data = form(person, agency["domain"])
    response = browser_like_client(app).post("/daftar", data=data)
    assert response.status_code == 200
    assert "Tautan aktivasi sudah dikirim" in response.get_data(as_text=True)
    with app.app_context():
        account = db.session.execute(select(Account).where(Account.email == data["agency_email"])).scalar_one()
        assert account.status == AccountStatus.REGISTERED and account.agency_id == agency["id"]
        assert account.name == person["name"] and account.profile.nik == person["nik"]
        assert account.profile.registry_email == data["registry_email"]
    deliver(app)
    link = path_of(smtp_server.wait_for(data["agency_email"], subject="Aktivasi").link(r"/aktivasi/"))
    subscriber = browser_like_client(app)
    assert subscriber.get(link).status_code == 302
    assert person["nik"] in subscriber.get("/aktivasi").get_data(as_text=True)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("foreign_domain", "tidak terdaftar pada instansi mana pun"),
        ("not_in_registry", "NIK tidak ditemukan di data kependudukan"),
        ("bad_nik", "NIK"),
        ("bad_email", "Alamat e-mail tidak valid"),
        ("already_registered", "sudah terdaftar"),
    ],
)
def test_self_registration_refusals_create_nothing(app, agency, case, message):
    person, _servant = agency["add_person"]()
    client = browser_like_client(app)
    if case == "already_registered":
        assert client.post("/daftar", data=form(person, agency["domain"])).status_code == 200
        data = form(person, agency["domain"], agency_email=f"lagi.{person['nik'][-6:]}@{agency['domain']}")
    else:
        unknown_nik = person["nik"][:-4] + f"{int(person['nik'][-4:]) % 9999 + 1:04d}"
        data = form(person, agency["domain"], **{
            "foreign_domain": {"agency_email": f"budi@bukan-{secrets.token_hex(3)}.go.id"},
            "not_in_registry": {"nik": unknown_nik},
            "bad_nik": {"nik": "12345"},
            "bad_email": {"agency_email": "budi-at-dinas"},
        }[case])
    before = counts(app, data["agency_email"])
    response = client.post("/daftar", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(app, data["agency_email"]) == before


def test_self_registration_picks_the_most_specific_agency_domain(app, agency):
    person, _servant = agency["add_person"]()
    with app.app_context():
        parent = Agency(code="P" + secrets.token_hex(3), name="Kementerian Induk", email_domain=f"induk{secrets.token_hex(3)}.go.id")
        db.session.add(parent)
        db.session.flush()
        child = Agency(code="C" + secrets.token_hex(3), name="Direktorat Anak", email_domain=f"anak.{parent.email_domain}")
        db.session.add(child)
        db.session.commit()
        child_id, child_domain = child.id, child.email_domain
    data = form(person, child_domain)
    assert browser_like_client(app).post("/daftar", data=data).status_code == 200
    with app.app_context():
        account = db.session.execute(select(Account).where(Account.email == data["agency_email"])).scalar_one()
        assert account.agency_id == child_id
