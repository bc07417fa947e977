"""The public PKI endpoints checked by independent clients: openssl ocsp, crl and ts, over real HTTP."""

from __future__ import annotations

import base64
import secrets
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import core, ocsp, x509

from app import create_app
from app.domain import keys
from app.extensions import db
from app.platform.audit import Actor
from signer.tsa import TimeStampResp
from tests.pki_helpers import fetch, openssl


@pytest.fixture()
def pem_dir(live_server, tmp_path: Path) -> Path:
    """Download the CA certificates as PEM files into a temp folder."""
    for name in ("root", "issuing"):
        (tmp_path / f"{name}.der").write_bytes(fetch(f"{live_server.url}/pki/{name}.crt"))
        openssl("x509", "-inform", "der", "-in", f"{name}.der", "-out", f"{name}.pem", cwd=tmp_path)
    return tmp_path


def write_pem(row, folder: Path, name: str) -> str:
    """Write a certificate row as PEM and return the file name."""
    (folder / f"{name}.der").write_bytes(row.der)
    openssl("x509", "-inform", "der", "-in", f"{name}.der", "-out", f"{name}.pem", cwd=folder)
    return f"{name}.pem"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("status", "db", "hsm", "outbox", "failing")} == {
        "status": "ok", "db": "ok", "hsm": "ok", "outbox": "ok", "failing": []}


def test_ca_certificates_chain(pem_dir):
    out = openssl("verify", "-CAfile", "root.pem", "issuing.pem", cwd=pem_dir)
    assert "issuing.pem: OK" in out


def test_ocsp_good_then_revoked(live_server, pem_dir, issue_certificate, app_ctx):
    row = issue_certificate("Agus Salim")
    cert = write_pem(row, pem_dir, "subscriber")
    ask = ["ocsp", "-issuer", "issuing.pem", "-cert", cert, "-url", f"{live_server.url}/pki/ocsp", "-CAfile", "root.pem"]
    out = openssl(*ask, cwd=pem_dir)
    assert "Response verify OK" in out
    assert f"{cert}: good" in out

    keys.revoke(row, "key_compromise", Actor("test"))
    from app.extensions import db

    db.session.commit()
    out = openssl(*ask, cwd=pem_dir)
    assert "Response verify OK" in out
    assert f"{cert}: revoked" in out
    assert "keyCompromise" in out

    (pem_dir / "issuing.crl").write_bytes(fetch(f"{live_server.url}/pki/issuing.crl"))
    out = openssl("crl", "-inform", "der", "-in", "issuing.crl", "-CAfile", "issuing.pem", "-noout", "-text", cwd=pem_dir)
    assert "verify OK" in out
    assert f"Serial Number: {row.serial.upper().zfill(32)}" in out


def test_ocsp_nonce_is_echoed(live_server, pem_dir, issue_certificate):
    cert = write_pem(issue_certificate("Dewi Lestari"), pem_dir, "nonce")
    out = openssl("ocsp", "-issuer", "issuing.pem", "-cert", cert, "-url", f"{live_server.url}/pki/ocsp",
                  "-CAfile", "root.pem", "-nonce", "-resp_text", cwd=pem_dir)
    assert "Nonce Verify error" not in out
    assert "OCSP Nonce" in out
    assert f"{cert}: good" in out


def test_ocsp_by_get_plain_and_url_encoded(live_server, pem_dir, issue_certificate):
    cert = write_pem(issue_certificate("Rina Marlina"), pem_dir, "get")
    openssl("ocsp", "-issuer", "issuing.pem", "-cert", cert, "-no_nonce", "-reqout", "req.der", cwd=pem_dir)
    encoded = base64.b64encode((pem_dir / "req.der").read_bytes()).decode()
    for path in (encoded, urllib.parse.quote(encoded, safe=""), "nss-prefix/" + urllib.parse.quote(encoded, safe="")):
        (pem_dir / "resp.der").write_bytes(fetch(f"{live_server.url}/pki/ocsp/{path}"))
        out = openssl("ocsp", "-respin", "resp.der", "-issuer", "issuing.pem", "-cert", cert, "-CAfile", "root.pem",
                      "-no_nonce", cwd=pem_dir)
        assert f"{cert}: good" in out, path


def test_ocsp_unknown_serial_and_garbage(live_server, pem_dir):
    reply = ocsp.OCSPResponse.load(fetch(f"{live_server.url}/pki/ocsp", b"not der", "application/ocsp-request"))
    assert reply["response_status"].native == "malformed_request"
    openssl("ocsp", "-issuer", "issuing.pem", "-serial", "0x1234", "-no_nonce", "-reqout", "unknown.der", cwd=pem_dir)
    reply = ocsp.OCSPResponse.load(
        fetch(f"{live_server.url}/pki/ocsp", (pem_dir / "unknown.der").read_bytes(), "application/ocsp-request")
    )
    single = reply.basic_ocsp_response["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == "unknown"


def test_root_crl_verifies(live_server, pem_dir):
    (pem_dir / "root.crl").write_bytes(fetch(f"{live_server.url}/pki/root.crl"))
    assert "verify OK" in openssl("crl", "-inform", "der", "-in", "root.crl", "-CAfile", "root.pem", "-noout", cwd=pem_dir)


def test_timestamp_verifies_with_openssl_ts(live_server, pem_dir):
    (pem_dir / "letter.txt").write_text("Surat Edaran Nomor 1 Tahun 2026")
    openssl("ts", "-query", "-data", "letter.txt", "-sha256", "-cert", "-out", "request.tsq", cwd=pem_dir)
    body = fetch(f"{live_server.url}/pki/tsa", (pem_dir / "request.tsq").read_bytes(), "application/timestamp-query")
    (pem_dir / "reply.tsr").write_bytes(body)
    out = openssl("ts", "-verify", "-in", "reply.tsr", "-queryfile", "request.tsq", "-CAfile", "root.pem",
                  "-untrusted", "issuing.pem", cwd=pem_dir)
    assert "Verification: OK" in out
    text = openssl("ts", "-reply", "-in", "reply.tsr", "-text", cwd=pem_dir)
    assert "Accuracy: 0x01 seconds" in text
    assert "TSA: DirName:/C=ID/O=Paraf/CN=Paraf Time-Stamp Authority" in text


def test_timestamp_rejects_garbage(live_server):
    reply = TimeStampResp.load(fetch(f"{live_server.url}/pki/tsa", b"\x00\x01", "application/timestamp-query"))
    assert reply["status"]["status"].native == "rejection"


def test_unknown_pki_paths_are_404(client):
    assert client.get("/pki/nope.crt").status_code == 404
    assert client.get("/pki/nope.crl").status_code == 404


def ocsp_request(*ders: bytes, nonce: bytes | None = None) -> bytes:
    """Return an OCSP request (DER) about certificates of the issuing CA, SHA-1 CertIDs encoded as openssl does."""
    issuer = keys.context().hierarchy().cert(keys.CRL_ISSUERS["issuing"])
    items = [{"req_cert": {
        "hash_algorithm": {"algorithm": "sha1", "parameters": core.Null()},
        "issuer_name_hash": issuer.subject.sha1,
        "issuer_key_hash": issuer.public_key.sha1,
        "serial_number": x509.Certificate.load(der).serial_number,
    }} for der in ders]
    tbs = {"request_list": items}
    if nonce is not None:
        tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": core.OctetString(nonce)}]
    return ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def answer_data(der: bytes) -> ocsp.ResponseData:
    """Return the signed data of a successful OCSP answer."""
    reply = ocsp.OCSPResponse.load(der)
    assert reply["response_status"].native == "successful"
    return reply.basic_ocsp_response["tbs_response_data"]


def statuses(der: bytes) -> list[str]:
    """Return the certificate statuses an OCSP answer gives, in order."""
    return [single["cert_status"].name for single in answer_data(der)["responses"]]


def ask(client, request_der: bytes) -> bytes:
    """POST an OCSP request and return the answer."""
    response = client.post("/pki/ocsp", data=request_der, content_type="application/ocsp-request")
    assert response.status_code == 200
    assert response.content_type == "application/ocsp-response"
    return response.data


def test_revocation_answers_revoked_at_once_over_a_presigned_good(app, client, issue_certificate, monkeypatch):
    row = issue_certificate("Hendra Wijaya")
    request = ocsp_request(row.der)
    good = ask(client, request)
    assert statuses(good) == ["good"]
    assert ask(client, request) == good  # pre-signed: the same bytes

    keys.revoke(row, "key_compromise", Actor("test"))
    db.session.rollback()  # a revocation that never commits changes nothing
    assert statuses(ask(client, request)) == ["good"]

    responder = keys.context().responder()
    revoked_at = answer_data(good)["produced_at"].native + timedelta(minutes=1)
    monkeypatch.setattr(responder, "clock", lambda: revoked_at)
    keys.revoke(row, "key_compromise", Actor("test"))
    db.session.commit()
    monkeypatch.setattr(responder, "clock", lambda: revoked_at + timedelta(minutes=1))
    revoked = ask(client, request)
    assert statuses(revoked) == ["revoked"]
    assert answer_data(revoked)["produced_at"].native == revoked_at  # signed by the revocation, not by this request
    single = answer_data(revoked)["responses"][0]
    assert single["cert_status"].chosen["revocation_reason"].native == "key_compromise"


def test_another_instance_answers_revoked_once_the_revocation_commits(app, issue_certificate):
    other = create_app({name: app.config[name] for name in (
        "INSTANCE_PATH", "TESTING", "SQLALCHEMY_DATABASE_URI", "SOFTHSM2_CONF", "PUBLIC_BASE_URL")})
    try:
        row = issue_certificate("Yusuf Hakim")
        request = ocsp_request(row.der)
        other_client = other.test_client()
        assert statuses(ask(other_client, request)) == ["good"]  # now pre-signed in the other instance

        keys.revoke(row, "affiliation_changed", Actor("test"))
        assert statuses(ask(other_client, request)) == ["good"]  # not committed yet
        db.session.commit()
        assert statuses(ask(other_client, request)) == ["revoked"]
    finally:
        with other.app_context():
            db.engine.dispose()


def test_nonce_is_echoed_in_a_fresh_answer(client, issue_certificate):
    first, second = issue_certificate("Sari Dewi"), issue_certificate("Tono Hartono")
    answers = []
    for _ in range(2):
        nonce = secrets.token_bytes(16)
        answer = ask(client, ocsp_request(first.der, second.der, nonce=nonce))
        extensions = answer_data(answer)["response_extensions"]
        assert [(e["extn_id"].native, e["extn_value"].native) for e in extensions] == [("nonce", nonce)]
        assert statuses(answer) == ["good", "good"]
        answers.append(answer)
    assert answers[0] != answers[1]


def test_presigned_answer_is_resigned_at_half_its_validity(client, issue_certificate, monkeypatch):
    row = issue_certificate("Wulan Sari")
    request = ocsp_request(row.der)
    responder = keys.context().responder()
    start = responder.clock()
    monkeypatch.setattr(responder, "clock", lambda: start)
    first = ask(client, request)
    signed_at = answer_data(first)["produced_at"].native
    half = responder.validity / 2

    monkeypatch.setattr(responder, "clock", lambda: signed_at + half - timedelta(seconds=1))
    assert ask(client, request) == first
    monkeypatch.setattr(responder, "clock", lambda: signed_at + half)
    fresh = ask(client, request)
    data = answer_data(fresh)
    assert data["produced_at"].native == signed_at + half
    assert data["responses"][0]["next_update"].native == signed_at + half + responder.validity
    assert statuses(fresh) == ["good"]


def test_hsm_failure_answers_try_later(client, issue_certificate, monkeypatch):
    from signer.errors import HsmUnavailable

    class BrokenHsm:
        def sign(self, *args):
            raise HsmUnavailable("token gone")

    monkeypatch.setattr(keys.context().responder(), "hsm", BrokenHsm())
    answer = ask(client, ocsp_request(issue_certificate("Rudi Hartono").der, nonce=b"12345678"))
    assert ocsp.OCSPResponse.load(answer)["response_status"].native == "try_later"
