"""eSign API v2 status, certificate chain, verification and TOTP; secrets never kept; OpenAPI examples replayed."""

from __future__ import annotations

import base64
import io
import json
import logging
import re

import pytest
from asn1crypto import x509
from sqlalchemy import select

from app.api.openapi import (
    EXAMPLE_ACTIVATION_CODE,
    EXAMPLE_DOCUMENT,
    EXAMPLE_EMAIL,
    EXAMPLE_NIK,
    EXAMPLE_PASSPHRASE,
    EXAMPLE_SEAL,
    EXAMPLE_SEALING_CODE,
    spec,
)
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus
from app.models import Account, AuditEvent, Certificate, OtpCode, OutboxMessage, SubscriberProfile
from app.models.types import utcnow
from app.platform import notifications
from tests.api_helpers import b64
from tests.pdfs import make_pdf
from tests.seal_helpers import code_sent_to, issue_seal

pytestmark = pytest.mark.slow


def post(client, caller, path, body, **headers):
    """POST JSON with the caller's client credentials."""
    return client.post(path, json=body, headers={**caller.headers, **headers})


def signed_pdf(client, caller, data: bytes | None = None, times: int = 1) -> bytes:
    """Return a PDF signed ``times`` times through the API."""
    data = data or make_pdf()
    for _ in range(times):
        response = post(client, caller, "/api/v2/sign/pdf",
                        {"nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": [b64(data)]})
        assert response.status_code == 200, response.get_json()
        data = base64.b64decode(response.get_json()["file"][0])
    return data


def test_status_of_each_state(app, client, caller):
    status = lambda: post(client, caller, "/api/v2/user/check/status", {"email": caller.subscriber.email}).get_json()
    assert status() == {"status_code": 1111, "message": "Sertifikat aktif.", "status": "ISSUE"}
    with app.app_context():
        account = db.session.get(Account, caller.subscriber.id)
        certificate = db.session.get(Certificate, caller.subscriber.certificate_id)
        expected = []
        for account_status, cert_status, name, code in (
            (AccountStatus.SUSPENDED, None, "SUSPEND", 2033),
            (AccountStatus.REGISTERED, None, "WAITING_FOR_VERIFICATION", 2012),
            (AccountStatus.ACTIVATED, None, "WAITING_FOR_VERIFICATION", 2012),
            (AccountStatus.VERIFIED, CertificateStatus.REVOKE, "REVOKE", 2032),
            (AccountStatus.VERIFIED, CertificateStatus.EXPIRED, "EXPIRED", 2031),
            (AccountStatus.VERIFIED, CertificateStatus.NEW, "NEW", 2022),
        ):
            account.status = account_status
            if cert_status:  # set directly: only the status answer is under test (the row is deleted below)
                certificate.status = cert_status
                certificate.revoked_at, certificate.revocation_reason = utcnow(), "unspecified"
            db.session.commit()
            expected.append((name, code, status()))
        db.session.delete(certificate)
        db.session.commit()
        expected.append(("NO_CERTIFICATE", 2021, status()))
    for name, code, body in expected:
        assert (body["status"], body["status_code"]) == (name, code), body
    unknown = post(client, caller, "/api/v2/user/check/status", {"nik": "0000000000000000"}, **{"Accept-Language": "en"})
    assert unknown.get_json() == {"status_code": 2011, "message": "The user is not registered.", "status": "NOT_REGISTERED"}


def test_out_of_scope_subscriber_is_not_registered(client, caller, make_caller):
    other = make_caller()
    for who in ({"nik": other.nik}, {"email": other.subscriber.email}):
        assert post(client, caller, "/api/v2/user/check/status", who).get_json()["status"] == "NOT_REGISTERED"
    response = client.get(f"/api/v2/user/certificate/chain/{other.nik}", headers=caller.headers)
    assert response.status_code == 404 and "data" not in response.get_json()


def test_certificate_chain_leaf_first(app, client, caller):
    for who in (caller.nik, caller.subscriber.email):
        response = client.get(f"/api/v2/user/certificate/chain/{who}", headers=caller.headers)
        assert response.status_code == 200
        body = response.get_json()
        assert body["success"] is True
        certs = [x509.Certificate.load(base64.b64decode(item)) for item in body["data"]]
        assert len(certs) == 3 and certs[-1].self_signed == "maybe"
        assert certs[0].issuer == certs[1].subject and certs[1].issuer == certs[2].subject
        assert caller.subscriber.name in certs[0].subject.human_friendly


def test_verify_twice_signed_pdf(app, client, caller):
    data = signed_pdf(client, caller, times=2)
    response = post(client, caller, "/api/v2/verify/pdf", {"file": b64(data)})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["signatureCount"] == 2 and body["conclusion"] == "VALID" and body["description"]
    first, second = body["signatureInformations"]
    assert (first["lastSignature"], second["lastSignature"]) == (False, True)
    for info in (first, second):
        assert info["signatureFormat"] == "PAdES-BASELINE-LT" and info["ltv"] is True
        assert info["integrityValid"] is True and info["certificateTrusted"] is True
        assert info["timestampInfomation"]["present"] is True and info["timestampInfomation"]["valid"] is True
        assert info["digestAlgorithm"] == "SHA-256" and info["signatureAlgorithm"] == "SHA256withRSA"
        assert info["signerName"] == caller.subscriber.name and info["certLevelCode"] == 0
        details = info["certificateDetails"]
        assert caller.subscriber.name in details[0]["subject"] and details[0]["issuer"] == details[1]["subject"]
        assert {"subject", "issuer", "serial", "notBefore", "notAfter"} <= set(details[0])
        for key in ("id", "fieldName", "signatureDate", "reason", "location"):
            assert key in info


def test_verify_unsigned_encrypted_and_bad_files(client, caller):
    unsigned = post(client, caller, "/api/v2/verify/pdf", {"file": b64(make_pdf())}).get_json()
    assert unsigned["conclusion"] == "NO_SIGNATURE" and unsigned["signatureCount"] == 0
    locked = make_pdf(encrypt="rahasia")
    cases = [
        ({"file": b64(locked)}, 422, 4105),
        ({"file": b64(locked), "password": "keliru"}, 422, 4106),
        ({"file": ""}, 400, 4101),
        ({"file": "@@@"}, 400, 4102),
        ({"file": b64(b"hello")}, 415, 4103),
        ({"file": b64(b"%PDF-1.4\n1 0 obj broken")}, 422, 4104),
        ({}, 400, 4002),
    ]
    for body, status, code in cases:
        response = post(client, caller, "/api/v2/verify/pdf", body)
        assert (response.status_code, response.get_json()["status_code"]) == (status, code), body
    opened = post(client, caller, "/api/v2/verify/pdf", {"file": b64(locked), "password": "rahasia"})
    assert opened.status_code == 200 and opened.get_json()["conclusion"] == "NO_SIGNATURE"


def test_totp_is_a_second_factor(app, client, caller, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        profile = db.session.get(SubscriberProfile, caller.subscriber.id)
        profile.phone, profile.phone_verified_at = "081234567890", utcnow()
        db.session.commit()
    sent = post(client, caller, "/api/v2/sign/get/totp", {"nik": caller.nik, "data": 2})
    assert sent.status_code == 200 and sent.get_json()["channel"] == "whatsapp"
    with app.app_context():
        message = db.session.execute(select(OutboxMessage).where(OutboxMessage.account_id == caller.subscriber.id)
                                     .order_by(OutboxMessage.id.desc())).scalars().first()
        assert message.channel == "whatsapp" and "{code}" in message.body
        code = notifications.links_of(message)["code"]
    assert re.fullmatch(r"\d{6}", code)
    again = post(client, caller, "/api/v2/sign/get/totp", {"nik": caller.nik, "data": 2})
    assert again.status_code == 429 and again.get_json()["status_code"] == 2055

    body = {"nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": [b64(make_pdf())]}
    wrong = post(client, caller, "/api/v2/sign/pdf", {**body, "totp": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 403 and wrong.get_json()["status_code"] == 2051
    too_many = post(client, caller, "/api/v2/sign/pdf", {**body, "file": [b64(make_pdf())] * 3, "totp": code})
    assert too_many.status_code == 403 and too_many.get_json()["status_code"] == 2056
    ok = post(client, caller, "/api/v2/sign/pdf", {**body, "file": [b64(make_pdf())] * 2, "totp": code})
    assert ok.status_code == 200 and len(ok.get_json()["file"]) == 2
    reused = post(client, caller, "/api/v2/sign/pdf", {**body, "totp": code})
    assert reused.status_code == 403 and reused.get_json()["status_code"] == 2053
    wrong_passphrase = post(client, caller, "/api/v2/sign/pdf", {**body, "passphrase": "Salah#Sekali1"})
    assert wrong_passphrase.status_code == 403

    secrets = (caller.subscriber.passphrase, "Salah#Sekali1", code)
    with app.app_context():
        audit = db.session.execute(select(AuditEvent)).scalars().all()
        audit_text = json.dumps([(e.actor, e.action, e.details, e.reason) for e in audit])
        outbox = db.session.execute(select(OutboxMessage)).scalars()
        outbox_text = json.dumps([(m.recipient, m.subject, m.body, m.last_error, str(m.sealed_links)) for m in outbox])
        otp_text = json.dumps([(o.code_hash, o.destination) for o in db.session.execute(select(OtpCode)).scalars()])
        api_events = [e for e in audit if e.action.startswith("api.") and e.subject_id == str(caller.subscriber.id)]
        assert api_events and {e.actor for e in api_events if e.action == "api.sign"} == {caller.client_name}
    for secret in secrets:
        assert secret not in audit_text and secret not in outbox_text and secret not in otp_text
        assert secret not in caplog.text


def test_totp_request_errors(app, client, caller):
    with app.app_context():
        profile = db.session.get(SubscriberProfile, caller.subscriber.id)
        profile.phone_verified_at = None
        db.session.commit()
    email = post(client, caller, "/api/v2/sign/get/totp", {"email": caller.subscriber.email, "data": 1})
    assert email.status_code == 200 and email.get_json()["channel"] == "email"
    for body, code in (({"nik": caller.nik, "data": 0}, 4003), ({"nik": caller.nik, "data": "x"}, 4003),
                       ({"nik": "1234"}, 2011), ({"data": 1}, 4002)):
        assert post(client, caller, "/api/v2/sign/get/totp", body).get_json()["status_code"] == code, body


def _substitute(value, caller, values: dict[str, str]):
    """Replace the example subscriber's, seal's and codes' values by the test's own."""
    text = json.dumps(value)
    text = text.replace(EXAMPLE_NIK, caller.nik).replace(EXAMPLE_EMAIL, caller.subscriber.email)
    for example, real in values.items():
        text = text.replace(example, real)
    return json.loads(text.replace(EXAMPLE_PASSPHRASE, caller.subscriber.passphrase))


def _keys_match(answer, example) -> bool:
    if isinstance(example, dict):
        return isinstance(answer, dict) and set(example) <= set(answer) and all(
            _keys_match(answer[key], value) for key, value in example.items() if isinstance(value, (dict, list)))
    return isinstance(answer, list) if isinstance(example, list) else True


def _multipart(example: dict) -> dict:
    """Return a multipart body of an example: ``"<PDF>"`` stands for a one-page PDF."""
    return {name: (io.BytesIO(make_pdf()), "surat.pdf") if value == "<PDF>" else value for name, value in example.items()}


def test_openapi_examples_replay_against_the_endpoints(app, client, caller):
    """Every example request of the document, in its order, answers 200 in the shape of the example answer."""
    document = client.get("/api/v2/openapi.json").get_json()
    assert document == json.loads(json.dumps(spec())) and document["openapi"].startswith("3.1")
    page = client.get("/api/v2/docs")
    assert page.status_code == 200 and b"timestampInfomation" in page.data and b"4007" in page.data
    assert b"<strong>" in page.data and b"**" not in page.data  # descriptions rendered, not raw markdown
    seal = issue_seal(app)
    with app.app_context():
        domain = db.session.get(Account, caller.subscriber.id).agency.email_domain
    values = {EXAMPLE_SEAL: seal.id_subscriber, "@demo.go.id": f"@{domain}", "3171010101900099": "3171010101905" + "%03d" % (caller.subscriber.id % 1000)}
    replayed = 0
    for path, item in spec()["paths"].items():  # in the document's order (the served JSON sorts its keys)
        for method, operation in item.items():
            headers = seal.headers if path.startswith("/api/v2/seal/") else caller.headers
            content = operation.get("requestBody", {}).get("content", {})
            if method == "get":
                url = (path.replace("{id}", caller.nik).replace("{nik}", caller.nik)
                       .replace("{id_dokumen}", values.get(EXAMPLE_DOCUMENT, EXAMPLE_DOCUMENT)))
                answers = [client.get(url, headers=headers)]
            elif "multipart/form-data" in content:
                answers = [client.post(path, data=_multipart(_substitute(example["value"], caller, values)),
                                       headers=headers, content_type="multipart/form-data")
                           for example in content["multipart/form-data"]["examples"].values()]
            else:
                answers = [client.post(path, json=_substitute(example["value"], caller, values), headers=headers)
                           for example in content["application/json"]["examples"].values()]
            ok = operation["responses"]["200"]
            for answer in answers:
                replayed += 1
                assert answer.status_code == 200, (path, answer.get_json())
                if "application/pdf" in ok["content"]:
                    assert answer.mimetype == "application/pdf" and answer.data.startswith(b"%PDF")
                    values[EXAMPLE_DOCUMENT] = answer.headers["id_dokumen"]
                    continue
                example_answer = next(iter(ok["content"]["application/json"]["examples"].values()))["value"]
                assert _keys_match(answer.get_json(), example_answer), (path, answer.get_json())
            if path == "/api/v2/seal/get/activation":  # the custodian's mailed code, for the calls after it
                values[EXAMPLE_ACTIVATION_CODE] = code_sent_to(app, seal.head_id)
            if path == "/api/v2/seal/get/totp":
                values[EXAMPLE_SEALING_CODE] = answers[-1].get_json()["totp"]
    assert replayed >= 17
    errors = {row["status_code"] for row in document["x-error-table"]}
    assert len(errors) == len(document["x-error-table"])


def test_unknown_path_and_wrong_method_answer_from_the_error_table(client, caller):
    unknown = client.post("/api/v2/sign/docx", headers=caller.headers, json={})
    assert unknown.status_code == 404 and unknown.get_json()["status_code"] == 4008
    wrong = client.get("/api/v2/sign/pdf", headers={**caller.headers, "Accept-Language": "en"})
    sentence = "This HTTP method is not used for this address; see /api/v2/docs."
    assert wrong.status_code == 405 and wrong.get_json() == {
        "status_code": 4009, "error_code": "method_not_allowed", "error": sentence, "message": sentence}
