"""``/api``: the eSign client API version 1 (multipart form data), beside v2 (:mod:`.views`).

Sign one PDF (answered with the signed PDF itself and its ``id_dokumen`` header), download it again while it is
kept, verify a PDF, and a subscriber's status by NIK: the same services, rules, error table and audit as v2.
Coordinates are those of v2 (``xAxis``/``yAxis`` is the stamp's lower-left corner in points on the shown page);
the literal string ``"null"`` reads as an empty field. ``text`` is accepted and not drawn: Paraf's stamp wording
is fixed (name, position, date, statement and QR code).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from zoneinfo import ZoneInfo

from asn1crypto import x509
from flask import Blueprint, current_app, g, jsonify, make_response, request
from werkzeug.utils import secure_filename

from .. import throttle
from ..domain import keys
from ..domain.key_errors import DocumentUnusable, StampUnusable
from ..domain.signing import retention, signatures, validation
from ..domain.signing.signatures import (
    Details,
    DocumentRefused,
    Placement,
    Upload,
)
from ..domain.signing.uploads import STAMP_HEIGHT, STAMP_WIDTH
from ..models import SignedDocument
from . import calls, inputs, schemas, subscribers
from .auth import current_client
from .calls import audited, serve
from .errors import ApiError, english
from .placement import stamp_box
from .v1_report import answer

bp = Blueprint("api_v1", __name__, url_prefix="/api")
serve(bp)
_PUBLIC_ID = re.compile(r"^[0-9a-f]{32}$")
_LINK = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
LINK_LIMIT = 500


def _subscriber(nik: str):
    account = subscribers.find(current_client().agency_ids, nik=nik)
    g.api_subject = account.id if account is not None else None
    return account


def _file(name: str) -> tuple[str, bytes]:
    """Return the name and bytes of an uploaded file field, or raise ``missing_field``."""
    storage = request.files.get(name)
    if storage is None:
        raise ApiError("missing_field", field=name)
    return secure_filename(storage.filename or "")[:200], storage.read()


def _number(form, name: str, default: float) -> float:
    value = inputs.given(form, name)
    try:
        number = default if value is None else float(value)
    except ValueError:
        raise ApiError("invalid_field", field=name) from None
    if not math.isfinite(number):
        raise ApiError("invalid_field", field=name)
    return number


def _page(form) -> int:
    value = (inputs.given(form, "page") or "1").strip()
    if not value.isdigit() or int(value) < 1:
        raise ApiError("invalid_field", field="page")
    return int(value)


def _stamp_content(form) -> tuple[bytes | None, str]:
    """Return the stamp's image (``image=true`` with an ``imageTTD`` file) or its QR target (``image=false``, ``linkQR``)."""
    choice = (inputs.given(form, "image") or "false").strip().lower()
    if choice not in ("true", "false"):
        raise ApiError("invalid_field", field="image")
    if choice == "true":
        _name, image = _file("imageTTD")
        try:
            keys.check_stamp_image(image)
        except StampUnusable:
            raise ApiError("invalid_field", field="imageTTD") from None
        return image, ""
    link = inputs.text(form, "linkQR", limit=LINK_LIMIT) or ""
    if link and not _LINK.match(link):
        raise ApiError("invalid_field", field="linkQR")
    return None, link


def _upload(form, fields: schemas.V1SignForm, filename: str, data: bytes) -> Upload:
    """Return the file to sign with the placement and details of the form's fields."""
    details = Details(reason=fields.reason or "", location=fields.location or "")
    tampilan = (inputs.given(form, "tampilan") or "invisible").strip().upper()
    if tampilan not in ("VISIBLE", "INVISIBLE"):
        raise ApiError("bad_tampilan", index=1)
    if tampilan == "INVISIBLE":
        return Upload(filename, data, Placement(), details)
    width, height = _number(form, "width", STAMP_WIDTH), _number(form, "height", STAMP_HEIGHT)
    for name, size in (("width", width), ("height", height)):
        if size <= 0:
            raise ApiError("invalid_field", field=name)
    x, y = _number(form, "xAxis", 0), _number(form, "yAxis", 0)
    try:
        page, box = stamp_box(data, 1, _page(form), x, y, width, height, inputs.text(form, "tag_koordinat"))
    except DocumentUnusable as exc:
        raise inputs.refusal(signatures.refused(filename, exc), 1, signing_use=True) from None
    image, link = _stamp_content(form)
    return Upload(filename, data, Placement(page=page, box=box), replace(details, image=image, qr_url=link))


def _sign(account, passphrase: str, upload: Upload) -> tuple[SignedDocument, bytes]:
    """Sign the upload and keep it for the client; answer every refusal with the API's error."""
    ((document, signed),) = calls.sign(account, passphrase, [upload], lambda _filename: 1)
    retention.keep(document, current_client().id)
    return document, signed


def _pdf(document: SignedDocument, data: bytes):
    """Return a signed PDF as the answer, with its document id in the ``id_dokumen`` header."""
    response = make_response(data)
    response.mimetype = "application/pdf"
    response.headers["id_dokumen"] = document.public_id
    response.headers["Content-Disposition"] = f'attachment; filename="{document.public_id}.pdf"'
    return response


@bp.post("/sign/pdf")
@audited("api.v1.sign")
def sign_pdf():
    """Sign one PDF for a subscriber (by NIK) with their passphrase; answer the signed PDF itself."""
    fields = schemas.validate(schemas.V1SignForm, request.form.to_dict())
    account = _subscriber(fields.nik)
    status = subscribers.status_of(account)
    if status.refusal:
        raise ApiError(status.refusal)
    filename, data = _file("file")
    inputs.check_pdf(data, 1)
    upload = _upload(request.form, fields, filename or "dokumen.pdf", data)
    return _pdf(*_sign(account, fields.passphrase, upload))


@bp.get("/sign/download/<id_dokumen>")
@audited("api.v1.download")
def download(id_dokumen: str):
    """Answer a PDF this client signed, while it is kept (another client's or an expired one: 404 like unknown)."""
    found = retention.kept(id_dokumen, current_client().id) if _PUBLIC_ID.match(id_dokumen) else None
    if found is None:
        raise ApiError("document_not_found")
    document, data = found
    g.api_subject = document.account_id
    return _pdf(document, data)


@bp.post("/sign/verify")
@throttle.api_verify
@audited("api.v1.verify")
def verify():
    """Validate every signature of the uploaded ``signed_file`` and answer in the v1 shape."""
    filename, data = _file("signed_file")
    try:
        check = validation.check_pdf(filename or "dokumen.pdf", data)
    except DocumentRefused as exc:
        raise inputs.refusal(exc, 1) from None
    tsa = x509.Certificate.load(keys.context().hierarchy().tsa)
    zone = ZoneInfo(current_app.config["WORK_TIMEZONE"])
    return jsonify(answer(filename, check, tsa, zone, english()))


@bp.get("/user/status/<nik>")
@audited("api.v1.status")
def user_status(nik: str):
    """Answer the subscriber's status as v2 does (``NOT_REGISTERED`` for anyone outside the client's agencies)."""
    if len(nik) > 32:
        raise ApiError("invalid_field", field="nik")
    status = subscribers.status_of(_subscriber(nik.strip()))
    return jsonify(status_code=status.code, message=status.en if english() else status.id, status=status.name)
