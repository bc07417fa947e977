"""``POST /api/v2/user/register``: the person is registered in the client's agency their e-mail's domain picks and
gets the activation link; duplicates and other agencies' domains are refused with a clear 4xx, creating nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, Agency, AuditEvent
from tests.api_helpers import make_client
from tests.enrolment_helpers import deliver, path_of
from tests.subscribers import create_agency


def body(person, domain: str, **changes) -> dict:
    """Return a registration body for a registry person."""
    return {"nama": person["name"], "email": f"daftar.{person['nik'][-8:]}@{domain}", "nik": person["nik"],
            "phone": "0812 3456 7890", **changes}


def register(client, headers: dict, data: dict, **extra):
    return client.post("/api/v2/user/register", json=data, headers={**headers, **extra})


def accounts(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(Account.id))).scalar()


def test_register_creates_the_person_in_the_agency_and_mails_the_activation_link(app, client, agency, smtp_server):
    person, _servant = agency["add_person"]()
    name, headers = make_client(app, [agency["id"]])
    data = body(person, agency["domain"])
    response = register(client, headers, data)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["success"] is True and answer["status"] == "WAITING_FOR_VERIFICATION"
    assert answer["email"] == data["email"] and answer["agency"] == agency["code"] and data["email"] in answer["message"]
    with app.app_context():
        account = db.session.execute(select(Account).where(Account.email == data["email"])).scalar_one()
        assert account.status == AccountStatus.REGISTERED and account.agency_id == agency["id"]
        assert account.profile.nik == person["nik"] and account.profile.phone == "+6281234567890"
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "api.register")
                                   .order_by(AuditEvent.id.desc())).scalars().first()
        assert event.actor == name and event.subject_id == str(account.id)
    deliver(app)
    link = path_of(smtp_server.wait_for(data["email"], subject="Aktivasi").link(r"/aktivasi/"))
    assert client.get(link).status_code == 302  # the link opens the activation wizard


def test_the_e_mail_domain_picks_among_the_client_agencies(app, client, agency):
    person, _servant = agency["add_person"]()
    first = create_agency(app, "R", "Dinas Lain")
    _name, headers = make_client(app, [first.id, agency["id"]])
    data = body(person, f"bagian.{agency['domain']}", phone="null")  # a subdomain of the agency's domain
    response = register(client, headers, data)
    assert response.status_code == 200, response.get_json()
    with app.app_context():
        account = db.session.execute(select(Account).where(Account.email == data["email"])).scalar_one()
        assert account.agency_id == agency["id"] and not account.profile.phone


def test_duplicates_are_refused(app, client, agency):
    person, _servant = agency["add_person"]()
    other, _servant = agency["add_person"]()
    _name, headers = make_client(app, [agency["id"]])
    data = body(person, agency["domain"])
    assert register(client, headers, data).status_code == 200
    before = accounts(app)
    same_email = register(client, headers, body(other, agency["domain"], email=data["email"].upper()))
    same_nik = register(client, headers, body(person, agency["domain"], email=f"lain.{person['nik'][-6:]}@{agency['domain']}"))
    assert (same_email.status_code, same_email.get_json()["status_code"]) == (409, 4702)
    assert (same_nik.status_code, same_nik.get_json()["status_code"]) == (409, 4703)
    assert "NIK" in same_nik.get_json()["error"] and "sudah terdaftar" in same_nik.get_json()["error"]
    assert accounts(app) == before


def test_another_agency_domain_is_refused_like_an_unknown_one(app, client, agency):
    person, _servant = agency["add_person"]()
    outside = create_agency(app, "Q", "Dinas Tetangga")
    _name, headers = make_client(app, [agency["id"]])
    before = accounts(app)
    foreign = register(client, headers, body(person, outside.domain))
    unknown = register(client, headers, body(person, "bukan-instansi.example.id"), **{"Accept-Language": "en"})
    assert (foreign.status_code, foreign.get_json()["status_code"]) == (422, 4704)
    assert (unknown.status_code, unknown.get_json()["status_code"]) == (422, 4704)
    assert outside.domain in foreign.get_json()["error"] and "not the domain" in unknown.get_json()["error"]
    assert accounts(app) == before


def test_invalid_and_missing_values_and_the_request_letter_rule(app, client, agency):
    person, _servant = agency["add_person"]()
    _name, headers = make_client(app, [agency["id"]])
    bad_nik = register(client, headers, body(person, agency["domain"], nik="12345"))
    assert (bad_nik.status_code, bad_nik.get_json()["field"]) == (400, "nik")
    no_name = register(client, headers, body(person, agency["domain"], nama=""))
    assert (no_name.status_code, no_name.get_json()["field"]) == (400, "nama")
    with app.app_context():
        db.session.get(Agency, agency["id"]).requires_request_letter = True
        db.session.commit()
    letter = register(client, headers, body(person, agency["domain"]))
    assert (letter.status_code, letter.get_json()["status_code"]) == (409, 4705)
    assert register(client, {}, body(person, agency["domain"])).status_code == 401
