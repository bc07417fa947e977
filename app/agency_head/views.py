"""Agency head pages (F14): read the agency's data-change forms and sign them with one's own certificate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.certificates import data_changes
from ..domain.errors import DomainError, InputError
from ..domain.signing import signatures
from ..extensions import db
from ..models import ChangeKind, DataChange, Role
from ..web import actor, on_error, render, require_role

bp = Blueprint("agency_head", __name__, url_prefix="/pimpinan")


@bp.before_request
@login_required
def agency_heads_only():
    """Let only agency heads in."""
    require_role(Role.AGENCY_HEAD)


def _form(change_id: int) -> DataChange:
    change = db.session.get(DataChange, change_id)
    if change is None or change.kind != ChangeKind.MIGRATION or change.agency_id != current_user.agency_id:
        abort(404)
    return change


@bp.get("/")
def index():
    """List the agency's data-change forms, those waiting for a signature first."""
    state = request.args.get("status", "waiting")
    page = request.args.get("halaman", 1, type=int)
    query = data_changes.list_query(ChangeKind.MIGRATION.value, state, "", current_user.agency_id)
    rows, more = data_changes.page_of(query, page)
    return render("agency_head/index.html", None, changes=rows, more=more, page_number=page, state_filter=state)


def _refusal() -> str | None:
    try:
        signatures.signing_certificate(current_user._get_current_object())
    except signatures.SigningRefused as exc:
        return str(exc)
    return None


def _page(change: DataChange, error: str | None = None, status: int = 200):
    return render("agency_head/form.html", "agency_head/_sign.html", status, change=change, error=error,
                  refusal=_refusal(), labels=data_changes.LABELS)


@bp.get("/formulir/<int:change_id>")
def form(change_id: int):
    """Show a form with its before/after table and the signing box."""
    return _page(_form(change_id))


@bp.get("/formulir/<int:change_id>.pdf")
def form_pdf(change_id: int):
    """Serve the form to read before signing (or as signed, once signed)."""
    change = _form(change_id)
    path = data_changes.stored(change.signed_path or change.form_path)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"PD-{change.id}.pdf", max_age=0)


def _sign_refused(error: DomainError, change_id: int):
    return _page(_form(change_id), error.message, error.status)


@bp.post("/formulir/<int:change_id>")
@on_error(_sign_refused)
def sign(change_id: int):
    """Sign the form with the head's own certificate and passphrase; it becomes a ticket for the central RA."""
    change = _form(change_id)
    passphrase = request.form.get("passphrase", "")
    if not passphrase:
        raise InputError(_("Masukkan passphrase Anda."), "passphrase")
    data_changes.sign_form(change, current_user._get_current_object(), passphrase, actor())
    flash(_("Formulir PD-%(id)d ditandatangani dan diteruskan ke RA pusat.", id=change.id), "success")
    return redirect(url_for("agency_head.form", change_id=change.id), 303)
