"""Workflow pages (F7): my workflows, a new workflow, progress with signing or declining in turn, the current PDF.

Only the owner and the signers of a workflow see it; anyone else gets 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..domain.errors import DomainError
from ..domain.signing import signatures, workflows
from ..domain.signing.signatures import Details, Upload
from ..domain.signing.workflows import SignerSpec, WorkflowError
from ..extensions import db, htmx
from ..models import Account, Role, Workflow, WorkflowStatus
from ..web import actor, on_error, render, require_role

bp = Blueprint("workflows", __name__, url_prefix="/alur")
PAGE_SIZE = 25
WIB = timezone(timedelta(hours=7), "WIB")


@bp.before_request
@login_required
def subscribers_only():
    """Workflows are for subscribers (certificate holders and the people who send them documents)."""
    require_role(Role.SUBSCRIBER)


def wib(moment: datetime | None) -> str:
    """Format a moment in Western Indonesian Time."""
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M") + " WIB" if moment else ""


def _workflow(public_id: str) -> Workflow:
    """Return the workflow if the signed-in account is involved in it, else 404 (never say it exists)."""
    workflow = workflows.get(public_id)
    if workflow is None or not workflows.involved(workflow, current_user):
        abort(404)
    return workflow


def _names(account_ids) -> dict[int, str]:
    return {account_id: signatures.display_name(db.session.get(Account, account_id)) for account_id in set(account_ids)}


def _detail_context(workflow: Workflow, **extra) -> dict:
    mine = workflows.signer_of(workflow, current_user)
    current = workflows.current_signer(workflow)
    waiting = None
    if mine is not None and workflow.status == WorkflowStatus.ACTIVE and mine.signed_at is None and current is not mine:
        waiting = _("Belum giliran Anda: menunggu penandatangan ke-%(k)d (%(name)s).",
                    k=current.position, name=signatures.display_name(db.session.get(Account, current.account_id)))
    return dict(
        workflow=workflow,
        signers=workflow.signers,
        names=_names([workflow.owner_id, *(s.account_id for s in workflow.signers)]),
        mine=mine,
        current=current,
        my_turn=mine is not None and current is mine,
        waiting=waiting,
        signed=workflows.signed_count(workflow),
        total=len(workflow.signers),
        wib=wib,
        error=extra.pop("error", None),
        notice=extra.pop("notice", None),
        **extra,
    )


@bp.get("")
def index():
    """List the workflows I own or sign in, newest first, with their progress."""
    before = request.args.get("sebelum", type=int)
    rows = workflows.for_account(current_user, before, PAGE_SIZE)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    items = []
    for workflow in rows:
        mine = workflows.signer_of(workflow, current_user)
        items.append({
            "workflow": workflow,
            "signed": workflows.signed_count(workflow),
            "total": len(workflow.signers),
            "mine": mine,
            "my_turn": mine is not None and workflows.current_signer(workflow) is mine,
        })
    return render(
        "workflows/index.html", None, items=items, names=_names(w.owner_id for w in rows), wib=wib,
        next_before=rows[-1].id if more and rows else None,
    )


def _number(raw: str) -> int | None:
    """Return a plain decimal number of at most 9 digits, else None (no overflow, no other scripts' digits)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _signer_rows(form) -> tuple[list[dict], str | None]:
    """Return the signer rows of the form (account, page text, position) and the first problem found, if any.

    Only accounts of my own agency are looked up: another agency's account id is "not found" (see
    :func:`workflows.agency_account`).
    """
    rows, problem = [], None
    ids, pages, slots = form.getlist("signer"), form.getlist("page"), form.getlist("slot")
    for number, raw in enumerate(ids, start=1):
        account_id = _number(raw)
        account = workflows.agency_account(current_user.agency_id, account_id) if account_id is not None else None
        page = pages[number - 1].strip() if number - 1 < len(pages) else ""
        slot = slots[number - 1] if number - 1 < len(slots) else ""
        if account is None:
            problem = problem or _("Penandatangan ke-%(k)d tidak ditemukan. Hapus lalu cari lagi.", k=number)
            continue
        if page and _number(page) is None:
            problem = problem or _("Halaman penandatangan ke-%(k)d harus berupa angka (1, 2, ...), atau kosongkan untuk halaman terakhir.", k=number)
        rows.append({"account": account, "page": page, "slot": slot})
    return rows, problem


@bp.route("/baru", methods=["GET", "POST"])
def create():
    """Upload a PDF, give it a title and name the signers in order, each with a page and a position."""
    if current_user.agency_id is None:
        abort(403, _("Akun Anda tidak terhubung ke instansi mana pun."))
    error = field = None
    rows: list[dict] = []
    if request.method == "POST":
        rows, error = _signer_rows(request.form)
        field = "signers" if error else None
        if error is None:
            upload = request.files.get("file")
            try:
                workflow = workflows.create(
                    current_user,
                    request.form.get("title", ""),
                    Upload(upload.filename or "", upload.read()) if upload else Upload("", b""),
                    [SignerSpec(row["account"], int(row["page"]) if row["page"] else None, row["slot"]) for row in rows],
                    actor(),
                )
            except WorkflowError as exc:
                error, field = exc.message, exc.field
            else:
                first = workflow.signers[0]
                flash(_("Alur dibuat. Penandatangan ke-1 (%(name)s) sudah diberi tahu.",
                        name=signatures.display_name(db.session.get(Account, first.account_id))), "success")
                return redirect(url_for("workflows.detail", public_id=workflow.public_id))
    return render(
        "workflows/new.html", None, 422 if error else 200,
        error=error, field=field, form=request.form, rows=rows, positions=workflows.POSITIONS,
        position_label=workflows.position_label, max_signers=workflows.MAX_SIGNERS, display_name=signatures.display_name,
    )


@bp.get("/cari")
def search():
    """Return the signer search results (subscribers of my agency with an active certificate)."""
    q = request.args.get("q", "").strip()
    accounts = workflows.search_signers(current_user.agency_id, q) if current_user.agency_id else []
    return render("workflows/_search_results.html", "workflows/_search_results.html", accounts=accounts, q=q,
                  display_name=signatures.display_name)


@bp.get("/penandatangan")
def signer_row():
    """Return one signer row for the new-workflow form (HTMX appends it to the list)."""
    account_id = request.args.get("akun", type=int)
    account = workflows.eligible_signer(current_user.agency_id, account_id) if account_id and current_user.agency_id else None
    if account is None:
        abort(404)
    index = request.args.get("n", default=0, type=int)
    row = {"account": account, "page": "", "slot": workflows.default_position(max(0, index))}
    return render("workflows/_signer_row.html", "workflows/_signer_row.html", row=row, positions=workflows.POSITIONS,
                  position_label=workflows.position_label, display_name=signatures.display_name, clear_results=True)


@bp.get("/<string(length=32):public_id>")
def detail(public_id: str):
    """Show who signed when, who is next, and the sign and decline forms when it is my turn."""
    workflow = _workflow(public_id)
    return render("workflows/detail.html", "workflows/_workflow.html", **_detail_context(workflow))


def _after_action(public_id: str, status: int, error: str | None, notice: str | None):
    """Answer a sign or decline: the fragment for HTMX, else the page (or a redirect after success)."""
    workflow = _workflow(public_id)
    if error is None and not htmx:
        flash(notice, "success")
        return redirect(url_for("workflows.detail", public_id=public_id))
    return render("workflows/detail.html", "workflows/_workflow.html", status,
                  **_detail_context(workflow, error=error, notice=notice))


def _refused(error: DomainError, public_id: str):
    return _after_action(public_id, 409 if isinstance(error, workflows.NotYourTurn) else 422, error.message, None)


@bp.post("/<string(length=32):public_id>/tandatangani")
@on_error(_refused)
def sign(public_id: str):
    """Sign with my passphrase when it is my turn."""
    workflow = _workflow(public_id)
    passphrase = request.form.get("passphrase", "")
    if not passphrase:
        return _after_action(public_id, 422, _("Isi passphrase Anda untuk menandatangani."), None)
    details = Details(reason=request.form.get("reason", "").strip()[:200], location=request.form.get("location", "").strip()[:200])
    mine = workflows.sign(workflow, current_user, passphrase, details, actor())
    if workflow.status == WorkflowStatus.COMPLETED:
        notice = _("Dokumen sudah Anda tandatangani. Semua penandatangan sudah menandatangani; alur selesai.")
    else:
        notice = _("Dokumen sudah Anda tandatangani (penandatangan ke-%(k)d). Penandatangan berikutnya sudah diberi tahu.", k=mine.position)
    return _after_action(public_id, 200, None, notice)


@bp.post("/<string(length=32):public_id>/tolak")
@on_error(_refused)
def decline(public_id: str):
    """Decline to sign, with a reason; the workflow stops and the owner is told."""
    workflow = _workflow(public_id)
    workflows.decline(workflow, current_user, request.form.get("reason", ""), actor())
    return _after_action(public_id, 200, None, _("Anda menolak menandatangani. Alur dihentikan dan pemilik dokumen sudah diberi tahu."))


@bp.get("/<string(length=32):public_id>/pdf")
def document(public_id: str):
    """Send the current PDF (with the signatures so far) to the people involved."""
    workflow = _workflow(public_id)
    try:
        path = workflows.current_file(workflow)
    except WorkflowError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=request.args.get("unduh") == "1",
                         download_name=workflows.download_name(workflow), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
