"""Signing portal pages (F6) for subscribers: upload, placement, signing, results, downloads and history.

Uploads of a batch wait under ``instance/uploads/<id>/`` (see ``domain/signing/uploads``),
bound to the account and to this browser session; the key is unlocked once per
batch by ``signing.sign_documents``.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..domain.errors import DomainError
from ..domain.signing import signatures, uploads
from ..domain.signing.signatures import (
    Details,
    DocumentRefused,
    PassphraseWrong,
    Placement,
    SigningLocked,
    SigningRefused,
    Upload,
)
from ..extensions import db, htmx
from ..models import Role, SignedDocument
from ..web import actor, format_wib, on_error, render, require_role, settle

bp = Blueprint("signing", __name__, url_prefix="/tandatangan")
bp.add_app_template_filter(format_wib, "wib")
PAGE_SIZE = 20
MAX_TEXT = 200
MAX_ACTING = 150
ACTING_KINDS = ("Plh.", "Plt.")
KEEP_BATCHES = 5
KEEP_RESULTS = 3


@bp.before_request
@login_required
def subscribers_only():
    """Only subscribers sign; staff accounts get 403."""
    require_role(Role.SUBSCRIBER)


def _limits() -> dict:
    return {
        "file_mb": int(current_app.config.get("MAX_PDF_BYTES", 20 * 1024 * 1024)) // (1024 * 1024),
        "total_mb": int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024),
        "max_files": int(current_app.config.get("SIGNING_MAX_FILES", 20)),
        "ttl_minutes": uploads.ttl_seconds() // 60,
    }


@bp.errorhandler(413)
def too_large(error):
    """Explain the upload limits instead of a bare 413."""
    limits = _limits()
    message = _("Unggahan terlalu besar: batas satu kali unggah %(total)d MB dan tiap berkas maksimal %(file)d MB. "
                "Unggah lebih sedikit berkas sekaligus atau perkecil berkasnya.", total=limits["total_mb"], file=limits["file_mb"])
    return render("signing/upload.html", None, 413, errors=[message], refusal=None, limits=limits)


def _account():
    return current_user._get_current_object()


def _clean_name(raw: str | None) -> str:
    """Return the file's own name (no folders a browser may send), at most 255 characters."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip() or "dokumen.pdf"
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext)] + ext
    return name


def _refusal() -> str | None:
    """Return why this account cannot sign now, or None."""
    try:
        signatures.signing_certificate(_account())
    except SigningRefused as exc:
        return str(exc)
    return None


def _remember(key: str, value, keep: int) -> None:
    items = [item for item in session.get(key, []) if item != value]
    session[key] = ([value] + items)[:keep]


def _batch_or_none(batch_id: str):
    if batch_id not in session.get("signing_batches", []):
        return None
    return uploads.load(batch_id, current_user.id)


def _expired_batch():
    flash(_("Unggahan tidak ditemukan atau sudah kedaluwarsa (disimpan %(n)d menit). Unggah berkasnya lagi.",
            n=_limits()["ttl_minutes"]), "error")
    return _redirect(url_for("signing.upload"))


def _redirect(url: str):
    """Redirect, also for an HTMX request (which would otherwise swap the next page into the form)."""
    if htmx:
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)


@bp.route("", methods=["GET", "POST"])
def upload():
    """Upload one or more PDFs; each is checked and nothing is kept unless every file can be signed."""
    limits = _limits()
    refusal = _refusal()
    if request.method == "GET" or refusal:
        return render("signing/upload.html", None, 409 if refusal and request.method == "POST" else 200,
                      errors=[], refusal=refusal, limits=limits)
    files = [f for f in request.files.getlist("files") if f is not None and f.filename]
    errors = []
    if not files:
        errors.append(_("Pilih minimal satu berkas PDF."))
    elif len(files) > limits["max_files"]:
        errors.append(_("Paling banyak %(n)d berkas sekaligus; Anda memilih %(m)d.", n=limits["max_files"], m=len(files)))
    checked = []
    for storage in files if not errors else []:
        item = Upload(_clean_name(storage.filename), storage.read())
        try:
            signatures.check_document(item)
        except DocumentRefused as exc:
            errors.append(str(exc))
            continue
        checked.append(item)
    if not errors:
        uploads.sweep()
        try:
            batch = uploads.create(current_user.id, checked)
        except DocumentRefused as exc:
            errors.append(str(exc))
    if errors:
        return render("signing/upload.html", None, 422, errors=errors, refusal=None, limits=limits)
    _remember("signing_batches", batch.id, KEEP_BATCHES)
    return redirect(url_for("signing.place", batch_id=batch.id), 303)


def _form_values() -> dict:
    form = request.form
    return {
        "mode": "invisible" if form.get("mode") == "invisible" else "visible",
        "page": form.get("page", "0"),
        "x": form.get("x", ""),
        "y": form.get("y", ""),
        "reason": form.get("reason", "").strip(),
        "location": form.get("location", "").strip(),
        "acting_kind": form.get("acting_kind", "").strip(),
        "acting_position": " ".join(form.get("acting_position", "").split()),
    }


def _default_values(batch) -> dict:
    width, _height = batch.files[0].pages[0].display_size
    return {"mode": "visible", "page": "0", "x": f"{max(width - uploads.STAMP_WIDTH - 36, 0):g}", "y": "36",
            "reason": "", "location": "", "acting_kind": "", "acting_position": ""}


def _place_page(batch, values: dict, error: str | None = None, field: str | None = None, status: int = 200):
    account = _account()
    position = (f"{values['acting_kind']} {values['acting_position']}" if values.get("acting_kind")
                else (account.profile.position if account.profile else ""))
    return render(
        "signing/place.html", "signing/_sign_form.html", status,
        batch=batch, values=values, error=error, field=field, refusal=_refusal(),
        stamp_name=signatures.display_name(account), stamp_position=position, acting_kinds=ACTING_KINDS,
        stamp_width=uploads.STAMP_WIDTH, stamp_height=uploads.STAMP_HEIGHT,
    )


@bp.get("/<batch_id>")
def place(batch_id: str):
    """Show the uploaded files, page thumbnails to click the stamp onto, and the signing form."""
    batch = _batch_or_none(batch_id)
    if batch is None:
        return _expired_batch()
    return _place_page(batch, _default_values(batch))


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(_("Posisi cap (%(what)s) tidak valid. Klik pada halaman untuk menempatkan cap.", what=what)) from None
    if value != value or abs(value) > 100_000:  # NaN or absurd
        raise ValueError(_("Posisi cap (%(what)s) tidak valid. Klik pada halaman untuk menempatkan cap.", what=what))
    return value


def _placed_uploads(batch, values: dict) -> list[Upload]:
    """Return the batch's files with the stamp box worked out on each file's own page (or invisible)."""
    files = batch.uploads()
    if values["mode"] == "invisible":
        return files
    try:
        page = int(values["page"])
    except ValueError:
        raise ValueError(_("Pilih halaman untuk cap tanda tangan.")) from None
    x, y = _number(values["x"], "x"), _number(values["y"], "y")
    placed = []
    for item, info in zip(files, batch.files):
        if not 0 <= page < len(info.pages):
            raise ValueError(_("Berkas %(name)s hanya memiliki %(n)d halaman; pilih halaman lain untuk cap tanda tangan.",
                               name=info.filename, n=len(info.pages)))
        box = info.pages[page].stamp_box(x, y)
        placed.append(Upload(item.filename, item.data, Placement(page=page, box=box)))
    return placed


def _details(values: dict) -> Details:
    if len(values["reason"]) > MAX_TEXT or len(values["location"]) > MAX_TEXT:
        raise ValueError(_("Alasan dan lokasi masing-masing paling banyak %(n)d karakter.", n=MAX_TEXT))
    kind, position = values["acting_kind"], values["acting_position"]
    if kind and kind not in ACTING_KINDS:
        raise ValueError(_("Pilih Plh. atau Plt."))
    if kind and not position:
        raise ValueError(_("Isi jabatan yang Anda wakili sebagai %(kind)s, atau kosongkan pilihan Plh./Plt.", kind=kind))
    if position and not kind:
        raise ValueError(_("Pilih Plh. atau Plt. untuk jabatan yang Anda wakili, atau kosongkan jabatannya."))
    if len(position) > MAX_ACTING:
        raise ValueError(_("Jabatan yang diwakili paling banyak %(n)d karakter.", n=MAX_ACTING))
    return Details(reason=values["reason"], location=values["location"], acting_as=f"{kind} {position}" if kind else "")


def _sign_refused(error: DomainError, batch_id: str):
    field = "passphrase" if isinstance(error, (PassphraseWrong, SigningLocked)) else None
    return _place_page(_batch_or_none(batch_id), _form_values(), error.message, field, error.status)


@bp.post("/<batch_id>")
@on_error(_sign_refused)
def sign(batch_id: str):
    """Sign every file of the batch with one unlock of the key; wrong passphrases count toward the lock."""
    batch = _batch_or_none(batch_id)
    if batch is None:
        return _expired_batch()
    values = _form_values()
    passphrase = request.form.get("passphrase", "")
    try:
        placed = _placed_uploads(batch, values)
        details = _details(values)
    except ValueError as exc:
        return _place_page(batch, values, str(exc), "placement", 422)
    if not passphrase:
        return _place_page(batch, values, _("Masukkan passphrase sertifikat Anda."), "passphrase", 422)
    started = time.perf_counter()
    results = signatures.sign_documents(_account(), passphrase, placed, Placement(), details, actor())
    settle(keep=True)  # the records are saved before the uploaded files are deleted
    current_app.logger.info("signed %d document(s) in %.2f s", len(results), time.perf_counter() - started)
    uploads.delete(batch.id)
    session["signing_batches"] = [item for item in session.get("signing_batches", []) if item != batch.id]
    results_by_batch = dict(session.get("signing_results", {}))
    results_by_batch[batch.id] = [document.public_id for document, _signed in results]
    session["signing_results"] = dict(list(results_by_batch.items())[-KEEP_RESULTS:])
    return _redirect(url_for("signing.results", batch_id=batch.id))


@bp.get("/<batch_id>/halaman/<int:index>/<int:page>.png")
def thumbnail(batch_id: str, index: int, page: int):
    """Serve a page thumbnail of the user's own batch (404 for anyone else)."""
    batch = _batch_or_none(batch_id)
    data = uploads.thumbnail(batch, index, page) if batch is not None else None
    if data is None:
        abort(404)
    response = send_file(io.BytesIO(data), mimetype="image/png", max_age=300)
    response.cache_control.private = True
    return response


def _own_documents(public_ids: list[str]) -> list[SignedDocument]:
    if not public_ids:
        return []
    rows = db.session.execute(
        select(SignedDocument).where(SignedDocument.public_id.in_(public_ids), SignedDocument.account_id == current_user.id)
    ).scalars().all()
    order = {public_id: i for i, public_id in enumerate(public_ids)}
    return sorted(rows, key=lambda row: order[row.public_id])


def _batch_results(batch_id: str) -> list[SignedDocument]:
    documents = _own_documents(session.get("signing_results", {}).get(batch_id, []))
    if not documents:
        abort(404, _("Hasil penandatanganan ini tidak ada lagi di sesi Anda. Dokumen yang sudah ditandatangani ada di Riwayat."))
    return documents


@bp.get("/hasil/<batch_id>")
def results(batch_id: str):
    """Show the signed documents of a batch with their downloads."""
    return render("signing/results.html", None, documents=_batch_results(batch_id), batch_id=batch_id)


def signed_name(document: SignedDocument) -> str:
    """Return the download name of a signed document: the original name with a suffix."""
    stem, ext = os.path.splitext(document.filename)
    return f"{stem}-ditandatangani{ext or '.pdf'}"


def _stored(document: SignedDocument) -> Path:
    path = Path(current_app.instance_path) / document.stored_path
    if not path.is_file():
        abort(404, _("Berkas yang ditandatangani tidak ditemukan di server. Hubungi admin."))
    return path


@bp.get("/hasil/<batch_id>/zip")
def results_zip(batch_id: str):
    """Download every signed PDF of a batch as one ZIP file."""
    documents = _batch_results(batch_id)
    out = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            name = signed_name(document)
            stem, ext = os.path.splitext(name)
            number = 2
            while name in used:
                name, number = f"{stem} ({number}){ext}", number + 1
            used.add(name)
            archive.write(_stored(document), name)
    out.seek(0)
    return send_file(out, mimetype="application/zip", as_attachment=True,
                     download_name=f"paraf-{time.strftime('%Y%m%d-%H%M%S')}.zip", max_age=0)


@bp.get("/unduh/<public_id>")
def download(public_id: str):
    """Download a signed PDF; only the account that signed it may (404 for anyone else)."""
    document = db.session.execute(
        select(SignedDocument).where(SignedDocument.public_id == public_id, SignedDocument.account_id == current_user.id)
    ).scalar_one_or_none()
    if document is None:
        abort(404)
    return send_file(io.BytesIO(_stored(document).read_bytes()), mimetype="application/pdf", as_attachment=True,
                     download_name=signed_name(document), max_age=0)


@bp.get("/riwayat")
def history():
    """List what the user signed, newest first, in pages (keyset on the id)."""
    before = request.args.get("sebelum", type=int)
    query = select(SignedDocument).where(SignedDocument.account_id == current_user.id)
    if before:
        query = query.where(SignedDocument.id < before)
    rows = db.session.execute(query.order_by(SignedDocument.id.desc()).limit(PAGE_SIZE + 1)).scalars().all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render("signing/history.html", "signing/_history_rows.html", documents=rows,
                  next_before=rows[-1].id if more and rows else None)
