"""``/api/v2``: the calls of the eSign client API v2, its OpenAPI document and docs page.

Each view parses the request, calls the services and answers JSON, audited and committed once (:mod:`.calls`).
"""

from __future__ import annotations

import base64
import re
import time
from contextlib import contextmanager

from flask import Blueprint, current_app, g, jsonify, render_template
from markupsafe import Markup, escape

from .. import throttle
from ..domain import keys
from ..domain.enrolment import registration
from ..domain.enrolment.request_letters import LetterError
from ..domain.errors import InputError
from ..domain.seals import activation as seals
from ..domain.seals.sealing import seal_documents
from ..domain.signing import validation
from ..domain.signing.signatures import (
    DocumentRefused,
)
from . import calls, inputs, schemas, subscribers, totp
from .auth import current_client
from .calls import actor, audited, serve
from .errors import ApiError, english
from .openapi import spec
from .verify_report import answer

bp = Blueprint("api", __name__, url_prefix="/api/v2")
serve(bp)


def _subscriber(data: schemas.Subscriber):
    account = subscribers.find(current_client().agency_ids, nik=data.nik, email=data.email)
    g.api_subject = account.id if account is not None else None
    return account


def _signable(data: schemas.Subscriber):
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
    data = schemas.validate(schemas.SignRequest, inputs.body())
    account = _signable(data)
    uploads = inputs.uploads(data.signatureProperties, inputs.files(data.file))
    if data.totp is not None:
        totp.consume(account, data.totp, len(uploads))
    results = calls.sign(account, data.passphrase, uploads, _index)
    return jsonify(time=round((time.perf_counter() - started) * 1000),
                   file=[base64.b64encode(signed).decode("ascii") for _document, signed in results])


def _index(filename: str) -> int | str:
    number = filename.removeprefix("api-").removesuffix(".pdf")
    return int(number) if number.isdigit() else "?"


@bp.post("/sign/get/totp")
@audited("api.totp")
def sign_totp():
    """Send the subscriber a one-time code covering ``data`` documents (WhatsApp if verified, else e-mail)."""
    data = schemas.validate(schemas.TotpRequest, inputs.body())
    account, count = _signable(data), data.data
    channel = totp.send(account, count, int(current_app.config["OTP_TTL_MINUTES"]))
    english_text = f"The code was sent by {channel}."
    text = f"Kode dikirim lewat {'WhatsApp' if channel == 'whatsapp' else 'e-mail'}."
    return jsonify(success=True, status_code=200, message=english_text if english() else text, channel=channel, data=count)


@bp.post("/user/check/status")
@audited("api.status")
def user_status():
    """Answer the subscriber's status (``NOT_REGISTERED`` for anyone outside the client's agencies)."""
    status = subscribers.status_of(_subscriber(schemas.validate(schemas.Subscriber, inputs.body())))
    return jsonify(status_code=status.code, message=status.en if english() else status.id, status=status.name)


@bp.post("/user/register")
@audited("api.register")
def user_register():
    """Register a person in the client's agency their e-mail's domain picks and send them the activation link."""
    data = schemas.validate(schemas.RegisterRequest, inputs.body())
    name, email, nik, phone = data.nama, data.email, data.nik, data.phone
    try:
        account = registration.register_in(current_client().agencies, name, email, nik, phone or "", actor())
    except registration.AlreadyRegistered as exc:
        raise ApiError("nik_registered" if exc.field == "nik" else "email_registered") from None
    except registration.NoAgencyForDomain:
        raise ApiError("domain_not_served", domain=email.rsplit("@", 1)[-1]) from None
    except LetterError:
        raise ApiError("letter_required") from None
    except InputError as exc:
        raise ApiError("invalid_field", field={"name": "nama"}.get(exc.field, exc.field)) from None
    g.api_subject = account.id
    status = subscribers.status_of(account)
    if english():
        text = f"The user is registered in {account.agency.name}; the activation link was sent to {account.email}."
    else:
        text = f"Pengguna didaftarkan di {account.agency.name}; tautan aktivasi dikirim ke {account.email}."
    return jsonify(success=True, status_code=status.code, status=status.name, message=text, email=account.email,
                   agency=account.agency.code)


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
    data = schemas.validate(schemas.VerifyRequest, inputs.body())
    document = inputs.decode(data.file, 1)
    try:
        check = validation.check_pdf("1.pdf", document, data.password)
    except DocumentRefused as exc:
        raise inputs.refusal(exc, 1) from None
    return jsonify(answer(check, english()))


@contextmanager
def _seal_refusals():
    """Answer a seal's refusal with the table's row of the same key."""
    try:
        yield
    except seals.SealRefused as exc:
        raise ApiError(exc.key, **exc.values) from None


def _seal(data: schemas.SealActivationRequest):
    """Return the seal of ``idSubscriber`` the client may use (raises ``SealUnknown`` otherwise)."""
    seal = seals.find_for_client(data.idSubscriber, current_client())
    g.api_subject_type, g.api_subject = "seal", seal.id
    return seal


def _iso(moment) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@bp.post("/seal/get/activation")
@audited("api.seal.activation")
def seal_activation():
    """Send the seal's custodians activation codes; with ``totp`` (the current activation code) replace it by a new one."""
    data = schemas.validate(schemas.SealActivationRequest, inputs.body())
    code = data.totp
    with _seal_refusals():
        seal = _seal(data)
        if code is None:
            expires = seals.request_activation(seal, current_client(), actor())
            count = len(seal.custodians)
            text = (f"The activation code was sent to {count} seal custodian(s)." if english()
                    else f"Kode aktivasi dikirim ke {count} pemegang segel.")
            return jsonify(success=True, status_code=200, message=text, idSubscriber=seal.id_subscriber,
                           expiresAt=_iso(expires))
        new, expires = seals.refresh(seal, current_client(), code, actor())
    text = "A new activation code was issued." if english() else "Kode aktivasi baru diterbitkan."
    return jsonify(success=True, status_code=200, message=text, idSubscriber=seal.id_subscriber, totp=new,
                   expiresAt=_iso(expires))


@bp.post("/seal/get/totp")
@audited("api.seal.totp")
def seal_totp():
    """Return a sealing code covering ``data`` documents, bought with the current activation code."""
    data = schemas.validate(schemas.SealCodeRequest, inputs.body())
    count = data.data
    with _seal_refusals():
        seal = _seal(data)
        sealing_code, expires = seals.sealing_code(seal, current_client(), data.totp, count, actor())
    text = f"The sealing code covers {count} document(s)." if english() else f"Kode segel berlaku untuk {count} dokumen."
    return jsonify(success=True, status_code=200, message=text, idSubscriber=seal.id_subscriber, totp=sealing_code,
                   data=count, expiresAt=_iso(expires))


@bp.post("/seal/pdf")
@audited("api.seal.pdf")
def seal_pdf():
    """Seal one or more PDFs with the agency's seal, opened by the sealing code (used up): all or none."""
    started = time.perf_counter()
    data = schemas.validate(schemas.SealRequest, inputs.body())
    with _seal_refusals():
        seal = _seal(data)
        uploads = inputs.uploads(data.signatureProperties, inputs.files(data.file))
        try:
            results = seal_documents(seal, current_client(), data.totp, uploads, actor())
        except DocumentRefused as exc:
            raise inputs.refusal(exc, _index(exc.filename), signing_use=True) from None
    return jsonify(time=round((time.perf_counter() - started) * 1000),
                   file=[base64.b64encode(sealed).decode("ascii") for _document, sealed in results])


@bp.post("/seal/revoke/activation")
@audited("api.seal.end")
def seal_end_activation():
    """End the activation whose current activation code is ``totp``."""
    data = schemas.validate(schemas.SealEndRequest, inputs.body())
    with _seal_refusals():
        seal = _seal(data)
        seals.end_by_code(seal, current_client(), data.totp, actor())
    text = "The seal's activation has ended." if english() else "Aktivasi segel diakhiri."
    return jsonify(success=True, status_code=200, message=text, idSubscriber=seal.id_subscriber)


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
