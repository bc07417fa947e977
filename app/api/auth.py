"""HTTP Basic for integration clients, the 401 answer of the real service, and wrong credentials audited and counted."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify, request

from .. import throttle
from ..domain.accounts import api_clients
from ..models import ApiClient
from ..platform.audit import Actor, record
from ..web import settle


def client_from_request() -> ApiClient | None:
    """Return the enabled client named by the request's HTTP Basic credentials, or None."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    return api_clients.authenticate(auth.username, auth.password or "")


def refuse_credentials():
    """Answer 401; refused credentials are audited (the client id tried, never the secret) and counted."""
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        record(Actor("api:login", ip=request.remote_addr), "api.login_failed", "api_client", None,
               details={"client_id": auth.username[:64]})
        settle(keep=True)  # the audit row stays although the answer is a 401
        throttle.count_api_failure()
    return unauthorized()


def unauthorized():
    """Return the 401 JSON ``{"timestamp", "status", "error", "path"}`` with a Basic challenge."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    response = jsonify(timestamp=stamp, status=401, error="Unauthorized", path=request.path)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Basic realm="Paraf eSign API"'
    return response


def current_client() -> ApiClient:
    """Return the client of this request (set by the blueprint's authentication)."""
    return g.api_client
