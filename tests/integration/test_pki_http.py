"""The public PKI endpoints checked by independent clients: openssl ocsp, crl and ts, over real HTTP."""

from __future__ import annotations

import base64
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from asn1crypto import ocsp

from app.domain import keys
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
    assert response.get_json() == {"status": "ok", "db": "ok", "hsm": "ok"}


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
