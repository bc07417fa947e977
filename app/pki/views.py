"""Serve what relying parties (openssl, Adobe, NSS) fetch to check Paraf's signatures.

OCSP is answered in front of Flask, by :mod:`app.pki.ocsp`, which this blueprint installs.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from sqlalchemy.exc import IntegrityError

from ..domain import keys
from ..extensions import csrf, db
from . import ocsp

bp = Blueprint("pki", __name__, url_prefix="/pki")
bp.record_once(lambda state: ocsp.install(state.app))
csrf.exempt(bp)

MAX_REQUEST_BYTES = ocsp.MAX_REQUEST_BYTES


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


@bp.post("/tsa")
def tsa() -> Response:
    """Answer an RFC 3161 time-stamp request."""
    body = request.get_data(cache=False)
    if len(body) > MAX_REQUEST_BYTES:
        abort(413)
    return _der(keys.timestamp_response(body), "application/timestamp-reply")
