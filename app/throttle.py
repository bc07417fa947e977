"""Request limits by client address and by account or API client (Flask-Limiter), and the 429 answer of each surface.

The address is ``request.remote_addr``: Paraf does not use ProxyFix and never trusts ``X-Forwarded-For``,
so behind a reverse proxy every request seems to come from the proxy until ``wsgi.py`` wraps the app in
``werkzeug.middleware.proxy_fix.ProxyFix`` with the number of proxies in front of it. Limits are read
from the configuration (``THROTTLE_*``) at each request; ``THROTTLE_ENABLED`` false turns them all off.
Sign-in and API Basic limits count failures only, so colleagues behind one office address are never
throttled for signing in; the others count every request. A refused request gets 429 with
``Retry-After``: the API's JSON error under ``/api/``, the CSC error under ``/csc/``, the error page elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, make_response, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from limits import parse_many

from .extensions import limiter


def init_app(app: Flask) -> None:
    """Bind the limiter to the app and answer its refusals."""
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _exceeded)


@limiter.request_filter
def _switched_off() -> bool:
    """Skip every limit when the configuration turns throttling off."""
    return not current_app.config["THROTTLE_ENABLED"]


def _setting(name: str) -> Callable[[], str]:
    """Return a limit read from the configuration when a request is checked."""
    return lambda: current_app.config[name]


def _failed(response: Response) -> bool:
    """Return whether the answer refused the credentials (only those answers are counted)."""
    return response.status_code == 401


def typed_login() -> str:
    """Return the key of the login name typed in the sign-in form."""
    return "login:" + request.form.get("username", "").strip().lower()


def basic_login() -> str:
    """Return the key of the login name sent with HTTP Basic."""
    auth = request.authorization
    return "login:" + ((auth.username or "") if auth else "").strip().lower()


def sign_in(account: Callable[[], str]) -> Callable:
    """Limit failed sign-ins (wrong password or code) per address, and per ``account()`` from every address."""

    def decorate(view: Callable) -> Callable:
        view = limiter.shared_limit(_setting("THROTTLE_SIGN_IN_ACCOUNT_FAILURES"), "sign-in-account", key_func=account,
                                    deduct_when=_failed, methods=["POST"])(view)
        return limiter.shared_limit(_setting("THROTTLE_SIGN_IN_FAILURES"), "sign-in", deduct_when=_failed,
                                    methods=["POST"])(view)

    return decorate


def forgot_password(view: Callable) -> Callable:
    """Limit "forgot password" requests per address, and per login name typed from every address."""
    view = limiter.limit(_setting("THROTTLE_FORGOT_PASSWORD_ACCOUNT"), methods=["POST"],
                         key_func=lambda: "login:" + request.form.get("login", "").strip().lower())(view)
    return limiter.limit(_setting("THROTTLE_FORGOT_PASSWORD"), methods=["POST"])(view)


otp = limiter.shared_limit(_setting("THROTTLE_OTP"), "otp", methods=["POST"])
"""Limit WhatsApp OTP requests per address (the OTP service limits them per account)."""

verify = limiter.limit(_setting("THROTTLE_VERIFY"), methods=["POST"])
"""Limit PDFs checked on the public page per address."""

api_verify = limiter.limit(_setting("THROTTLE_API_VERIFY"), methods=["POST"], key_func=basic_login)
"""Limit PDFs checked through the API per client (an agency's application may verify in bulk from one address)."""


def _api_failure_limits():
    """Yield each limit of wrong API Basic credentials with its identifiers: per address, per client id tried."""
    auth = request.authorization
    tried = (auth.username or "")[:64] if auth else ""
    limits = (("THROTTLE_API_FAILURES", request.remote_addr), ("THROTTLE_API_CLIENT_FAILURES", "client:" + tried))
    for setting, key in limits:
        for item in parse_many(current_app.config[setting]):
            yield item, "api-failures", key


def api_refusal() -> Response | None:
    """Return the 429 answer when this address or the client id tried failed too often lately, else None."""
    if not current_app.config["THROTTLE_ENABLED"]:
        return None
    for item, *keys in _api_failure_limits():
        if not limiter.limiter.test(item, *keys):
            return too_many_requests(limiter.limiter.get_window_stats(item, *keys).reset_time - time.time())
    return None


def count_api_failure() -> None:
    """Count refused API Basic credentials toward :func:`api_refusal`."""
    if current_app.config["THROTTLE_ENABLED"]:
        for item, *keys in _api_failure_limits():
            limiter.limiter.hit(item, *keys)


def _exceeded(error: RateLimitExceeded) -> Response:
    """Answer a request refused by a decorated limit."""
    return too_many_requests(limiter.current_limit.window.reset_time - time.time())


def too_many_requests(seconds: float) -> Response:
    """Return the 429 answer of this request's surface, with ``Retry-After`` in whole seconds."""
    from .api import errors as api_errors
    from .csc import errors as csc_errors
    from .errors import respond

    seconds = max(1, math.ceil(seconds))
    if request.path.startswith("/api/"):
        answer = api_errors.response(api_errors.ApiError("too_many_requests", seconds=seconds))
    elif request.path.startswith("/csc/"):
        answer = csc_errors.response(csc_errors.CscError(
            "too_many_requests", f"Too many requests; try again in {seconds} seconds.", 429))
    else:
        answer = respond(429, _("Terlalu banyak percobaan. Coba lagi dalam %(seconds)d detik.", seconds=seconds))
    response = make_response(answer)
    response.headers["Retry-After"] = str(seconds)
    return response
