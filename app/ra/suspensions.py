"""The central RA's suspensions (F15): find an account and suspend it; decide reactivation requests, with SLA clocks."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.certificates import suspensions
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Account, Suspension
from ..verifier.views import PAGE_SIZE, queue_query
from ..web import actor, on_error, render
from .views import bp


def working(duration: timedelta | None) -> str:
    """Say an office-time duration in hours and minutes (``3 jam 5 menit kerja``)."""
    if duration is None:
        return "—"
    minutes = int(duration.total_seconds() // 60)
    return _("%(hours)d jam %(minutes)d menit kerja", hours=minutes // 60, minutes=minutes % 60)


def _page(error: str | None = None, status: int = 200):
    """Render the suspensions page: the account search and every suspension not finished yet."""
    q = request.values.get("q", "").strip()
    before = request.args.get("sebelum", type=int)
    found, next_before = [], None
    if q:
        found = db.session.execute(queue_query(q, "", before)).scalars().all()
        if len(found) > PAGE_SIZE:
            found, next_before = found[:PAGE_SIZE], found[PAGE_SIZE - 1].id
    rows = db.session.execute(
        select(Suspension).where(Suspension.authenticator_reset_at.is_(None)).order_by(Suspension.id)
    ).scalars().all()
    accounts = {a.id: a for a in db.session.execute(
        select(Account).where(Account.id.in_([row.account_id for row in rows]))).scalars()} if rows else {}
    requests = [row for row in rows if row.legalised_at and not row.reactivated_at]
    others = [row for row in rows if row not in requests]
    return render("ra/suspensions.html", None, status, q=q, found=found, next_before=next_before, requests=requests,
                  others=others, accounts=accounts, error=error, stage=suspensions.stage,
                  since=lambda moment: working(suspensions.working_since(moment)),
                  missing=suspensions.missing_documents, labels=suspensions.KIND_LABELS, suspendable=("VERIFIED", "UPDATE"))


@bp.get("/penangguhan")
def suspensions_page():
    """Show the account search and the suspensions with their clocks."""
    return _page()


def _suspension(suspension_id: int) -> Suspension:
    row = db.session.get(Suspension, suspension_id)
    if row is None:
        abort(404)
    return row


def _refused(error: DomainError, **_view_args):
    """Show why a step was refused on the suspensions page: a suspension step as 422, anything else with its status."""
    return _page(error.message, 422 if isinstance(error, suspensions.SuspensionError) else error.status)


@bp.post("/penangguhan/akun/<int:account_id>")
@on_error(_refused)
def suspend(account_id: int):
    """Suspend a compromised account with a reason."""
    account = db.session.get(Account, account_id)
    if account is None:
        abort(404)
    suspensions.suspend(account, request.form.get("reason", ""), actor())
    flash(_("Akun %(name)s ditangguhkan; semua sesinya berakhir.", name=account.name), "success")
    return redirect(url_for("ra.suspensions_page"))


@bp.post("/penangguhan/<int:suspension_id>/setujui")
@on_error(lambda error, suspension_id: _page(error.message, error.status))
def approve_reactivation(suspension_id: int):
    """Approve a legalised reactivation request: ``VERIFIED`` again and the reset-authenticator link goes out."""
    account = suspensions.reactivate(_suspension(suspension_id), actor())
    flash(_("Akun %(name)s diaktifkan ulang; tautan reset autentikator dikirim.", name=account.name), "success")
    return redirect(url_for("ra.suspensions_page"))


@bp.post("/penangguhan/<int:suspension_id>/kembalikan")
@on_error(_refused)
def return_reactivation(suspension_id: int):
    """Send a reactivation request back to the verifier with a reason."""
    suspensions.send_back(_suspension(suspension_id), request.form.get("reason", ""), actor())
    flash(_("Permintaan dikembalikan ke verifikator."), "success")
    return redirect(url_for("ra.suspensions_page"))


@bp.post("/penangguhan/<int:suspension_id>/kirim-ulang")
def resend_reset(suspension_id: int):
    """Send a new reset-authenticator link (the previous one stops working)."""
    row = _suspension(suspension_id)
    account = db.session.get(Account, row.account_id)
    if not suspensions.awaiting_authenticator_reset(account) or suspensions.latest(account).id != row.id:
        return _page(_("Tidak ada reset autentikator yang menunggu untuk akun ini."), 409)
    suspensions.send_reset_link(account, actor())
    flash(_("Tautan baru dikirim ke %(email)s.", email=account.email), "success")
    return redirect(url_for("ra.suspensions_page"))
