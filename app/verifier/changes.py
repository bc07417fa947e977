"""Verifier pages for data changes (F13) and migrations between agencies (F14); own agency only (404 otherwise)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..domain.certificates import data_changes
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Account, Agency, ChangeKind, DataChange, Role
from ..web import actor, on_error, render
from .views import _account, bp


@bp.app_template_global("data_changes_of")
def data_changes_of(account: Account) -> list[DataChange]:
    """Return the account's data-change requests, newest first (for the detail page's fragment)."""
    return data_changes.history(account)


@bp.app_template_global("data_change_labels")
def data_change_labels() -> dict:
    """Return the names of the fields a change may touch, in the page's language."""
    return data_changes.LABELS


def _change(change_id: int) -> DataChange:
    change = db.session.get(DataChange, change_id)
    if change is None or (current_user.role == Role.VERIFIER and change.agency_id != current_user.agency_id):
        abort(404)
    return change


def _me() -> Account:
    return current_user._get_current_object()


def _update_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200):
    values = data_changes.current_values(account)
    form = {**values, **request.form.to_dict()} if request.method == "POST" else values
    return render("verifier/data_change.html", None, status, account=account, values=values, form=form, error=error,
                  field=field, certificate=data_changes.active_certificate(account), fields=data_changes.UPDATE_FIELDS,
                  labels=data_changes.LABELS, revocation_fields=sorted(data_changes.REVOCATION_FIELDS),
                  open_change=data_changes.open_request(account))


def _back_to_detail(error: DomainError, change_id: int):
    """Flash why a request's step was refused and go back to the subscriber's page."""
    flash(error.message, "error")
    return redirect(url_for("verifier.detail", account_id=_change(change_id).account_id), 303)


@bp.route("/akun/<int:account_id>/perubahan-data", methods=["GET", "POST"])
@on_error(lambda error, account_id: _update_page(_account(account_id), error.message, error.field, error.status))
def data_change(account_id: int):
    """Change a subscriber's profile data; name and e-mail need the active certificate revoked first (offered here)."""
    account = _account(account_id)
    if request.method == "GET":
        return _update_page(account)
    data_changes.start_update(account, request.form, request.form.get("revoke") == "yes", actor(), _me())
    flash(_("Perubahan data disimpan. Akun berstatus UPDATE sampai pengguna membuka tautan Verifikasi Perubahan Data "
            "dan mengonfirmasi."), "success")
    return redirect(url_for("verifier.detail", account_id=account.id), 303)


def _migration_page(account: Account, error: str | None = None, field: str | None = None, status: int = 200):
    values = data_changes.current_values(account)
    form = request.form.to_dict() if request.method == "POST" else {k: values[k] for k in ("email", "position", "unit", "province")}
    agencies = db.session.execute(select(Agency).where(Agency.id != account.agency_id).order_by(Agency.name)).scalars().all()
    return render("verifier/migration.html", None, status, account=account, values=values, form=form, error=error,
                  field=field, agencies=agencies, labels=data_changes.LABELS, heads=data_changes.agency_heads(account.agency_id),
                  open_change=data_changes.open_request(account))


@bp.route("/akun/<int:account_id>/migrasi", methods=["GET", "POST"])
@on_error(lambda error, account_id: _migration_page(_account(account_id), error.message, error.field, error.status))
def migration(account_id: int):
    """Fill the data-change form for a move to another agency; Paraf renders it for the agency head to sign."""
    account = _account(account_id)
    if request.method == "GET":
        return _migration_page(account)
    change = data_changes.start_migration(account, request.form, actor(), _me())
    flash(_("Formulir perubahan data nomor PD-%(id)d dibuat dan menunggu tanda tangan kepala instansi.", id=change.id),
          "success")
    return redirect(url_for("verifier.detail", account_id=account.id), 303)


@bp.post("/perubahan-data/<int:change_id>/kirim-ulang")
@on_error(_back_to_detail)
def resend_data_change(change_id: int):
    """Send a new "Verifikasi Perubahan Data" link; the old one stops working."""
    change = _change(change_id)
    data_changes.resend(change, actor())
    flash(_("Tautan baru sudah dikirim; tautan lama tidak berlaku lagi."), "success")
    return redirect(url_for("verifier.detail", account_id=change.account_id), 303)


@bp.post("/perubahan-data/<int:change_id>/batalkan")
@on_error(_back_to_detail)
def cancel_data_change(change_id: int):
    """Withdraw a migration the central RA has not decided yet, or a data update not confirmed yet."""
    change = _change(change_id)
    data_changes.cancel(change, actor())
    flash(_("Permintaan PD-%(id)d dibatalkan.", id=change.id), "success")
    return redirect(url_for("verifier.detail", account_id=change.account_id), 303)


@bp.get("/perubahan-data/<int:change_id>/<any(formulir, ditandatangani):which>.pdf")
def data_change_pdf(change_id: int, which: str):
    """Serve the rendered or the signed form (kept under the instance folder)."""
    change = _change(change_id)
    path = data_changes.stored(change.form_path if which == "formulir" else change.signed_path)
    if path is None or change.kind != ChangeKind.MIGRATION:
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"PD-{change.id}-{which}.pdf", max_age=0)


@bp.get("/perubahan-data")
def data_change_list():
    """List the agency's data-change requests and migration forms, waiting ones first by default."""
    state = request.args.get("status", "waiting")
    kind, q = request.args.get("jenis", ""), request.args.get("q", "").strip()
    page = request.args.get("halaman", 1, type=int)
    scope = current_user.agency_id if current_user.role == Role.VERIFIER else None
    rows, more = data_changes.page_of(data_changes.list_query(kind, state, q, scope), page)
    return render("verifier/data_changes.html", "data_changes/_rows.html", changes=rows, more=more, page_number=page,
                  state_filter=state, kind=kind, q=q, clock=data_changes.clock, endpoint="verifier.data_change_list",
                  link=lambda change: url_for("verifier.detail", account_id=change.account_id))
