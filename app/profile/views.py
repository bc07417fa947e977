"""Subscriber pages for data changes (F13): ``/profil`` and the "Verifikasi Perubahan Data" link."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.accounts import tokens
from ..domain.certificates import data_changes
from ..domain.errors import DomainError
from ..models import Role
from ..web import actor, on_error, refuse_link, render, require_role

bp = Blueprint("profile", __name__)
SELF_FIELDS = ("name", "email", "position", "unit", "city", "province")


def _profile_page(error: str | None = None, field: str | None = None, status: int = 200):
    account = current_user._get_current_object()
    values = data_changes.current_values(account)
    form = {**values, **request.form.to_dict()} if request.method == "POST" else values
    return render("profile/profile.html", None, status, account=account, values=values, form=form, error=error,
                  field=field, fields=SELF_FIELDS, labels=data_changes.LABELS,
                  editable=data_changes.may_edit_own_profile(account), open_change=data_changes.open_request(account),
                  certificate=data_changes.active_certificate(account))


@bp.route("/profil", methods=["GET", "POST"])
@on_error(lambda error: _profile_page(error.message, error.field, 422))
@login_required
def profile():
    """Show the subscriber's data; they may change it themselves only while no certificate is active."""
    require_role(Role.SUBSCRIBER)
    account = current_user._get_current_object()
    if request.method == "GET":
        return _profile_page()
    if not data_changes.may_edit_own_profile(account):
        return _profile_page(_("Data tidak dapat diubah sendiri sekarang; lihat penjelasan di atas."), None, 409)
    data_changes.start_update(account, {k: v for k, v in request.form.items() if k in SELF_FIELDS}, False, actor(), account)
    flash(_("Perubahan disimpan. Buka tautan Verifikasi Perubahan Data yang kami kirim untuk mengonfirmasinya."), "success")
    return redirect(url_for("profile.profile"), 303)


def _link_refused(token: str, error: tokens.TokenError):
    """Explain a confirmation link that cannot be used, and record a refused link we issued."""
    return refuse_link(token, data_changes.PURPOSE, actor(), error.message)


def _confirm_page(token: str, error: DomainError | None = None):
    """Show the profile before and after the change, with the button (and why it cannot be confirmed, on ``error``)."""
    change = data_changes.open_link(token)
    return render("profile/confirm.html", None, 409 if error else 200, change=change, account=change.account,
                  token=token, error=error and error.message, values=data_changes.current_values(change.account),
                  labels=data_changes.LABELS)


@bp.get("/perubahan-data/<token>")
def confirm(token: str):
    """Show the profile before and after the change, with the "Verifikasi Perubahan Data" button."""
    try:
        return _confirm_page(token)
    except tokens.TokenError as exc:
        return _link_refused(token, exc)


@bp.post("/perubahan-data/<token>")
@on_error(lambda error, token: _confirm_page(token, error))
def confirm_submit(token: str):
    """Apply the change, put the account back to VERIFIED and use the link up, in one commit."""
    try:
        change = data_changes.confirm(token, request.remote_addr)
    except tokens.TokenError as exc:
        return _link_refused(token, exc)
    return render("profile/confirmed.html", None, change=change, account=change.account)
