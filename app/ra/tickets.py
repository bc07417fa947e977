"""The central RA's migration tickets and data-change requests, each with its service clock (F14)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..domain.certificates import data_changes
from ..domain.errors import InputError
from ..extensions import db
from ..models import DataChange
from ..models.types import utcnow
from ..web import actor, on_error, render
from .views import bp


def _now():
    """Return the moment the clocks are shown for (tests move it)."""
    return utcnow()


def _change(change_id: int) -> DataChange:
    change = db.session.get(DataChange, change_id)
    if change is None:
        abort(404)
    return change


@bp.get("/perubahan-data")
def tickets():
    """List migration tickets and data-change requests: search, waiting/done filter, pages, clocks."""
    state = request.args.get("status", "waiting")
    kind, q = request.args.get("jenis", ""), request.args.get("q", "").strip()
    page = request.args.get("halaman", 1, type=int)
    rows, more = data_changes.page_of(data_changes.list_query(kind, state, q), page)
    now = _now()
    return render("ra/tickets.html", "data_changes/_rows.html", changes=rows, more=more, page_number=page, state_filter=state,
                  kind=kind, q=q, clock=lambda change: data_changes.clock(change, now), endpoint="ra.tickets",
                  link=lambda change: url_for("ra.ticket", change_id=change.id))


def _ticket(change: DataChange, error: str | None = None, status: int = 200):
    return render("ra/ticket.html", "ra/_decision.html", status, change=change, error=error,
                  clock=data_changes.clock(change, _now()), labels=data_changes.LABELS)


@bp.get("/perubahan-data/<int:change_id>")
def ticket(change_id: int):
    """Show a ticket: the diff, the signed form, the clock, and the decision the state allows."""
    return _ticket(_change(change_id))


@bp.post("/perubahan-data/<int:change_id>/setujui")
@on_error(lambda error, change_id: _ticket(_change(change_id), error.message,
                                           409 if isinstance(error, InputError) else error.status))
def approve(change_id: int):
    """Approve a migration: the subscriber moves to the new agency and must confirm by link."""
    change = _change(change_id)
    data_changes.approve(change, actor(), current_user._get_current_object())
    flash(_("Migrasi disetujui: %(name)s sekarang di %(agency)s dan menerima tautan Verifikasi Perubahan Data.",
            name=change.account.name, agency=change.target_agency.name), "success")
    return redirect(url_for("ra.ticket", change_id=change.id), 303)


@bp.post("/perubahan-data/<int:change_id>/tolak")
@on_error(lambda error, change_id: _ticket(_change(change_id), error.message,
                                           422 if isinstance(error, InputError) else error.status))
def reject(change_id: int):
    """Reject a migration ticket with a reason."""
    change = _change(change_id)
    data_changes.reject(change, request.form.get("reason", ""), actor(), current_user._get_current_object())
    return redirect(url_for("ra.ticket", change_id=change.id), 303)


@bp.get("/perubahan-data/<int:change_id>/ditandatangani.pdf")
def signed_form(change_id: int):
    """Serve the form as the agency head signed it."""
    change = _change(change_id)
    path = data_changes.stored(change.signed_path)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"PD-{change.id}-ditandatangani.pdf", max_age=0)
