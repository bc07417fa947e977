"""The OCSP fast path: DER read and built by hand, byte for byte what the asn1crypto path makes, and pre-signing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import core, ocsp, x509

from signer import ca, revocation
from signer.responder import Responder, parse_request

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
VALIDITY = timedelta(hours=1)


def request_der(*certs: bytes, issuer: x509.Certificate, nonce: bytes | None = None, algorithm: str = "sha1") -> bytes:
    """Return an OCSP request about ``certs`` (DER)."""
    items = [{"req_cert": {
        "hash_algorithm": {"algorithm": algorithm},
        "issuer_name_hash": getattr(issuer.subject, algorithm),
        "issuer_key_hash": getattr(issuer.public_key, algorithm),
        "serial_number": x509.Certificate.load(cert).serial_number,
    }} for cert in certs]
    tbs = {"request_list": items}
    if nonce is not None:
        tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": core.OctetString(nonce)}]
    return ocsp.OCSPRequest({"tbs_request": tbs}).dump()


@pytest.fixture()
def responder(pdf_pki, monkeypatch) -> Responder:
    """Return a responder whose clock, and the asn1crypto path's, stand still at :data:`NOW`."""
    monkeypatch.setattr(revocation, "utcnow", lambda: NOW)
    return Responder(pdf_pki.hsm, pdf_pki.hierarchy, VALIDITY, clock=lambda: NOW)


@pytest.mark.parametrize("nonce", [None, b"\x01" * 16])
@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_answers_are_the_asn1crypto_answers_byte_for_byte(pdf_pki, responder, nonce, algorithm):
    issuer = pdf_pki.hierarchy.cert(ca.ISSUING)
    second = pdf_pki.issue("Kedua")
    states = {x509.Certificate.load(pdf_pki.subscriber.cert).serial_number: "good",
              x509.Certificate.load(second.cert).serial_number: revocation.Revoked(
                  1, NOW - timedelta(days=1), "privilege_withdrawn")}
    for certs in ((pdf_pki.subscriber.cert,), (second.cert,), (pdf_pki.subscriber.cert, second.cert)):
        request = request_der(*certs, issuer=issuer, nonce=nonce, algorithm=algorithm)
        expected = revocation.ocsp_respond(pdf_pki.hsm, pdf_pki.hierarchy, request, states.get, VALIDITY)
        assert responder.respond(request, states.get) == expected


def test_another_issuer_is_unknown_and_not_kept(pdf_pki, responder):
    request = request_der(pdf_pki.subscriber.cert, issuer=pdf_pki.hierarchy.cert(ca.ROOT))
    answer = ocsp.OCSPResponse.load(responder.respond(request, lambda serial: "good"))
    assert answer.basic_ocsp_response["tbs_response_data"]["responses"][0]["cert_status"].name == "unknown"
    assert responder._presigned == {}


def test_presign_makes_the_answer_served_until_half_its_validity(pdf_pki, responder):
    issuer = pdf_pki.hierarchy.cert(ca.ISSUING)
    serial = x509.Certificate.load(pdf_pki.subscriber.cert).serial_number
    revoked = revocation.Revoked(serial, NOW, "key_compromise")
    presigned = responder.presign(serial, revoked)
    request = request_der(pdf_pki.subscriber.cert, issuer=issuer)
    request = ocsp.OCSPRequest.load(request)
    request["tbs_request"]["request_list"][0]["req_cert"]["hash_algorithm"]["parameters"] = core.Null()
    request = request.dump()  # as openssl encodes it: SHA-1 with NULL parameters

    def lookup(asked: int) -> revocation.CertState:
        assert asked == serial
        return revoked

    responder.hsm = None  # any signature from here on fails
    assert responder.respond(request, lookup) == presigned
    responder.clock = lambda: NOW + VALIDITY / 2 - timedelta(seconds=1)
    assert responder.respond(request, lookup) == presigned
    responder.hsm = pdf_pki.hsm
    responder.clock = lambda: NOW + VALIDITY / 2
    assert responder.respond(request, lookup) != presigned


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x30\x00", b"\x30\x03\x30\x01", b"\x30\x02\x30\x00\x00",
                                  b"\x30\x84\xff\xff\xff\xff", b"\x04\x00"])
def test_malformed_requests_are_refused(responder, data):
    answer = responder.respond(data, lambda serial: "good")
    assert ocsp.OCSPResponse.load(answer)["response_status"].native == "malformed_request"


def test_a_signed_request_takes_the_asn1crypto_path(pdf_pki):
    request = ocsp.OCSPRequest.load(request_der(pdf_pki.subscriber.cert, issuer=pdf_pki.hierarchy.cert(ca.ISSUING)))
    signed = ocsp.OCSPRequest({"tbs_request": request["tbs_request"], "optional_signature": {
        "signature_algorithm": {"algorithm": "sha256_rsa"}, "signature": b"\x00" * 8}}).dump()
    assert parse_request(signed) is None
