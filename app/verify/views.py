"""Verification pages (F8), open to everyone: ``/verify`` checks an uploaded PDF, ``/verify/<id>`` shows a record."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from .. import throttle
from ..domain.signing import validation
from ..domain.signing.signatures import DocumentRefused
from ..platform import audit
from ..web import actor, format_wib, render

bp = Blueprint("verify", __name__, url_prefix="/verify")
bp.add_app_template_filter(format_wib, "wib")


def _file_mb() -> int:
    return int(current_app.config.get("MAX_PDF_BYTES", 20 * 1024 * 1024)) // (1024 * 1024)


@bp.errorhandler(413)
def too_large(error):
    """Explain the size limit instead of a bare 413."""
    message = _("Berkas terlalu besar untuk diperiksa: maksimal %(mb)d MB.", mb=_file_mb())
    return render("verify/upload.html", "verify/_result.html", 413, check=None, error=message, file_mb=_file_mb())


@bp.route("", methods=["GET", "POST"])
@throttle.verify
def upload():
    """Upload a PDF and show, for each signature, signer, time, time stamp, integrity, trust, revocation and level."""
    if request.method == "GET":
        return render("verify/upload.html", None, check=None, error=None, file_mb=_file_mb())
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return render("verify/upload.html", "verify/_result.html", 422, check=None,
                      error=_("Pilih berkas PDF yang akan diperiksa."), file_mb=_file_mb())
    filename = os.path.basename(storage.filename.replace("\\", "/"))[:255] or "dokumen.pdf"
    data = storage.read()
    try:
        check = validation.check_pdf(filename, data)
    except DocumentRefused as exc:  # 413 when over a bound on PDFs, 422 otherwise
        return render("verify/upload.html", "verify/_result.html", exc.status, check=None, error=exc.message,
                      file_mb=_file_mb())
    audit.record(actor(), "document.verify", "document", None,
           details={"sha256": hashlib.sha256(data).hexdigest(), "signatures": len(check.signatures),
                    "ok": all(s.report.ok for s in check.signatures) if check.signatures else None})
    return render("verify/upload.html", "verify/_result.html", check=check, error=None, file_mb=_file_mb())


def _record(public_id: str):
    view = validation.record_view(public_id)
    if view is None:
        abort(404, _("Catatan tanda tangan ini tidak ditemukan. Periksa kembali kode QR atau tautannya."))
    return view


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.get("/<public_id>", endpoint="record")
def record_page(public_id: str):
    """Show the record behind a stamp's QR code; the document itself only to its parties."""
    view = _record(public_id)
    party = validation.is_party(view.document, _viewer_id())
    return render("verify/record.html", None, view=view, party=party)


@bp.get("/<public_id>/dokumen")
def document(public_id: str):
    """Download the signed document; only its signer or the owner or a signer of its workflow may (404 otherwise)."""
    view = _record(public_id)
    if not validation.is_party(view.document, _viewer_id()):
        abort(404)
    path = Path(current_app.instance_path) / view.document.stored_path
    if not path.is_file():
        abort(404, _("Berkas yang ditandatangani tidak ditemukan di server. Hubungi admin."))
    stem, ext = os.path.splitext(view.document.filename)
    return send_file(io.BytesIO(path.read_bytes()), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{stem}-ditandatangani{ext or '.pdf'}", max_age=0)
