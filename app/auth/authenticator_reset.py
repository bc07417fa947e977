"""The reset-authenticator link (F15): after the RA reactivates a compromised account, its owner sets up a new authenticator."""

from __future__ import annotations

from flask import flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import logout_user

from ..domain.accounts import tokens
from ..domain.certificates import suspensions
from ..domain.errors import DomainError
from ..models import Account
from ..web import actor, on_error, refuse_link
from .views import PENDING_KEY, SETUP_KEY, _confirm_setup, _setup_page, bp


def _refused(raw: str, exc: tokens.TokenError):
    """Explain a link that cannot be used, and record a refused link we issued."""
    if isinstance(exc, tokens.TokenExpired):
        message = _("Tautan sudah kedaluwarsa. Minta RA atau verifikator instansi Anda mengirim tautan baru.")
    else:
        message = _("Tautan tidak valid atau sudah digunakan. Hubungi verifikator instansi Anda.")
    return refuse_link(raw, suspensions.AUTHENTICATOR_RESET, actor("authenticator-reset"), message)


def _private(response):
    """Keep the page (it shows a TOTP secret) out of caches and its URL out of the Referer header."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _setup(account: Account, token: str, error: DomainError | None = None):
    """Render the set-up page of this link, with the refusal when ``error``."""
    page, status = _setup_page(account, url_for("auth.reset_authenticator", token=token),
                               _("Pasang aplikasi autentikator baru"), False, error)
    return _private(make_response(page, status))


def _setup_refused(error: DomainError, token: str):
    """Show the set-up again with the refusal; the link stays usable."""
    return _setup(suspensions.reset_account(token), token, error)


@bp.route("/akun/reset-autentikator/<token>", methods=["GET", "POST"])
@on_error(_setup_refused)
def reset_authenticator(token: str):
    """Set up a new authenticator from the e-mailed link (single use); then sign in as usual."""
    try:
        account = suspensions.reset_account(token)
    except tokens.TokenError as exc:
        return _refused(token, exc)
    logout_user()  # whoever was signed in in this browser, the link acts for its owner only
    session.pop(PENDING_KEY, None)
    if request.method == "POST":
        _confirm_setup(account)
        try:
            suspensions.finish_reset(token, account, actor("authenticator-reset", account.agency_id))
        except tokens.TokenError as exc:
            return _refused(token, exc)
        session.pop(SETUP_KEY, None)
        flash(_("Autentikator baru terpasang. Masuk dengan kata sandi portal dan kode dari aplikasi baru."), "success")
        return redirect(url_for("auth.login"))
    return _setup(account, token)
