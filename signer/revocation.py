"""Revocation data signed in the HSM: full CRLs (RFC 5280) and OCSP responses (RFC 6960)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from asn1crypto import core, crl, ocsp, x509

from .ca import ISSUING, OCSP, Hierarchy, ext, utcnow
from .hsm import Hsm

REASONS = (
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
    "privilege_withdrawn",
)


@dataclass(frozen=True)
class Revoked:
    """A revoked certificate: serial, time and RFC 5280 reason name (asn1crypto spelling)."""

    serial: int
    revoked_at: datetime
    reason: str = "unspecified"


CertState = Revoked | Literal["good", "unknown"]
StatusLookup = Callable[[int], CertState]


def _time(value: datetime) -> x509.Time:
    return x509.Time({"utc_time": value} if value.year < 2050 else {"generalized_time": value})


def build_crl(
    hsm: Hsm,
    hierarchy: Hierarchy,
    issuer: str,
    revoked: Iterable[Revoked],
    number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """Return a full CRL (DER) of the CA labelled ``issuer``, signed in the HSM."""
    issuer_cert = hierarchy.cert(issuer)
    entries = [
        {
            "user_certificate": item.serial,
            "revocation_date": _time(item.revoked_at),
            "crl_entry_extensions": [ext("crl_reason", item.reason)],
        }
        for item in revoked
    ]
    tbs = {
        "version": "v2",
        "signature": {"algorithm": "sha256_rsa"},
        "issuer": issuer_cert.subject,
        "this_update": _time(this_update),
        "next_update": _time(next_update),
        "crl_extensions": [
            ext("authority_key_identifier", {"key_identifier": issuer_cert.key_identifier}),
            ext("crl_number", number),
        ],
    }
    if entries:
        tbs["revoked_certificates"] = entries
    tbs_cert_list = crl.TbsCertList(tbs)
    signature = hsm.sign(issuer, tbs_cert_list.dump(), "sha256")
    return crl.CertificateList(
        {"tbs_cert_list": tbs_cert_list, "signature_algorithm": {"algorithm": "sha256_rsa"}, "signature": signature}
    ).dump()


def _issued_by(cert_id: ocsp.CertId, issuer: x509.Certificate) -> bool:
    algorithm = cert_id["hash_algorithm"]["algorithm"].native
    if algorithm not in ("sha1", "sha256"):
        return False
    return (
        cert_id["issuer_name_hash"].native == getattr(issuer.subject, algorithm)
        and cert_id["issuer_key_hash"].native == getattr(issuer.public_key, algorithm)
    )


def _single_response(cert_id: ocsp.CertId, state: CertState, now: datetime, validity: timedelta) -> dict:
    if isinstance(state, Revoked):
        status = ocsp.CertStatus(
            name="revoked", value={"revocation_time": state.revoked_at, "revocation_reason": state.reason}
        )
    else:
        status = ocsp.CertStatus(name=state, value=core.Null())
    return {"cert_id": cert_id, "cert_status": status, "this_update": now, "next_update": now + validity}


def _signed_response(hsm: Hsm, hierarchy: Hierarchy, responses: list[dict], extensions: list[dict], now: datetime) -> bytes:
    responder = hierarchy.cert(OCSP)
    data = {
        "responder_id": ocsp.ResponderId(name="by_key", value=responder.public_key.sha1),
        "produced_at": now,
        "responses": responses,
    }
    if extensions:
        data["response_extensions"] = extensions
    response_data = ocsp.ResponseData(data)
    signature = hsm.sign(OCSP, response_data.dump(), "sha256")
    basic = ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": response_data,
            "signature_algorithm": {"algorithm": "sha256_rsa"},
            "signature": signature,
            "certs": [responder, hierarchy.cert(ISSUING)],
        }
    )
    return ocsp.OCSPResponse(
        {"response_status": "successful", "response_bytes": {"response_type": "basic_ocsp_response", "response": basic}}
    ).dump()


def error_response(status: str) -> bytes:
    """Return an unsigned OCSP error response (``malformed_request``, ``internal_error``, ``unauthorized``...)."""
    return ocsp.OCSPResponse({"response_status": status}).dump()


def is_ocsp_request(der: bytes) -> bool:
    """Return whether ``der`` parses as an OCSP request."""
    try:
        ocsp.OCSPRequest.load(der).native
    except (ValueError, TypeError, KeyError):
        return False
    return True


def ocsp_respond(
    hsm: Hsm,
    hierarchy: Hierarchy,
    request_der: bytes,
    lookup: StatusLookup,
    validity: timedelta = timedelta(hours=1),
) -> bytes:
    """Answer an OCSP request (DER) for certificates of the issuing CA; the nonce, if any, is echoed."""
    try:
        request = ocsp.OCSPRequest.load(request_der)
        request.native  # parse it all now: asn1crypto parses lazily
        tbs_request = request["tbs_request"]
        items = list(tbs_request["request_list"])
        extensions = [
            e for e in (tbs_request["request_extensions"] or []) if e["extn_id"].native == "nonce"
        ]
    except (ValueError, TypeError, KeyError):
        return error_response("malformed_request")
    if not items:
        return error_response("malformed_request")
    issuer = hierarchy.cert(ISSUING)
    now = utcnow()
    responses = []
    for item in items:
        cert_id = item["req_cert"]
        state = lookup(cert_id["serial_number"].native) if _issued_by(cert_id, issuer) else "unknown"
        responses.append(_single_response(cert_id, state, now, validity))
    nonce = [ext("nonce", e["extn_value"].parsed) for e in extensions]
    return _signed_response(hsm, hierarchy, responses, nonce, now)


def ocsp_response_for(
    hsm: Hsm,
    hierarchy: Hierarchy,
    cert_der: bytes,
    state: CertState,
    validity: timedelta = timedelta(hours=1),
) -> bytes:
    """Return a signed OCSP response (DER) about one certificate of the issuing CA, for embedding."""
    cert = x509.Certificate.load(cert_der)
    issuer = hierarchy.cert(ISSUING)
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": issuer.subject.sha1,
            "issuer_key_hash": issuer.public_key.sha1,
            "serial_number": cert.serial_number,
        }
    )
    now = utcnow()
    return _signed_response(hsm, hierarchy, [_single_response(cert_id, state, now, validity)], [], now)
