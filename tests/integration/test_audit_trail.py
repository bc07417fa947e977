"""The audit trail of enrolment: who did what, for which agency, from where; security events; an intact chain."""

from __future__ import annotations

import io
import json
import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import or_, select

from app.domain.accounts import tokens
from app.domain.enrolment import registration
from app.extensions import db
from app.models import Account, Agency, AuditEvent, LinkToken
from app.models.audit import HSM_HMAC
from tests.auth_helpers import sign_in
from tests.conftest import browser_like_client
from tests.enrolment_helpers import HX, finish_wizard, random_phone, registration_form

IP = "127.0.0.1"  # the test client's address


def events(app, account_id: int | None = None, action: str | None = None) -> list[dict]:
    """Return audit events (optionally of one account and/or action), oldest first, as plain dicts."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if account_id is not None:
            query = query.where(AuditEvent.subject_id == str(account_id))
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return [{"actor": e.actor, "action": e.action, "agency_id": e.agency_id, "ip": e.ip, "reason": e.reason,
                 "subject_type": e.subject_type, "details": json.loads(e.details)} for e in db.session.execute(query).scalars()]


def one(app, account_id: int | None, action: str) -> dict:
    """Return the single event of ``action`` for an account."""
    found = events(app, account_id, action)
    assert len(found) == 1, (action, found)
    return found[0]


def verifier_id(app, agency) -> int:
    """Return the account id of the agency's verifier."""
    with app.app_context():
        return db.session.execute(select(Account.id).where(Account.username == agency["username"])).scalar_one()


def assert_chain_intact(runner) -> None:
    """Run `flask audit verify` and expect an intact chain, every event of it keyed by the HSM."""
    result = runner.invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output) == (0, "audit chain intact\n")
    with runner.app.app_context():
        assert db.session.execute(select(AuditEvent.scheme).distinct()).scalars().all() == [HSM_HMAC]


def test_enrolment_decisions_and_logins_are_audited(app, runner, agency, wizard, verifier_client, face_photos, whatsapp_gateway,
                                                    smtp_server):
    verifier = agency["username"]
    login_event = events(app, verifier_id(app, agency), "auth.login")[-1]
    assert login_event == {**login_event, "actor": verifier, "agency_id": agency["id"], "ip": IP}

    bad = browser_like_client(app)
    assert sign_in(bad, agency["username"], "salah-sekali").status_code == 401
    failed = events(app, verifier_id(app, agency), "auth.login_failed")[-1]
    assert failed == {**failed, "actor": "anonymous", "agency_id": agency["id"], "ip": IP}
    nobody = f"tidak-ada-{secrets.token_hex(3)}"
    assert sign_in(bad, nobody, "apa saja").status_code == 401
    assert not any(nobody in json.dumps(event) for event in events(app, action="auth.login_failed"))

    # registered by the verifier, submitted by the subscriber, rejected, submitted again, approved
    client, person, servant, account_id = wizard(face_photos["obama"])
    assert one(app, account_id, "account.register") == {
        **one(app, account_id, "account.register"), "actor": verifier, "agency_id": agency["id"], "ip": IP}
    opened = events(app, account_id, "account.activation_opened")[-1]
    assert opened["agency_id"] == agency["id"] and opened["ip"] == IP
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    email = registration_form(person, servant, agency)["email"]
    submitted = one(app, account_id, "account.submit")
    assert submitted == {**submitted, "actor": f"subscriber:{email}", "agency_id": agency["id"], "ip": IP}

    reason = "NIP pada data kedinasan perlu diperiksa ulang."
    assert verifier_client.post(f"/verifikator/akun/{account_id}/tolak", data={"reason": reason}, headers=HX).status_code == 200
    rejected = one(app, account_id, "account.reject")
    assert rejected == {**rejected, "actor": verifier, "agency_id": agency["id"], "ip": IP, "reason": reason}
    assert rejected["details"] == {"from": "ACTIVATED", "to": "REJECTED"}

    assert client.post("/aktivasi/kirim", data={"privacy": "1", "agreement": "1"}, headers=HX).status_code == 200
    assert len(events(app, account_id, "account.submit")) == 2
    assert verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX).status_code == 200
    approved = one(app, account_id, "account.approve")
    assert approved == {**approved, "actor": verifier, "agency_id": agency["id"], "ip": IP}
    assert [e["action"] for e in events(app, account_id) if e["action"].startswith("account.")] == [
        "account.register", "account.activation_opened", "account.submit", "account.reject", "account.resend_activation",
        "account.submit", "account.approve",
    ]
    assert_chain_intact(runner)


def test_self_registration_and_auto_verification_are_audited(app, runner, agency, wizard, face_photos, whatsapp_gateway, smtp_server):
    person, _servant = agency["add_person"]()
    email = f"mandiri.{person['nik'][-8:]}@{agency['domain']}"
    data = {"nik": person["nik"], "registry_email": "pribadi@mail.example.id", "agency_email": email}
    assert browser_like_client(app).post("/daftar", data=data).status_code == 200
    with app.app_context():
        account_id = db.session.execute(select(Account.id).where(Account.email == email)).scalar_one()
    registered = one(app, account_id, "account.register")
    assert registered == {**registered, "actor": "self-registration", "agency_id": agency["id"], "ip": IP}

    with app.app_context():
        db.session.get(Agency, agency["id"]).auto_verify = True
        db.session.commit()
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    automatic = one(app, account_id, "account.auto_verify")
    assert automatic == {**automatic, "actor": "system:auto-verify", "agency_id": agency["id"], "ip": IP}
    assert one(app, account_id, "certificate.set_passphrase_link_sent")["agency_id"] == agency["id"]
    assert_chain_intact(runner)


def test_wrong_and_locked_otp_are_audited_without_the_code(app, runner, agency, wizard, whatsapp_gateway):
    client, person, servant, account_id = wizard()
    assert client.post("/aktivasi/data-diri", data={"name": person["name"]}, headers=HX).status_code == 200
    phone = random_phone()
    client.post("/aktivasi/telepon/kirim", data={"phone": phone}, headers=HX)
    code = re.search(r"\b(\d{6})\b", whatsapp_gateway.wait_for("+62" + phone[1:])["message"]).group(1)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(6):
        assert client.post("/aktivasi/telepon/verifikasi", data={"code": wrong}, headers=HX).status_code == 422
    tries = events(app, account_id, "account.otp_wrong")
    assert [e["details"] for e in tries] == [{"remaining": n} for n in (4, 3, 2, 1)]
    assert all(e["agency_id"] == agency["id"] and e["ip"] == IP for e in tries)
    locked = events(app, account_id, "account.otp_locked")
    assert len(locked) == 2  # the fifth wrong try, and a try on the locked code
    everything = json.dumps(events(app, account_id))
    assert code not in everything and wrong not in everything
    assert_chain_intact(runner)


def test_refused_links_are_audited(app, runner, agency, registered):
    person, servant, account_id, raw = registered()
    assert browser_like_client(app).get(f"/aktivasi/{raw}").status_code == 302
    assert browser_like_client(app).get(f"/aktivasi/{raw}").status_code == 410
    used = one(app, account_id, "link.refused")
    assert used == {**used, "reason": "used", "agency_id": agency["id"], "ip": IP, "details": {"purpose": "activation"}}

    with app.app_context():
        first = tokens.issue(account_id, "activation", timedelta(hours=24))
        second = tokens.issue(account_id, "activation", timedelta(hours=24))
        token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == tokens.hash_token(second))).scalar_one()
        token.expires_at -= timedelta(hours=25)
        db.session.commit()
    assert browser_like_client(app).get(f"/aktivasi/{first}").status_code == 410
    assert browser_like_client(app).get(f"/aktivasi/{second}").status_code == 410
    assert [e["reason"] for e in events(app, account_id, "link.refused")] == ["used", "revoked", "expired"]
    before = len(events(app, action="link.refused"))
    unknown = secrets.token_urlsafe(32)  # made up: refused, not recorded (anyone can send these)
    assert browser_like_client(app).get(f"/terbitkan/{unknown}").status_code == 410
    assert browser_like_client(app).get(f"/aktivasi/{unknown}").status_code == 410
    assert len(events(app, action="link.refused")) == before
    with app.app_context():
        for secret in (raw, first, second, unknown):
            assert db.session.execute(select(AuditEvent.id).where(or_(AuditEvent.details.contains(secret),
                                                                       AuditEvent.reason.contains(secret)))).first() is None
    assert_chain_intact(runner)


@pytest.fixture()
def issuance_client(app, wizard, verifier_client, face_photos, whatsapp_gateway, smtp_server):
    """Return (client on an open set-passphrase link, account id, raw token) for a subscriber the verifier approved."""
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    assert verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX).status_code == 200
    with app.app_context():
        raw = tokens.issue(account_id, registration.SET_PASSPHRASE, registration.SET_PASSPHRASE_TTL)
        db.session.commit()
    subscriber = browser_like_client(app)
    assert subscriber.get(f"/terbitkan/{raw}").status_code == 302
    return subscriber, account_id, raw


def selfie_upload(client, photo: bytes):
    """Send the issuance selfie."""
    return client.post("/terbitkan/swafoto", data={"selfie": (io.BytesIO(photo), "selfie.jpg")}, headers=HX,
                       content_type="multipart/form-data")


def test_issuance_selfie_mismatch_and_reused_link_are_audited(app, runner, agency, issuance_client, face_photos):
    client, account_id, raw = issuance_client
    response = selfie_upload(client, face_photos["biden"])
    assert response.status_code == 422 and "tidak cocok" in response.get_data(as_text=True)
    mismatch = one(app, account_id, "certificate.selfie_mismatch")
    assert mismatch["agency_id"] == agency["id"] and mismatch["ip"] == IP
    assert mismatch["details"]["score"] < app.config["FACE_MATCH_THRESHOLD"]

    assert selfie_upload(client, face_photos["obama2"]).status_code == 200
    passphrase = "Kuat#Audit2026"
    form = {"passphrase": passphrase, "confirmation": passphrase, "agreement": "setuju"}
    issued = client.post("/terbitkan", data=form, headers=HX)
    assert issued.status_code == 200 and "ISSUE" in issued.get_data(as_text=True)
    assert browser_like_client(app).get(f"/terbitkan/{raw}").status_code == 410
    refused = one(app, account_id, "link.refused")
    assert refused == {**refused, "reason": "used", "agency_id": agency["id"], "details": {"purpose": "set_passphrase"}}
    issue_event = events(app, action="certificate.issue")[-1]
    assert issue_event["actor"].startswith("subscriber:") and issue_event["agency_id"] == agency["id"]
    with app.app_context():
        assert db.session.execute(select(AuditEvent.id).where(or_(AuditEvent.details.contains(passphrase),
                                                                   AuditEvent.reason.contains(passphrase)))).first() is None
    assert_chain_intact(runner)
