"""Serve what relying parties (openssl, Adobe, NSS) fetch to check Paraf's signatures."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from flask import Blueprint, Response, abort, request
from sqlalchemy.exc import IntegrityError

from ..domain import keys
from ..extensions import csrf, db

bp = Blueprint("pki", __name__, url_prefix="/pki")
csrf.exempt(bp)

MAX_REQUEST_BYTES = 64 * 1024


def _der(body: bytes, mimetype: str, max_age: int = 0) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-cache"
    return response


@bp.get("/<name>.crt")
def certificate(name: str) -> Response:
    """Return a CA or service certificate (DER)."""
    der = keys.published_certificate(name)
    if der is None:
        abort(404)
    return _der(der, "application/pkix-cert", max_age=86400)


@bp.get("/<issuer>.crl")
def crl(issuer: str) -> Response:
    """Return the current full CRL (DER), re-signing it first when it is past half its validity."""
    if issuer not in keys.CRL_ISSUERS:
        abort(404)
    row = keys.latest_crl(issuer)
    if keys.crl_is_stale(row):
        try:
            with db.session.begin_nested():  # a savepoint: losing the race keeps the request usable
                row = keys.publish_crl(issuer)
        except IntegrityError:  # another worker published the same number first
            row = keys.latest_crl(issuer)
    return _der(row.der, "application/pkix-crl")


def _ocsp(request_der: bytes) -> Response:
    if not request_der or len(request_der) > MAX_REQUEST_BYTES:
        return _der(keys.ocsp_error_response("malformed_request"), "application/ocsp-response")
    return _der(keys.ocsp_response(request_der), "application/ocsp-response")


@bp.post("/ocsp")
def ocsp_post() -> Response:
    """Answer an OCSP request sent by POST (RFC 6960 A.1)."""
    return _ocsp(request.get_data(cache=False))


@bp.get("/ocsp/<path:encoded>", merge_slashes=False)
def ocsp_get(encoded: str) -> Response:
    """Answer an OCSP request sent by GET: base64 in the path, URL-encoded or not, maybe after a prefix."""
    text = unquote(encoded).strip("/")
    parts = text.split("/")
    # Base64 may itself contain "/": try the whole path, then drop leading segments one by one.
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        try:
            der = base64.b64decode(candidate + "=" * (-len(candidate) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if keys.is_ocsp_request(der):
            return _ocsp(der)
    return _der(keys.ocsp_error_response("malformed_request"), "application/ocsp-response")


@bp.post("/tsa")
def tsa() -> Response:
    """Answer an RFC 3161 time-stamp request."""
    body = request.get_data(cache=False)
    if len(body) > MAX_REQUEST_BYTES:
        abort(413)
    return _der(keys.timestamp_response(body), "application/timestamp-reply")
