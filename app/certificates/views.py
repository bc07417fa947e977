"""The subscriber's certificate pages (F9–F12): overview, change passphrase, reset link and wizard, revoke, renewal.

The overview and its actions need a signed-in subscriber; the reset wizard is opened from a link
(WhatsApp or e-mail) and bound to this browser session, like the issuance steps.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import lifecycle, throttle
from ..domain.accounts import tokens
from ..domain.certificates import after_issuance
from ..domain.enrolment import issuance, otp
from ..domain.enrolment.registration import AGREEMENT_VERSION, subscriber_actor
from ..domain.errors import DomainError
from ..domain.signing import signatures
from ..enrolment.views import _uploaded_image
from ..models import Account, Role
from ..web import actor, on_error, refuse_link, render, require_role

bp = Blueprint("certificates", __name__, url_prefix="/sertifikat")
RESET_STEPS = 3  # 1 explanation, 2 selfie, 3 passphrase and agreement


class LinkRefused(DomainError):
    """The reset wizard cannot go on: no link opened in this browser, or the link is no longer valid."""


@bp.app_context_processor
def certificate_tools():
    """Give every template the certificate actions of an account and the revocation reasons (the verifier's page too)."""
    return {"certificate_actions": after_issuance.actions, "revocation_reasons": after_issuance.REASONS,
            "reason_label": after_issuance.reason_label}


def _subscriber() -> Account:
    """Return the signed-in subscriber (401/403 otherwise)."""
    require_role(Role.SUBSCRIBER)
    return current_user


@bp.get("")
@login_required
def index():
    """List the subscriber's certificates with the actions their state allows."""
    account = _subscriber()
    return render("certificates/index.html", account=account, rows=after_issuance.history(account),
                  allowed=after_issuance.actions(account))


def _change_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200, done: bool = False):
    return render(
        "certificates/change.html", "certificates/_change.html", status,
        account=account, error=error, field=field, done=done, rules=issuance.passphrase_checks(""),
        allowed=after_issuance.actions(account),
    )


def _change_refused(error: DomainError):
    field = "old" if isinstance(error, signatures.SigningRefused) else error.field
    return _change_page(_subscriber(), error.message, field, error.status)


@bp.route("/ubah-passphrase", methods=["GET", "POST"])
@login_required
@on_error(_change_refused)
def change():
    """F10: change the passphrase with the old one (same key); a wrong old one counts toward the signing lock."""
    account = _subscriber()
    if request.method == "GET":
        return _change_page(account)
    form = request.form
    after_issuance.change_passphrase(
        account, form.get("old", ""), form.get("passphrase", ""), form.get("confirmation", ""),
        form.get("agreement") == "setuju", actor(),
    )
    return _change_page(account, done=True)


def _reset_request_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200, **extra):
    return render(
        "certificates/reset_request.html", "certificates/_reset_request.html", status,
        account=account, profile=account.profile, error=error, field=field,
        channel=after_issuance.reset_channel(account), allowed=after_issuance.actions(account), **extra,
    )


@bp.route("/reset", methods=["GET", "POST"])
@login_required
@on_error(lambda error: _reset_request_page(_subscriber(), error.message, None, error.status))
def reset_request():
    """F9: explain the reset and send the link (WhatsApp when the phone is verified, e-mail otherwise)."""
    account = _subscriber()
    if request.method == "GET":
        return _reset_request_page(account)
    return _reset_request_page(account, sent=after_issuance.request_reset(account, actor()))


def _phone_refused(error: DomainError, field: str):
    return _phone_page(request.form.get("next"))(_subscriber(), error.message, field, 422)


@bp.post("/telepon/kirim")
@login_required
@throttle.otp
@on_error(lambda error: _phone_refused(error, "phone" if isinstance(error, otp.OtpError) else error.field or "phone"))
def send_code():
    """Send a WhatsApp OTP to verify the phone (before a reset link by WhatsApp or a renewal request)."""
    account = _subscriber()
    number = after_issuance.send_phone_code(account, request.form.get("phone", ""))
    return _phone_page(request.form.get("next"))(account, code_sent_to=number)


@bp.post("/telepon/verifikasi")
@login_required
@on_error(lambda error: _phone_refused(error, "code"))
def verify_code():
    """Check the WhatsApp OTP (wrong tries are counted); the phone counts as verified from now on."""
    account = _subscriber()
    after_issuance.verify_phone_code(account, request.form.get("code", ""), actor())
    return _phone_page(request.form.get("next"))(account)


def _phone_page(name: str | None):
    """Return the page the phone form sits on (the renewal page, or the reset request page)."""
    return _renewal_page if name == "renewal" else _reset_request_page


def _revoke_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200, **extra):
    return render(
        "certificates/revoke.html", "certificates/_revoke.html", status,
        account=account, allowed=after_issuance.actions(account), error=error, field=field, **extra,
    )


@bp.route("/cabut", methods=["GET", "POST"])
@login_required
@on_error(lambda error: _revoke_page(_subscriber(), error.message, error.field, error.status))
def revoke():
    """F11: choose an RFC 5280 reason, confirm, and the certificate is revoked at once."""
    account = _subscriber()
    if request.method == "GET":
        return _revoke_page(account)
    reason = request.form.get("reason", "")
    if reason not in after_issuance.REASONS:
        return _revoke_page(account, _("Pilih alasan pencabutan dari daftar."), "reason", 422)
    if request.form.get("confirm") != "ya":
        return _revoke_page(account, reason=reason, confirming=True)
    certificate = after_issuance.active(account)
    if certificate is None:
        newest = after_issuance.latest(account)
        raise lifecycle.Forbidden("certificate", newest.status if newest else None, "revoke")
    after_issuance.revoke_with_notice(certificate, reason, actor())
    return _revoke_page(account, revoked=certificate)


def _renewal_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200, **extra):
    return render(
        "certificates/renewal.html", "certificates/_renewal.html", status,
        account=account, profile=account.profile, allowed=after_issuance.actions(account),
        error=error, field=field, **extra,
    )


@bp.route("/terbitkan-ulang", methods=["GET", "POST"])
@login_required
@on_error(lambda error: _renewal_page(_subscriber(), error.message, error.field, error.status))
def renewal():
    """F12: after expiry, revocation or a move, verify the phone and ask the verifier for a new certificate."""
    account = _subscriber()
    if request.method == "GET":
        return _renewal_page(account)
    after_issuance.request_renewal(account, actor())
    return _renewal_page(account)


def _link_error(message: str, status: int = 410):
    return render_template("enrolment/link_error.html", message=message), status


@bp.get("/reset/<token>")
def reset_start(token: str):
    """Open a reset link (used up only when the new certificate is issued) and bind the wizard to this browser."""
    try:
        after_issuance.open_reset(token)
    except tokens.TokenError as exc:
        return refuse_link(token, after_issuance.PASSPHRASE_RESET, actor(), str(exc))
    session["reset_token"], session["reset_step"] = token, 1
    session.pop("reset_selfie_ok", None)
    return redirect(url_for("certificates.reset_page"))


def _reset_link() -> tuple[Account, str]:
    raw = session.get("reset_token")
    if not raw:
        raise LinkRefused(_("Buka tautan reset passphrase dari WhatsApp atau e-mail Anda."), status=403)
    try:
        account, _certificate = after_issuance.open_reset(raw)
    except tokens.TokenError as exc:
        raise LinkRefused(exc.message, status=410) from exc
    return account, raw


def _reset_page(account: Account, step: int, error: str | None = None, field: str | None = None, status: int = 200):
    session["reset_step"] = step
    return render(
        "certificates/reset.html", "certificates/_reset_body.html", status,
        account=account, profile=account.profile, old=after_issuance.active(account), step=step, error=error, field=field,
        rules=issuance.passphrase_checks(""), agreement_version=AGREEMENT_VERSION,
    )


@bp.get("/reset-passphrase")
def reset_page():
    """Show the reset step the subscriber has reached."""
    account, _raw = _reset_link()
    wanted = request.args.get("langkah", type=int) or session.get("reset_step", 1)
    reached = RESET_STEPS if session.get("reset_selfie_ok") else 2
    return _reset_page(account, max(1, min(wanted, reached)))


@bp.post("/reset-passphrase/swafoto")
@on_error(lambda error: _reset_page(_reset_link()[0], 2, error.message, "selfie", 422))
def reset_selfie():
    """Step 2: a new selfie must match the registry photo (a mismatch is audited)."""
    account, _raw = _reset_link()
    issuance.recheck_selfie(account, _uploaded_image(), request.remote_addr)
    session["reset_selfie_ok"] = True
    return _reset_page(account, 3)


@bp.post("/reset-passphrase")
@on_error(lambda error: _reset_page(_reset_link()[0], 3, error.message, error.field, error.status))
def reset_submit():
    """Step 3: new key and certificate under the new passphrase; the old certificate is revoked as superseded."""
    account, raw = _reset_link()
    if not session.get("reset_selfie_ok"):
        return _reset_page(account, 2, _("Lakukan pemeriksaan swafoto terlebih dahulu."), "selfie", 422)
    form = request.form
    who = subscriber_actor(account, request.remote_addr)
    try:
        certificate = after_issuance.reset_passphrase(
            account, raw, form.get("passphrase", ""), form.get("confirmation", ""), form.get("agreement") == "setuju", who,
        )
    except tokens.TokenError as exc:
        return refuse_link(raw, after_issuance.PASSPHRASE_RESET, who, exc.message)
    for key in ("reset_token", "reset_step", "reset_selfie_ok"):
        session.pop(key, None)
    return render("certificates/reset.html", "certificates/_reset_done.html", certificate=certificate, account=account,
                  step=RESET_STEPS + 1)


@bp.errorhandler(LinkRefused)
def link_refused(error: LinkRefused):
    """Explain why the reset wizard cannot be shown."""
    return _link_error(str(error), error.status)
