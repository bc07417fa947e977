"""Answer OCSP (RFC 6960 A.1) in a WSGI layer in front of Flask: no request context, session or hooks per request.

``POST /pki/ocsp`` and ``GET /pki/ocsp/<base64>`` are served here; any other path or method goes on to Flask.
OCSP reads the certificates table and writes nothing, so the transaction rule has nothing to settle.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from flask import Flask

from ..domain import keys
from ..domain.errors import DomainError

log = logging.getLogger(__name__)

PATH = "/pki/ocsp"
MAX_REQUEST_BYTES = 64 * 1024
HEADERS = [("Content-Type", "application/ocsp-response"), ("Cache-Control", "no-cache")]


def request_from_path(encoded: str) -> bytes | None:
    """Return the DER of a GET request's base64 path (URL-encoded or not, maybe after a prefix), or None."""
    parts = unquote(encoded).strip("/").split("/")
    # Base64 may itself contain "/": try the whole path, then drop leading segments one by one.
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        try:
            der = base64.b64decode(candidate + "=" * (-len(candidate) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if keys.is_ocsp_request(der):
            return der
    return None


def _body(environ: dict) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or MAX_REQUEST_BYTES + 1)
    except ValueError:
        return None
    body = environ["wsgi.input"].read(min(length, MAX_REQUEST_BYTES + 1))
    return body if 0 < len(body) <= MAX_REQUEST_BYTES else None


class OcspLayer:
    """Serve the OCSP paths from :func:`keys.ocsp_answerer`; hand every other request to the Flask app."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.app, self.wsgi_app = app, wsgi_app
        self._answer: Callable[[bytes], bytes] | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        if method == "POST" and path == PATH:
            der = _body(environ)
        elif method == "GET" and path.startswith(PATH + "/"):
            der = request_from_path(path[len(PATH) + 1:])
        else:
            return self.wsgi_app(environ, start_response)
        body = self._respond(der)
        start_response("200 OK", [*HEADERS, ("Content-Length", str(len(body)))])
        return [body]

    def _respond(self, der: bytes | None) -> bytes:
        if der is None:
            return keys.ocsp_error_response("malformed_request")
        if self._answer is None:
            self._answer = keys.ocsp_answerer(self.app)
        try:
            return self._answer(der)
        except DomainError:
            log.exception("OCSP answer failed")
            return keys.ocsp_error_response("try_later")


def install(app: Flask) -> None:
    """Put the OCSP layer in front of ``app``'s WSGI callable."""
    app.wsgi_app = OcspLayer(app, app.wsgi_app)
