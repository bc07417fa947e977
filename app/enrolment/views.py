"""Pages a subscriber opens from links: the activation wizard (F2) and the five issuance steps (F4)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import throttle
from ..domain.accounts import tokens
from ..domain.enrolment import issuance, registration, registries
from ..domain.enrolment.registration import WIZARD_STEPS
from ..domain.errors import InputError
from ..extensions import db
from ..lifecycle import AccountStatus
from ..models import Account, Certificate
from ..web import actor, on_error, refuse_link, render, settle

bp = Blueprint("enrolment", __name__)
log = logging.getLogger(__name__)

MAX_SELFIE_BYTES = 5 * 1024 * 1024


@bp.get("/")
def home():
    """Show the landing page."""
    return render_template("enrolment/home.html")


@bp.route("/daftar", methods=["GET", "POST"])
def self_register():
    """Let a civil servant register themselves (NIK, registry e-mail, agency e-mail)."""
    error = field = None
    if request.method == "POST":
        try:
            registration.self_register(
                request.form.get("nik", ""), request.form.get("registry_email", ""),
                request.form.get("agency_email", ""), actor("self-registration"),
            )
            return render_template("enrolment/registered.html")
        except (InputError, registries.RegistryUnavailable) as exc:
            error, field = exc.message, exc.field
    return render_template("enrolment/self_register.html", error=error, field=field), 422 if error else 200


def _wizard_account() -> Account:
    account_id = session.get("enrolment_account")
    account = db.session.get(Account, account_id) if account_id else None
    if account is None:
        abort(403, _("Buka tautan aktivasi dari e-mail Anda untuk melanjutkan."))
    return account


@bp.get("/aktivasi/<token>")
def activate(token: str):
    """Use an activation link: it works once and binds the wizard to this browser."""
    try:
        account = registration.open_activation(token, request.remote_addr)
    except tokens.TokenError as exc:
        return refuse_link(token, registration.ACTIVATION, actor(), exc.message)
    session["enrolment_account"] = account.id
    return redirect(url_for("enrolment.wizard"))


def _step_name(profile, requested: str | None) -> str:
    if requested in WIZARD_STEPS and WIZARD_STEPS.index(requested) <= profile.wizard_step:
        return requested
    return WIZARD_STEPS[min(profile.wizard_step, len(WIZARD_STEPS) - 1)]


def _wizard(account: Account, step: str, error: str | None = None, field: str | None = None, status: int = 200, **extra):
    context = dict(account=account, profile=account.profile, step=step, steps=WIZARD_STEPS, error=error, field=field, **extra)
    if not registration.editable(account):
        return render("enrolment/wizard.html", "enrolment/_submitted.html", status, **context)
    return render("enrolment/wizard.html", "enrolment/_wizard_body.html", status, **context)


@bp.get("/aktivasi")
def wizard():
    """Show the wizard at the requested (or first unfinished) step."""
    account = _wizard_account()
    return _wizard(account, _step_name(account.profile, request.args.get("langkah")))


def _step_refused(step: str, field: str | None = None):
    """Return the error page of a wizard step: the step again with the refusal next to ``field`` or the error's field."""
    return lambda error: _wizard(_wizard_account(), step, error.message, field or error.field, 422)


def _step_post(step: str, action):
    """Run one wizard action and go to the next step (a refusal shows the step again: see ``_step_refused``)."""
    account = _wizard_account()
    action(account)
    next_step = WIZARD_STEPS[min(WIZARD_STEPS.index(step) + 1, len(WIZARD_STEPS) - 1)]
    return _wizard(account, next_step)


@bp.post("/aktivasi/data-diri")
@on_error(_step_refused("data-diri"))
def save_personal():
    """Step 1: name and titles."""
    form = request.form
    return _step_post("data-diri", lambda a: registration.save_personal(a, form.get("name", ""), form.get("front_title", ""), form.get("back_title", "")))


@bp.post("/aktivasi/telepon/kirim")
@throttle.otp
@on_error(_step_refused("telepon", "phone"))
def send_code():
    """Step 2a: send a WhatsApp OTP."""
    account = _wizard_account()
    number = registration.send_phone_code(account, request.form.get("phone", ""))
    return _wizard(account, "telepon", code_sent_to=number)


@bp.post("/aktivasi/telepon/verifikasi")
@on_error(_step_refused("telepon"))
def verify_code():
    """Step 2b: check the OTP."""
    return _step_post("telepon", lambda a: registration.verify_phone_code(a, request.form.get("code", ""), request.remote_addr))


@bp.post("/aktivasi/kedinasan")
@on_error(_step_refused("kedinasan"))
def save_service():
    """Step 3: service data."""
    form = request.form
    return _step_post(
        "kedinasan",
        lambda a: registration.save_service(a, form.get("employment", ""), form.get("nip", ""), form.get("unit", ""),
                                         form.get("position", ""), form.get("province", "")),
    )


def _uploaded_image(field: str = "selfie") -> bytes:
    upload = request.files.get(field)
    data = upload.read(MAX_SELFIE_BYTES + 1) if upload else b""
    if not data:
        raise InputError(_("Ambil swafoto terlebih dahulu."), field)
    if len(data) > MAX_SELFIE_BYTES:
        raise InputError(_("Foto terlalu besar (maksimal 5 MB)."), field)
    return data


@bp.post("/aktivasi/swafoto")
@on_error(_step_refused("swafoto"))
def save_selfie():
    """Step 4: the selfie taken with the camera."""
    return _step_post("swafoto", lambda a: registration.save_selfie(a, _uploaded_image()))


@bp.post("/aktivasi/kirim")
def submit():
    """Step 5: consents, then send the data to the verifier."""
    account = _wizard_account()
    try:
        password = registration.submit(
            account, bool(request.form.get("privacy")), bool(request.form.get("agreement")),
            actor("subscriber:" + account.email, account.agency_id),
        )
    except InputError as exc:
        return _wizard(account, "persetujuan", exc.message, exc.field, 422)
    settle(True)  # the one-time password is e-mailed only once the account holding its hash is stored
    registration.send_account_message(account, password)
    return _wizard(account, "persetujuan")


def _issuance_account() -> tuple[Account, str]:
    raw = session.get("issuance_token")
    if not raw:
        abort(403, _("Buka tautan penerbitan dari e-mail atau WhatsApp Anda."))
    try:
        return issuance.open_link(raw), raw
    except tokens.TokenError as exc:
        abort(410, str(exc))


@bp.get("/terbitkan/<token>")
def issue_start(token: str):
    """Open a set-passphrase link (it is used up only when the certificate is issued)."""
    try:
        issuance.open_link(token)
    except tokens.TokenError as exc:
        return refuse_link(token, registration.SET_PASSPHRASE, actor(), exc.message)
    session["issuance_token"], session["issuance_step"] = token, 1
    session.pop("issuance_selfie_ok", None)
    return redirect(url_for("enrolment.issue_page"))


def _issue_page(account: Account, step: int, error: str | None = None, field: str | None = None, status: int = 200):
    session["issuance_step"] = step
    return render(
        "enrolment/issue.html", "enrolment/_issue_body.html", status,
        account=account, profile=account.profile, step=step, error=error, field=field,
        rules=issuance.passphrase_checks(""), agreement_version=registration.AGREEMENT_VERSION,
    )


@bp.get("/terbitkan")
def issue_page():
    """Show the issuance step the subscriber has reached."""
    account, _raw = _issuance_account()
    wanted = request.args.get("langkah", type=int) or session.get("issuance_step", 1)
    allowed = 2 if not session.get("issuance_selfie_ok") else 5
    return _issue_page(account, max(1, min(wanted, allowed)))


@bp.post("/terbitkan/swafoto")
@on_error(lambda error: _issue_page(_issuance_account()[0], 2, error.message, "selfie", 422))
def issue_selfie():
    """Step 2: re-check the selfie (a face that does not match is audited)."""
    account, _raw = _issuance_account()
    issuance.recheck_selfie(account, _uploaded_image(), request.remote_addr)
    session["issuance_selfie_ok"] = True
    return _issue_page(account, 3)


@bp.post("/terbitkan")
def issue_submit():
    """Step 5: make the key and the certificate."""
    account, raw = _issuance_account()
    if not session.get("issuance_selfie_ok"):
        return _issue_page(account, 2, _("Lakukan pemeriksaan swafoto terlebih dahulu."), "selfie", 422)
    form = request.form
    try:
        certificate = issuance.issue(
            account, raw, form.get("passphrase", ""), form.get("confirmation", ""), form.get("agreement") == "setuju",
            actor("subscriber:" + account.email, account.agency_id),
        )
    except InputError as exc:
        return _issue_page(account, 3 if exc.field in ("passphrase", "confirmation") else 4, exc.message, exc.field, 422)
    except tokens.TokenError as exc:
        return refuse_link(raw, registration.SET_PASSPHRASE, actor("subscriber:" + account.email, account.agency_id),
                           exc.message)
    for key in ("issuance_token", "issuance_step", "issuance_selfie_ok"):
        session.pop(key, None)
    return render("enrolment/issued.html", "enrolment/_issued.html", certificate=certificate, account=account)


@bp.get("/status")
def status():
    """Show a subscriber their account and certificate status."""
    account = current_user if current_user.is_authenticated else None
    if account is None and session.get("enrolment_account"):
        account = db.session.get(Account, session["enrolment_account"])
    if account is None:
        return redirect(url_for("auth.login"))
    certificate = (
        db.session.query(Certificate).filter_by(account_id=account.id).order_by(Certificate.id.desc()).first()
    )
    return render_template("enrolment/status.html", account=account, certificate=certificate, AccountStatus=AccountStatus)


@bp.app_context_processor
def limits():
    """Expose limits the templates mention."""
    return {"face_threshold": current_app.config.get("FACE_MATCH_THRESHOLD")}


@bp.errorhandler(403)
def forbidden(error):
    """Explain why a link-bound page cannot be shown."""
    return render_template("enrolment/link_error.html", message=error.description), 403

