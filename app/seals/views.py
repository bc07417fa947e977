"""Seal pages: the agency head and verifiers request and follow their agency's seals; the central RA decides requests.

The agency's pages show only its own seals (another agency's seal is a 404): status, custodians, allowed API
clients, activations, documents sealed per day; the agency head confirms a verifier's proposal, revokes a seal
(CRL and OCSP at once) and ends an activation. The central RA approves a request, which issues the seal, or
rejects it with a reason.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from .. import lifecycle
from ..domain.errors import DomainError, InputError
from ..domain.seals import activation, requests
from ..extensions import db
from ..lifecycle import AccountStatus, SealStatus
from ..models import Account, ApiClient, Role, Seal, SealActivation
from ..models.api_client import api_client_agencies
from ..models.types import utcnow
from ..web import actor, on_error, render, require_role

bp = Blueprint("seals", __name__, url_prefix="/segel")
AGENCY = (Role.AGENCY_HEAD, Role.VERIFIER)
RA = (Role.CENTRAL_RA, Role.ADMIN)
DAYS = 14
"""How many days the documents-sealed-per-day table covers."""
DECIDED_SHOWN = 20
"""How many recently decided requests the central RA's page lists under the open ones."""
# The RFC 5280 reasons an agency head may give for revoking a seal (``signer.revocation.REASONS`` spelling).
REASONS = {
    "key_compromise": lazy_gettext("Kode aktivasi atau rahasia aplikasi diketahui pihak lain (keyCompromise)"),
    "superseded": lazy_gettext("Diganti segel baru (superseded)"),
    "cessation_of_operation": lazy_gettext("Segel tidak dipakai lagi (cessationOfOperation)"),
    "unspecified": lazy_gettext("Alasan lain (unspecified)"),
}


@bp.before_request
@login_required
def signed_in_only():
    """Let only signed-in accounts in; each page names the roles it serves."""


def _me() -> Account:
    return current_user._get_current_object()


def _agency_seal(seal_id: int) -> Seal:
    """Return a seal of the signed-in person's agency; another agency's seal is not found."""
    require_role(*AGENCY)
    seal = db.session.get(Seal, seal_id)
    if seal is None or seal.agency_id != current_user.agency_id:
        abort(404)
    return seal


def _ra_seal(seal_id: int) -> Seal:
    """Return any agency's seal for the central RA."""
    require_role(*RA)
    seal = db.session.get(Seal, seal_id)
    if seal is None:
        abort(404)
    return seal


def _staff(agency_id: int) -> list[Account]:
    """Return who may hold the agency's seal codes: its head, its verifiers and its verified subscribers."""
    return list(db.session.execute(
        select(Account).where(Account.agency_id == agency_id, or_(
            Account.role.in_(AGENCY), (Account.role == Role.SUBSCRIBER) & (Account.status == AccountStatus.VERIFIED)
        )).order_by(Account.name, Account.id)
    ).scalars())


def _clients(agency_id: int) -> list[ApiClient]:
    """Return the agency's enabled API clients."""
    return list(db.session.execute(
        select(ApiClient).join(api_client_agencies, api_client_agencies.c.client_id == ApiClient.id)
        .where(api_client_agencies.c.agency_id == agency_id, ApiClient.disabled_at.is_(None)).order_by(ApiClient.name)
    ).scalars())


def _live(activations: list[SealActivation]) -> list[SealActivation]:
    """Return the activations not ended and not expired."""
    now = utcnow()
    return [a for a in activations if a.ended_at is None and (a.expires_at is None or a.expires_at > now)]


def _per_day(seal: Seal) -> list[tuple[date, int]]:
    """Return (day, documents sealed) for each of the last :data:`DAYS` UTC days, oldest first, days with none as 0."""
    counts = dict(requests.documents_per_day(seal, DAYS))
    today = utcnow().date()
    return [(day, counts.get(day, 0)) for day in (today - timedelta(days=n) for n in range(DAYS - 1, -1, -1))]


def _ids(name: str) -> list[int]:
    """Return the form's checked ids under ``name``, refusing anything but numbers."""
    try:
        return [int(value) for value in request.form.getlist(name)]
    except ValueError as exc:
        raise InputError(_("Pilihan tidak dikenal."), name) from exc


def _index(error: str | None = None, field: str | None = None, status: int = 200, form: dict | None = None,
           notice: str | None = None):
    agency_id = current_user.agency_id
    seals = requests.seals_of_agency(agency_id)
    live = {seal.id: _live(requests.activations_of(seal, 5)) for seal in seals if seal.status == SealStatus.ISSUE}
    return render("seals/index.html", "seals/_seals.html", status, seals=seals, live=live, staff=_staff(agency_id),
                  clients=_clients(agency_id), error=error, field=field, form=form or {}, notice=notice)


@bp.get("/")
def index():
    """List the agency's seals and offer the request form."""
    require_role(*AGENCY)
    return _index()


def _request_refused(error: DomainError):
    form = {"name": request.form.get("name", ""), "custodians": request.form.getlist("custodians"),
            "clients": request.form.getlist("clients")}
    return _index(error.message, error.field, error.status, form)


@bp.post("/")
@on_error(_request_refused)
def request_seal():
    """Request a seal: the agency head's request goes to the central RA, a verifier's waits for the agency head."""
    require_role(*AGENCY)
    me = _me()
    seal = requests.request_seal(me.agency_id, request.form.get("name", ""), me, actor(),
                                 _ids("custodians"), _ids("clients"))
    if seal.status == SealStatus.REQUESTED:
        notice = _("Permintaan segel %(name)s dikirim ke RA pusat.", name=seal.name)
    else:
        notice = _("Usulan segel %(name)s menunggu konfirmasi pimpinan instansi.", name=seal.name)
    return _index(notice=notice)


def _detail(seal: Seal, error: str | None = None, status: int = 200, **extra):
    activations = requests.activations_of(seal)
    per_day = _per_day(seal)
    return render("seals/detail.html", "seals/_seal.html", status, seal=seal, activations=activations,
                  live=_live(activations), per_day=per_day, peak=max(count for _day, count in per_day), reasons=REASONS,
                  error=error,
                  head=current_user.role == Role.AGENCY_HEAD, **extra)


def _detail_refused(error: DomainError, seal_id: int, **_view_args):
    return _detail(_agency_seal(seal_id), error.message, error.status)


@bp.get("/<int:seal_id>")
def detail(seal_id: int):
    """Show a seal: status, custodians, allowed clients, activations and the documents sealed per day."""
    return _detail(_agency_seal(seal_id))


def _head_seal(seal_id: int) -> Seal:
    """Return a seal of the agency for a step only its head may take."""
    require_role(Role.AGENCY_HEAD)
    return _agency_seal(seal_id)


@bp.post("/<int:seal_id>/konfirmasi")
@on_error(_detail_refused)
def confirm(seal_id: int):
    """Confirm a verifier's proposal as the agency head: it goes to the central RA."""
    seal = _head_seal(seal_id)
    requests.confirm_seal(seal, _me(), actor())
    return _detail(seal, notice=_("Usulan dikonfirmasi dan dikirim ke RA pusat."))


@bp.post("/<int:seal_id>/tolak")
@on_error(_detail_refused)
def decline(seal_id: int):
    """Turn down a verifier's proposal as the agency head, saying why."""
    seal = _head_seal(seal_id)
    if seal.status != SealStatus.PROPOSED:  # a request already with the central RA is the RA's to reject
        raise lifecycle.Forbidden("seal", seal.status, "reject")
    requests.reject_seal(seal, _me(), request.form.get("reason", ""), actor())
    return _detail(seal, notice=_("Usulan segel ditolak."))


@bp.post("/<int:seal_id>/cabut")
@on_error(_detail_refused)
def revoke(seal_id: int):
    """Revoke a seal after a confirmation step: its certificate is on the CRL and OCSP at once."""
    seal = _head_seal(seal_id)
    reason = request.form.get("reason", "")
    if reason not in REASONS:
        raise InputError(_("Pilih alasan pencabutan dari daftar."), "reason")
    if request.form.get("confirm") != "ya":
        return _detail(seal, confirming=reason)
    requests.revoke_seal(seal, reason, actor())
    return _detail(seal, notice=_("Segel %(name)s dicabut; CRL dan OCSP sudah memuat pencabutannya.", name=seal.name))


@bp.post("/<int:seal_id>/aktivasi/<int:activation_id>/akhiri")
@on_error(_detail_refused)
def end_activation(seal_id: int, activation_id: int):
    """End one of the seal's live activations: its codes stop working at once."""
    seal = _agency_seal(seal_id)
    live = {a.id: a for a in _live(requests.activations_of(seal))}
    if activation_id not in live:
        abort(404)
    activation.end_activation(live[activation_id], actor())
    return _detail(seal, notice=_("Aktivasi diakhiri; aplikasi harus meminta aktivasi baru untuk menyegel."))


def _requests_page(error: str | None = None, status: int = 200, notice: str | None = None):
    waiting = list(db.session.execute(
        select(Seal).where(Seal.status == SealStatus.REQUESTED).order_by(Seal.id)).scalars())
    decided = list(db.session.execute(
        select(Seal).where(Seal.decided_at.is_not(None)).order_by(Seal.decided_at.desc()).limit(DECIDED_SHOWN)).scalars())
    return render("seals/requests.html", "seals/_requests.html", status, waiting=waiting, decided=decided, error=error,
                  notice=notice)


@bp.get("/ra")
def ra_requests():
    """Show the central RA the seal requests of every agency, and the latest decisions."""
    require_role(*RA)
    return _requests_page()


@bp.post("/ra/<int:seal_id>/setujui")
@on_error(lambda error, seal_id: _requests_page(error.message, error.status))
def approve(seal_id: int):
    """Approve a seal request, which issues the seal: its key in the HSM and its organisation certificate."""
    seal = _ra_seal(seal_id)
    requests.approve_seal(seal, _me(), actor())
    certificate = requests.issue_seal(seal, actor())
    return _requests_page(notice=_("Segel %(name)s disetujui dan diterbitkan (sertifikat %(serial)s).",
                                   name=seal.name, serial=certificate.serial))


@bp.post("/ra/<int:seal_id>/tolak")
@on_error(lambda error, seal_id: _requests_page(error.message, error.status))
def reject(seal_id: int):
    """Reject a seal request with a reason."""
    seal = _ra_seal(seal_id)
    if seal.status != SealStatus.REQUESTED:  # a proposal is the agency head's to turn down
        raise lifecycle.Forbidden("seal", seal.status, "reject")
    requests.reject_seal(seal, _me(), request.form.get("reason", ""), actor())
    return _requests_page(notice=_("Permintaan segel %(name)s ditolak.", name=seal.name))
