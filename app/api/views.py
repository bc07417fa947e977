"""``/api/v2``: the five calls of the eSign client API v2, its OpenAPI document and docs page.

Each view parses the request, calls the services and answers JSON. One commit per request: on an
error the work is rolled back, except what must be kept (a wrong passphrase or TOTP counts toward its
lock); then the call is audited with the client's name as actor — never with the passphrase or code.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, render_template, request
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .. import throttle
from ..domain import keys
from ..domain.signing import signatures, validation
from ..domain.signing.signatures import (
    Details,
    DocumentRefused,
    PassphraseWrong,
    Placement,
    SigningLocked,
    SigningRefused,
)
from ..extensions import csrf
from ..platform.audit import Actor, record
from ..web import settle
from . import inputs, subscribers, totp
from .auth import client_from_request, current_client, refuse_credentials
from .errors import ApiError, english, response
from .openapi import spec
from .verify_report import answer

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v2")
csrf.exempt(bp)
PUBLIC = ("api.openapi", "api.docs")


@bp.before_request
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


@bp.errorhandler(RequestEntityTooLarge)
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
                record(actor(), action, "account", g.api_subject, details=outcome)
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


def _subscriber(data: dict):
    nik, email = inputs.identity(data)
    account = subscribers.find(current_client().agency_ids, nik=nik, email=email)
    g.api_subject = account.id if account is not None else None
    return account


def _signable(data: dict):
    """Return the subscriber of the request if they may sign now, or raise the error saying why not."""
    account = _subscriber(data)
    status = subscribers.status_of(account)
    if status.refusal:
        raise ApiError(status.refusal)
    return account


@bp.post("/sign/pdf")
@audited("api.sign")
def sign_pdf():
    """Sign one or more PDFs for a subscriber with their passphrase (and the TOTP if given): all or none."""
    started = time.perf_counter()
    data = inputs.body()
    passphrase = data.get("passphrase")
    if not passphrase:
        raise ApiError("passphrase_required") if data.get("totp") else ApiError("missing_field", field="passphrase")
    if not isinstance(passphrase, str) or len(passphrase) > 1024:
        raise ApiError("invalid_field", field="passphrase")
    account = _signable(data)
    uploads = inputs.uploads(data, inputs.files(data))
    if data.get("totp") is not None:
        totp.consume(account, data["totp"], len(uploads))
    try:
        results = signatures.sign_documents(account, passphrase, uploads, Placement(), Details(), actor(), via="api")
    except SigningLocked:
        raise ApiError("signing_locked") from None
    except PassphraseWrong as exc:
        raise ApiError("wrong_passphrase", remaining=exc.remaining) from None
    except DocumentRefused as exc:
        raise inputs.refusal(exc, _index(exc.filename), signing_use=True) from None
    except SigningRefused:
        raise ApiError(subscribers.status_of(account).refusal or "signing_failed") from None
    return jsonify(time=round((time.perf_counter() - started) * 1000),
                   file=[base64.b64encode(signed).decode("ascii") for _document, signed in results])


def _index(filename: str) -> int | str:
    number = filename.removeprefix("api-").removesuffix(".pdf")
    return int(number) if number.isdigit() else "?"


@bp.post("/sign/get/totp")
@audited("api.totp")
def sign_totp():
    """Send the subscriber a one-time code covering ``data`` documents (WhatsApp if verified, else e-mail)."""
    data = inputs.body()
    count = data.get("data", 1)
    if isinstance(count, str) and count.strip().isdigit():
        count = int(count)
    maximum = int(current_app.config["API_MAX_FILES"])
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= maximum:
        raise ApiError("invalid_field", field="data")
    account = _signable(data)
    channel = totp.send(account, count, int(current_app.config["OTP_TTL_MINUTES"]))
    english_text = f"The code was sent by {channel}."
    text = f"Kode dikirim lewat {'WhatsApp' if channel == 'whatsapp' else 'e-mail'}."
    return jsonify(status_code=200, message=english_text if english() else text, channel=channel, data=count)


@bp.post("/user/check/status")
@audited("api.status")
def user_status():
    """Answer the subscriber's status (``NOT_REGISTERED`` for anyone outside the client's agencies)."""
    status = subscribers.status_of(_subscriber(inputs.body()))
    return jsonify(status_code=status.code, message=status.en if english() else status.id, status=status.name)


@bp.get("/user/certificate/chain/<path:who>")
@audited("api.chain")
def certificate_chain(who: str):
    """Answer the subscriber's certificate chain, leaf first, as base64 DER."""
    who = who.strip()
    if not who or len(who) > 254:
        raise ApiError("invalid_field", field="nik/email")
    account = subscribers.find(current_client().agency_ids, **({"email": who} if "@" in who else {"nik": who}))
    g.api_subject = account.id if account is not None else None
    if account is None:
        raise ApiError("not_registered")
    certificate = subscribers.latest_certificate(account)
    if certificate is None or certificate.der is None:
        raise ApiError("no_certificate")
    hierarchy = keys.context().hierarchy()
    chain = [certificate.der, hierarchy.issuing, hierarchy.root]
    return jsonify(success=True, data=[base64.b64encode(der).decode("ascii") for der in chain])


@bp.post("/verify/pdf")
@throttle.api_verify
@audited("api.verify")
def verify_pdf():
    """Validate every signature of a PDF (``password`` opens an encrypted one)."""
    data = inputs.body()
    value = data.get("file")
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None:
        raise ApiError("missing_field", field="file")
    password = inputs.text(data, "password", limit=1024)
    document = inputs.decode(value, 1)
    try:
        check = validation.check_pdf("1.pdf", document, password)
    except DocumentRefused as exc:
        raise inputs.refusal(exc, 1) from None
    return jsonify(answer(check, english()))


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 document."""
    return jsonify(spec())


@bp.app_template_filter("inline_markdown")
def inline_markdown(text: str) -> Markup:
    """Render the ``**bold**`` and ```code``` of an OpenAPI description as HTML (everything else escaped)."""
    html = str(escape(text or ""))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", html))


@bp.get("/docs")
def docs():
    """Show the API documentation page, rendered from the OpenAPI document."""
    return render_template("api/docs.html", spec=spec())
