"""Reactivation of a suspended account by its agency's verifier (F15): the three documents, legalised, go to the RA."""

from __future__ import annotations

from io import BytesIO

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from ..domain.accounts import evidence
from ..domain.certificates import suspensions
from ..domain.errors import DomainError
from ..extensions import db
from ..models import Account, ReactivationDocument
from ..models.suspension import EVIDENCE_KINDS
from ..web import actor, on_error
from .views import _account, _detail, bp


@bp.app_template_global()
def reactivation_of(account: Account) -> dict | None:
    """Return what the detail page's reactivation card shows: the open suspension and its documents, or None."""
    row = suspensions.current(account)
    if row is None:
        return None
    documents = {document.kind: document for document in row.documents}
    return {"suspension": row, "kinds": [(kind, suspensions.KIND_LABELS[kind], documents.get(kind)) for kind in EVIDENCE_KINDS],
            "missing": suspensions.missing_documents(row), "max_mb": evidence.max_megabytes()}


def _refused(error: DomainError, account_id: int):
    """Show why a reactivation step was refused on the detail page (422 for a refused suspension step)."""
    status = 422 if isinstance(error, suspensions.SuspensionError) else error.status
    return _detail(_account(account_id), error.message, status)


@bp.post("/akun/<int:account_id>/aktivasi-ulang/berkas")
@on_error(_refused)
def upload_reactivation_document(account_id: int):
    """Upload one of the three reactivation documents (PDF, JPEG or PNG; checked by content)."""
    account = _account(account_id)
    row = suspensions.current(account)
    if row is None:
        return _detail(account, _("Akun ini tidak sedang ditangguhkan."), 409)
    upload = request.files.get("file")
    suspensions.save_document(row, request.form.get("kind", ""), upload.filename if upload else "",
                              upload.read() if upload else b"", actor())
    flash(_("Dokumen tersimpan."), "success")
    return redirect(url_for("verifier.detail", account_id=account.id))


@bp.post("/akun/<int:account_id>/aktivasi-ulang/legalisasi")
@on_error(_refused)
def legalise_reactivation(account_id: int):
    """Legalise the uploaded documents: the request goes to the central RA."""
    account = _account(account_id)
    row = suspensions.current(account)
    if row is None:
        return _detail(account, _("Akun ini tidak sedang ditangguhkan."), 409)
    suspensions.legalise(row, request.form.get("legalised") == "yes", actor())
    flash(_("Dokumen dilegalisasi; permintaan aktivasi ulang diteruskan ke RA pusat."), "success")
    return redirect(url_for("verifier.detail", account_id=account.id))


@bp.get("/akun/<int:account_id>/aktivasi-ulang/berkas/<int:document_id>")
def reactivation_document(account_id: int, document_id: int):
    """Serve a reactivation document to the verifier of the account's agency or the central RA."""
    account = _account(account_id)
    document = db.session.get(ReactivationDocument, document_id)
    if document is None or document.suspension.account_id != account.id:
        abort(404)
    path = suspensions.evidence_path(document)
    if path is None:
        abort(404)
    response = send_file(BytesIO(path.read_bytes()), mimetype=document.content_type, max_age=0, download_name=document.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
