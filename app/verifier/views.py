"""Verifier pages (F1, F3); a verifier sees and acts on their own agency only (404 for anything else)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager

from ..domain.enrolment import csv_import, registration, registries
from ..domain.errors import InputError
from ..extensions import db
from ..lifecycle import AccountStatus
from ..models import Account, Agency, AuditEvent, RenewalRequest, Role, SubscriberProfile
from ..web import actor, on_error, render, require_role, settle

bp = Blueprint("verifier", __name__, url_prefix="/verifikator")
PAGE_SIZE = 25
STAFF = (Role.VERIFIER, Role.CENTRAL_RA, Role.ADMIN)
RENEWAL = "RENEWAL"  # the queue filter for subscribers waiting for a renewal link (F12)


@bp.before_request
@login_required
def staff_only():
    """Let only verifiers (and the central RA and admins) in."""
    require_role(*STAFF)


def _scoped(query):
    """Limit a query on accounts to the verifier's agency (the central RA and admins see all)."""
    if current_user.role == Role.VERIFIER:
        return query.where(Account.agency_id == current_user.agency_id)
    return query


def _account(account_id: int) -> Account:
    account = db.session.execute(
        _scoped(select(Account).where(Account.id == account_id, Account.role == Role.SUBSCRIBER))
    ).scalar_one_or_none()
    if account is None:
        abort(404)
    return account


def _agency() -> Agency:
    agency = db.session.get(Agency, current_user.agency_id) if current_user.agency_id else None
    if agency is None:
        abort(403, _("Akun Anda tidak terhubung ke instansi mana pun."))
    return agency


def queue_query(q: str = "", status: str = "", before: int | None = None):
    """Return the queue's query over every agency (scope it): search, status filter, keyset page, newest first, one extra row."""
    query = select(Account).join(SubscriberProfile).where(Account.role == Role.SUBSCRIBER).options(contains_eager(Account.profile))
    if status == RENEWAL:
        waiting = select(RenewalRequest.account_id).where(RenewalRequest.handled_at.is_(None))
        query = query.where(Account.id.in_(waiting))
    elif status in AccountStatus.__members__:
        query = query.where(Account.status == AccountStatus(status))
    if q.isdigit() and len(q) in (16, 18):  # a whole NIK or NIP: looked up through their indexes, no scan
        identity = select(SubscriberProfile.account_id).where(or_(SubscriberProfile.nik == q, SubscriberProfile.nip == q))
        query = query.where(Account.id.in_(identity))
    elif q:
        like = f"%{q.lower()}%"
        query = query.where(or_(Account.name.ilike(like), Account.email.ilike(like)))
    if before:
        query = query.where(Account.id < before)
    return query.order_by(Account.id.desc()).limit(PAGE_SIZE + 1)


@bp.get("/")
def queue():
    """List subscribers with search, a status filter and keyset pagination (newest first)."""
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    before = request.args.get("sebelum", type=int)
    rows = db.session.execute(_scoped(queue_query(q, status, before))).scalars().all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        "verifier/queue.html", "verifier/_rows.html",
        accounts=rows, q=q, status_filter=status, statuses=list(AccountStatus),
        next_before=rows[-1].id if more and rows else None,
    )


def _register_page(error: str | None = None, field: str | None = None, status: int = 200):
    return render("verifier/register.html", None, status, agency=_agency(), error=error, field=field, form=request.form)


@bp.route("/daftar", methods=["GET", "POST"])
@on_error(lambda error: _register_page(error.message, error.field, error.status))
def register():
    """Register one subscriber of the verifier's agency (F1)."""
    agency = _agency()
    if request.method == "GET":
        return _register_page()
    account = registration.register(agency, registration.validate_registration(request.form, agency), actor())
    flash(_("%(name)s terdaftar; tautan aktivasi dikirim ke %(email)s.", name=account.name, email=account.email), "success")
    return redirect(url_for("verifier.detail", account_id=account.id))


@bp.route("/impor", methods=["GET", "POST"])
def import_csv():
    """Upload a CSV of subscribers; rows are checked in chunks while the page shows progress, then all registered or none."""
    agency = _agency()
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            job = csv_import.start(agency.id, upload.read() if upload else b"", current_user.id, request.form.get("letter", ""))
        except InputError as exc:
            return render("verifier/import.html", None, 422, agency=agency, error=str(exc), job=None)
        return render("verifier/import.html", "verifier/_import_progress.html", agency=agency, error=None, job=job)
    return render("verifier/import.html", None, agency=agency, error=None, job=None)


@bp.post("/impor/<job_id>")
def import_step(job_id: str):
    """Check the next chunk of an import (registering every row after the last) and return its progress (HTMX polls this)."""
    agency = _agency()
    job = csv_import.step(job_id, agency, current_user.id, actor())
    if job is None:
        abort(404)
    return render("verifier/import.html", "verifier/_import_progress.html", agency=agency, error=None, job=job)


def _detail(account: Account, error: str | None = None, status: int = 200):
    profile = account.profile
    person = servant = None
    registry_error = None
    try:
        person = registries.registry().find_person(profile.nik)
        servant = registries.registry().find_civil_servant(profile.nip) if profile.nip and profile.nip != profile.nik else None
    except registries.RegistryUnavailable as exc:
        registry_error = str(exc)
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.subject_type == "account", AuditEvent.subject_id == str(account.id)).order_by(AuditEvent.id)
    ).scalars().all()
    return render(
        "verifier/detail.html", "verifier/_decision.html", status,
        account=account, profile=profile, person=person, servant=servant, registry_error=registry_error,
        events=events, error=error, can_decide=registration.can_decide(account),
        pending=registration.pending_request(account),
    )


@bp.get("/akun/<int:account_id>")
def detail(account_id: int):
    """Show registry data, the registry photo beside the selfie and its score, and the actions allowed now."""
    return _detail(_account(account_id))


def _image(path: Path | None):
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=0)


@bp.get("/akun/<int:account_id>/swafoto")
def selfie(account_id: int):
    """Serve the subscriber's selfie (kept under the instance folder)."""
    profile = _account(account_id).profile
    return _image(registration.selfie_folder() / profile.selfie_path if profile.selfie_path else None)


@bp.get("/akun/<int:account_id>/foto-registri")
def registry_photo(account_id: int):
    """Serve the population-registry photo."""
    profile = _account(account_id).profile
    data = registries.registry().photo(profile.nik)
    if data is None:
        abort(404)
    from io import BytesIO

    return send_file(BytesIO(data), mimetype="image/jpeg", max_age=0)


@bp.post("/akun/<int:account_id>/setujui")
def approve(account_id: int):
    """Approve: ``VERIFIED``, and the set-passphrase link goes out."""
    account = _account(account_id)
    if not registration.can_decide(account):
        return _detail(account, _("Akun ini tidak sedang menunggu verifikasi."), 409)
    password = registration.approve(account, actor())
    settle(True)  # the one-time password is mailed directly (not through the outbox): only once it is stored
    if not registration.send_account_message(account, password):
        return _detail(account, _("Data disetujui dan tautan penerbitan dikirim, tetapi e-mail akun portal (kata sandi sekali pakai) "
                                  "gagal terkirim. Minta admin mengatur ulang kata sandi portal pemohon."))
    return _detail(account)


@bp.post("/akun/<int:account_id>/tolak")
@on_error(lambda error, account_id: _detail(_account(account_id), error.message, error.status))
def reject(account_id: int):
    """Reject with a reason; the subscriber gets a new activation link to correct the data."""
    account = _account(account_id)
    if not registration.can_decide(account):
        return _detail(account, _("Akun ini tidak sedang menunggu verifikasi."), 409)
    registration.reject(account, request.form.get("reason", ""), actor())
    return _detail(account)


@bp.post("/akun/<int:account_id>/kirim-ulang")
@on_error(lambda error, account_id: _detail(_account(account_id), error.message,
                                            409 if isinstance(error, InputError) else error.status))
def resend(account_id: int):
    """Resend the link that fits the account's state (activation or set passphrase); the old link dies."""
    account = _account(account_id)
    if registration.pending_request(account) is not None:
        registration.send_set_passphrase(account, actor())
    else:
        registration.resend_activation(account, actor())
    flash(_("Tautan baru sudah dikirim; tautan lama tidak berlaku lagi."), "success")
    return _detail(account)
