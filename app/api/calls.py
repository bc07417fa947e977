"""What every eSign API call shares (v1 and v2): the body limit, HTTP Basic, and the audited, once-committed answer.

On an error the work is rolled back, except what must be kept (a wrong passphrase or TOTP counts toward its
lock); then the call is audited with the client's name as actor — never with the passphrase or code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import throttle
from ..domain.signing import signatures
from ..domain.signing.signatures import (
    Details,
    DocumentRefused,
    PassphraseWrong,
    Placement,
    SigningLocked,
    SigningRefused,
    Upload,
)
from ..extensions import csrf
from ..platform.audit import Actor, record
from ..web import settle
from .auth import client_from_request, current_client, refuse_credentials
from .errors import ApiError, response
from .inputs import refusal
from .subscribers import status_of

log = logging.getLogger(__name__)
PUBLIC = ("api.openapi", "api.docs")


def serve(bp: Blueprint) -> None:
    """Make a blueprint an API surface: no CSRF, the body limit and client credentials before each view."""
    csrf.exempt(bp)
    bp.before_request(authenticate)
    bp.register_error_handler(RequestEntityTooLarge, too_large)


def authenticate():
    """Refuse a body declared too large before reading it, then require HTTP Basic client credentials (docs are public)."""
    limit = int(current_app.config["API_MAX_BODY_BYTES"])
    if request.content_length is not None and request.content_length > limit:
        return response(ApiError("body_too_large", mb=limit // (1024 * 1024)))
    request.max_content_length = limit  # a body without a Content-Length is cut off at the limit while it is read
    if request.endpoint in PUBLIC:
        return None
    refused = throttle.api_refusal()  # after too many wrong credentials even the right ones wait
    if refused is not None:
        return refused
    client = client_from_request()
    if client is None:
        return refuse_credentials()
    g.api_client = client
    return None


def sign(account, passphrase: str, uploads: list[Upload], index: Callable[[str], int | str]) -> list:
    """Sign the uploads for the API (all or none); answer each refusal with its row of the error table.

    ``index`` names the file a refused document was (its number in the request) from its upload's filename.
    """
    try:
        return signatures.sign_documents(account, passphrase, uploads, Placement(), Details(), actor(), via="api")
    except SigningLocked:
        raise ApiError("signing_locked") from None
    except PassphraseWrong as exc:
        raise ApiError("wrong_passphrase", remaining=exc.remaining) from None
    except DocumentRefused as exc:
        raise refusal(exc, index(exc.filename), signing_use=True) from None
    except SigningRefused:
        raise ApiError(status_of(account).refusal or "signing_failed") from None


def too_large(error):
    """Answer an oversized body with the table's JSON."""
    return response(ApiError("body_too_large", mb=int(current_app.config["API_MAX_BODY_BYTES"]) // (1024 * 1024)))


def actor() -> Actor:
    """Return the audit actor: the client's name, from the caller's address."""
    return Actor(current_client().name, ip=request.remote_addr)


def audited(action: str) -> Callable:
    """Run a view, answer its :class:`ApiError` as JSON, audit the outcome and commit once."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def run(*args, **kwargs):
            g.api_subject = None
            started = time.perf_counter()
            try:
                result, outcome = _answer(view, action, args, kwargs)
                outcome["ms"] = round((time.perf_counter() - started) * 1000)
                record(actor(), action, g.get("api_subject_type", "account"), g.api_subject, details=outcome)
                settle(keep=True)  # the audit row, whatever the outcome
            except SQLAlchemyError:  # e.g. the database stayed locked: an API answer all the same, never a bare 500
                log.exception("API call %s could not be settled", action)
                settle(keep=False)
                return response(ApiError("server_error"))
            return result

        return run

    return decorate


def _answer(view: Callable, action: str, args: tuple, kwargs: dict) -> tuple[object, dict]:
    """Return the view's response (an :class:`ApiError` as its JSON) and the outcome to audit."""
    try:
        return view(*args, **kwargs), {"status": "ok"}
    except ApiError as error:
        settle(keep=error.keep_changes)
        return response(error), {"status": "refused", "error": error.key, "status_code": error.problem.code}
    except HTTPException:
        raise
    except Exception:  # never a stack trace to the client; the log has it (no secrets in tracebacks' text)
        log.exception("API call %s failed", action)
        settle(keep=False)
        return response(ApiError("server_error")), {"status": "failed"}
