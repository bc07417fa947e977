"""Agency seals through the eSign API v2: activation, refresh, sealing codes, sealing, ending, revocation; the guards."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from asn1crypto import x509
from sqlalchemy import select, update

from app.domain.seals import requests
from app.extensions import db
from app.lifecycle import CertificateStatus, SealStatus
from app.models import AuditEvent, Certificate, OutboxMessage, Seal, SealActivation, SealCode, SealedDocument
from app.models.types import utcnow
from app.platform.audit import Actor
from tests.api_helpers import b64
from tests.certificate_helpers import deliver
from tests.pdfs import make_pdf
from tests.pki_helpers import fetch, openssl, pdfsig
from tests.seal_helpers import SEAL_NAME, code_in, code_sent_to, seal_row

pytestmark = pytest.mark.slow


def call(client, headers, path, body):
    """POST JSON with a client's credentials; return the response."""
    return client.post(f"/api/v2/seal/{path}", json=body, headers=headers)


def activate(app, client, case) -> str:
    """Ask for an activation and return the staff custodian's code (from the outbox)."""
    response = call(client, case.headers, "get/activation", {"idSubscriber": case.id_subscriber})
    assert response.status_code == 200 and response.get_json()["success"] is True, response.get_json()
    return code_sent_to(app, case.staff_id)


def sealing_code(client, case, activation_code: str, count: int) -> str:
    """Return a sealing code for ``count`` documents."""
    response = call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": activation_code,
                                                        "data": count})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["totp"]


def seal_pdfs(client, case, code: str, count: int = 1, **extra):
    """Ask to seal ``count`` new PDFs with a sealing code; return the response."""
    return call(client, case.headers, "pdf", {"idSubscriber": case.id_subscriber, "totp": code,
                                              "file": [b64(make_pdf()) for _ in range(count)], **extra})


def test_the_whole_life_of_a_seal(app, client, seal_case, smtp_server, live_server, nss_db, tmp_path):
    case = seal_case
    with app.app_context():
        seal = db.session.get(Seal, case.seal_id)
        assert seal.status == SealStatus.ISSUE and seal.id_subscriber.startswith("SEAL-")
        cert = x509.Certificate.load(seal.certificate.der)
        assert seal.certificate.status == CertificateStatus.ISSUE and seal.certificate.account_id is None
    subject = cert.subject.native
    assert subject == {"country_name": "ID", "organization_name": case.agency_name, "common_name": SEAL_NAME}
    assert cert.key_usage_value.native == {"digital_signature", "non_repudiation"}
    [policy] = [p["policy_identifier"].dotted for p in cert.certificate_policies_value]
    assert policy.endswith(".3") and cert.ocsp_urls and cert.crl_distribution_points

    # activation: both custodians get a code of their own by e-mail
    asked = call(client, case.headers, "get/activation", {"idSubscriber": case.id_subscriber})
    assert asked.status_code == 200 and asked.get_json()["success"] is True
    deliver(app)
    mailed = code_in(smtp_server.wait_for(case.staff_email, subject="Kode aktivasi segel").text)
    head_code = code_in(smtp_server.wait_for(case.head_email, subject="Kode aktivasi segel").text)
    assert mailed != head_code

    # refresh: the mailed code starts the activation and is replaced by one only the client knows
    refreshed = call(client, case.headers, "get/activation", {"idSubscriber": case.id_subscriber, "totp": mailed})
    body = refreshed.get_json()
    assert refreshed.status_code == 200 and body["success"] is True and body["expiresAt"].endswith("Z")
    current = body["totp"]
    assert current != mailed
    assert call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": mailed,
                                                   "data": 1}).get_json()["error_code"] == "seal_code_used"
    assert call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": head_code,
                                                   "data": 1}).get_json()["error_code"] == "seal_code_expired"

    # a sealing code for 3 seals 3 PDFs in one call
    code = sealing_code(client, case, current, 3)
    visible = {"tampilan": "VISIBLE", "page": 1, "originX": 300, "originY": 60, "width": 260, "height": 90}
    sealed = seal_pdfs(client, case, code, 3, signatureProperties=[visible])
    assert sealed.status_code == 200, sealed.get_json()
    files = [base64.b64decode(item) for item in sealed.get_json()["file"]]
    assert len(files) == 3 and all(data.startswith(b"%PDF") for data in files)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(files[0])
    out = pdfsig(nss_db, path)
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out
    assert f"Signer Certificate Common Name: {SEAL_NAME}" in out, out
    verified = client.post("/api/v2/verify/pdf", json={"file": base64.b64encode(files[0]).decode()}, headers=case.headers)
    [info] = verified.get_json()["signatureInformations"]
    assert verified.get_json()["conclusion"] == "VALID" and info["isSeal"] is True  # an organisation's seal, not a person
    assert info["certificateTrusted"] is True and info["ltv"] is True and info["signatureFormat"] == "PAdES-BASELINE-LT"
    assert info["certificateDetails"][0]["commonName"] == SEAL_NAME
    with app.app_context():
        documents = db.session.execute(select(SealedDocument).where(SealedDocument.seal_id == case.seal_id)).scalars().all()
        assert len(documents) == 3 and {d.custodian_id for d in documents} == {case.staff_id}
        audited = db.session.execute(select(AuditEvent.action).where(AuditEvent.action.like("seal.%"))
                                     .where(AuditEvent.subject_id == str(case.seal_id))).scalars().all()
        assert {"seal.activation.request", "seal.activation.start", "seal.activation.refresh", "seal.code"} <= set(audited)

    # end the activation: sealing is refused from then on
    ended = call(client, case.headers, "revoke/activation", {"idSubscriber": case.id_subscriber, "totp": current})
    assert ended.status_code == 200 and ended.get_json()["success"] is True
    again = call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": current, "data": 1})
    assert again.status_code == 403 and again.get_json()["error_code"] == "seal_not_activated"

    # revoke the seal: OCSP says revoked at once
    with app.app_context():
        requests.revoke_seal(db.session.get(Seal, case.seal_id), "cessation_of_operation", Actor("test"))
        db.session.commit()
        der = db.session.get(Seal, case.seal_id).certificate.der
    for name in ("root", "issuing"):
        (tmp_path / f"{name}.der").write_bytes(fetch(f"{live_server.url}/pki/{name}.crt"))
        openssl("x509", "-inform", "der", "-in", f"{name}.der", "-out", f"{name}.pem", cwd=tmp_path)
    (tmp_path / "seal.der").write_bytes(der)
    openssl("x509", "-inform", "der", "-in", "seal.der", "-out", "seal.pem", cwd=tmp_path)
    out = openssl("ocsp", "-issuer", "issuing.pem", "-cert", "seal.pem", "-url", f"{live_server.url}/pki/ocsp",
                  "-CAfile", "root.pem", cwd=tmp_path)
    assert "Response verify OK" in out and "seal.pem: revoked" in out, out
    refused = call(client, case.headers, "get/activation", {"idSubscriber": case.id_subscriber})
    assert refused.status_code == 403 and refused.get_json()["error_code"] == "seal_not_usable"


def test_wrong_codes_are_counted_and_lock_the_seal(app, client, seal_case):
    case = seal_case
    right = activate(app, client, case)
    wrong = "12345678" if right != "12345678" else "87654321"
    body = {"idSubscriber": case.id_subscriber, "totp": wrong, "data": 1}
    remaining = [call(client, case.headers, "get/totp", body).get_json().get("remaining") for _ in range(4)]
    assert remaining == [4, 3, 2, 1]
    locking = call(client, case.headers, "get/totp", body)
    assert locking.status_code == 423 and locking.get_json()["error_code"] == "seal_locked"
    with_right = call(client, case.headers, "get/totp", {**body, "totp": right})
    assert with_right.status_code == 423  # the right code does not open a locked seal
    with app.app_context():
        activation = db.session.execute(select(SealActivation).where(SealActivation.seal_id == case.seal_id)).scalar_one()
        assert activation.end_reason == "locked"
        requests.lift_lock(db.session.get(Seal, case.seal_id), Actor("test"))
        db.session.execute(update(SealActivation).values(requested_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    fresh = activate(app, client, case)
    assert call(client, case.headers, "get/totp", {**body, "totp": fresh}).status_code == 200


def test_a_sealing_code_is_used_up_and_covers_only_its_documents(app, client, seal_case):
    case = seal_case
    code = sealing_code(client, case, activate(app, client, case), 1)
    too_many = seal_pdfs(client, case, code, 2)
    assert too_many.status_code == 403 and too_many.get_json()["error_code"] == "seal_code_count"
    assert seal_pdfs(client, case, code).status_code == 200
    reused = seal_pdfs(client, case, code)
    assert reused.status_code == 403 and reused.get_json()["error_code"] == "seal_code_used"
    limit = call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": "00000000",
                                                    "data": app.config["SEAL_MAX_DOCUMENTS_PER_CODE"] + 1})
    assert limit.status_code == 400 and limit.get_json()["error_code"] == "seal_documents"


def test_a_refused_file_leaves_the_sealing_code_unused(app, client, seal_case):
    case = seal_case
    code = sealing_code(client, case, activate(app, client, case), 2)
    broken = call(client, case.headers, "pdf", {"idSubscriber": case.id_subscriber, "totp": code,
                                                "file": [b64(make_pdf()), b64(b"%PDF-1.7 broken")]})
    assert broken.status_code in (415, 422) and broken.get_json()["index"] == 2
    assert seal_pdfs(client, case, code, 2).status_code == 200


def test_expired_codes_and_activations_are_refused(app, client, seal_case):
    case = seal_case
    activation_code = activate(app, client, case)
    code = sealing_code(client, case, activation_code, 1)
    with app.app_context():
        db.session.execute(update(SealCode).where(SealCode.purpose == "sealing").values(expires_at=utcnow()))
        db.session.commit()
    expired = seal_pdfs(client, case, code)
    assert expired.status_code == 403 and expired.get_json()["error_code"] == "seal_code_expired"
    with app.app_context():
        db.session.execute(update(SealActivation).where(SealActivation.seal_id == case.seal_id)
                           .values(expires_at=utcnow()))
        db.session.commit()
    late = call(client, case.headers, "get/totp", {"idSubscriber": case.id_subscriber, "totp": activation_code, "data": 1})
    assert late.status_code == 403 and late.get_json()["error_code"] == "seal_code_expired"


def test_another_agency_or_a_client_not_allowed_is_answered_like_an_unknown_seal(app, client, seal_case):
    case = seal_case
    unknown = call(client, case.headers, "get/activation", {"idSubscriber": "SEAL-" + "0" * 20})
    assert unknown.status_code == 404 and unknown.get_json()["error_code"] == "seal_not_found"
    for headers in (case.outsider_headers, case.neighbour_headers):
        answer = call(client, headers, "get/activation", {"idSubscriber": case.id_subscriber})
        assert (answer.status_code, answer.get_json()) == (unknown.status_code, unknown.get_json())
    with app.app_context():
        assert db.session.execute(select(SealActivation).where(SealActivation.seal_id == case.seal_id)).first() is None


def test_codes_are_bound_to_the_client_and_never_stored_or_audited(app, client, seal_case):
    case = seal_case
    activation_code = activate(app, client, case)
    code = sealing_code(client, case, activation_code, 1)
    with app.app_context():
        requests.set_clients(db.session.get(Seal, case.seal_id), [], Actor("test"))  # the client loses the seal
        db.session.commit()
    assert seal_pdfs(client, case, code).status_code == 404
    with app.app_context():
        rows = db.session.execute(select(SealCode.code_hash, SealCode.wrapped_secret)).all()
        events = db.session.execute(select(AuditEvent.details, AuditEvent.reason)).all()
        outbox = db.session.execute(select(OutboxMessage.body)).scalars().all()
        stored = " ".join(str(value) for row in [*rows, *events] for value in row) + " ".join(outbox)
        assert activation_code not in stored and code not in stored
        seal = db.session.get(Seal, case.seal_id)
        assert seal.rest_secret is not None and len(seal.rest_secret) > 32  # only encrypted
        certificate = db.session.get(Certificate, seal.certificate_id)
        assert certificate.key_blob.startswith(b"PRFS")


def test_the_sealing_code_itself_opens_the_key(app, client, seal_case):
    case = seal_case
    code = sealing_code(client, case, activate(app, client, case), 1)
    with app.app_context():  # the copy of the secret another code carries does not open this code's
        donor = db.session.execute(select(SealCode).where(SealCode.purpose == "activation",
                                                          SealCode.wrapped_secret.is_not(None))).scalars().first()
        db.session.execute(update(SealCode).where(SealCode.purpose == "sealing")
                           .values(wrapped_secret=donor.wrapped_secret))
        db.session.commit()
    refused = seal_pdfs(client, case, code)
    assert refused.status_code == 403 and refused.get_json()["error_code"] == "seal_not_activated"
    assert seal_row(app, case.seal_id).wrong_codes == 0
