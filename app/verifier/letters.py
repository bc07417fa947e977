"""Request letters in the verifier's area (F16): record, pass along the disposition chain, list, export; one agency only."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from flask import Response, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..domain.enrolment import request_letters
from ..extensions import db
from ..models import Agency, RequestLetter
from ..models.types import utcnow
from ..web import actor, on_error, render
from .views import _agency, bp


@bp.app_template_global()
def completed_letters(agency: Agency) -> list[RequestLetter]:
    """Return the agency's letters a registration may cite (chain complete)."""
    return request_letters.completed(agency)


def _letter(letter_id: int) -> RequestLetter:
    letter = db.session.get(RequestLetter, letter_id)
    if letter is None or letter.agency_id != current_user.agency_id:
        abort(404)
    return letter


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _filters() -> dict:
    return {"q": request.args.get("q", "").strip(), "state": request.args.get("state", ""),
            "date_from": _date("dari"), "date_to": _date("sampai")}


def _status_words(flag: bool | None, started: bool) -> str:
    if not started:
        return ""
    if flag is None:
        return _("berjalan")
    return _("tepat waktu") if flag else _("terlambat")


def _view_context() -> dict:
    now = utcnow()
    return {"now": now, "current_step": request_letters.current_step,
            "step_status": lambda step: _status_words(request_letters.on_time(step, now), step.started_at is not None),
            "step_minutes": lambda step: request_letters.minutes(request_letters.elapsed(step, now)),
            "late_steps": lambda letter: sum(1 for s in letter.steps if request_letters.on_time(s, now) is False),
            "target_minutes": int(request_letters.target().total_seconds() // 60)}


@bp.get("/surat")
def letters():
    """List the agency's request letters with filters and keyset pages (newest first)."""
    agency = _agency()
    filters = _filters()
    statement = request_letters.query(agency.id, **filters)
    before = request.args.get("sebelum", type=int)
    if before:
        statement = statement.where(RequestLetter.id < before)
    rows = db.session.execute(statement.limit(request_letters.PAGE_SIZE + 1)).scalars().all()
    more = len(rows) > request_letters.PAGE_SIZE
    rows = rows[:request_letters.PAGE_SIZE]
    args = {"q": filters["q"], "state": filters["state"], "dari": request.args.get("dari", ""),
            "sampai": request.args.get("sampai", "")}
    return render("verifier/letters.html", None, agency=agency, letters=rows, args=args,
                  next_before=rows[-1].id if more and rows else None, **_view_context())


@bp.get("/surat.csv")
def letters_csv():
    """Export the filtered letters as CSV (UTF-8), one row per disposition step."""
    agency = _agency()
    rows = db.session.execute(request_letters.query(agency.id, **_filters())).scalars().all()
    body = request_letters.export_csv(rows)
    return Response(body.encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="surat-permohonan-{agency.code}.csv"'})


def _new_letter_page(error: str | None = None, field: str | None = None, status: int = 200):
    agency = _agency()
    return render("verifier/letters_new.html", None, status, agency=agency, error=error, field=field,
                  form=request.form, chain=request_letters.chain_of(agency))


@bp.route("/surat/baru", methods=["GET", "POST"])
@on_error(lambda error: _new_letter_page(error.message, error.field, error.status))
def new_letter():
    """Record an incoming registration request letter (optionally with its PDF scan)."""
    agency = _agency()
    if request.method == "GET":
        return _new_letter_page()
    upload = request.files.get("file")
    letter = request_letters.record_letter(agency, request_letters.validate(request.form), actor(),
                                           upload.filename if upload else "", upload.read() if upload else b"")
    flash(_("Surat %(number)s dicatat dan diteruskan ke %(title)s.", number=letter.number,
            title=letter.steps[0].title), "success")
    return redirect(url_for("verifier.letter", letter_id=letter.id))


def _letter_page(letter: RequestLetter, error: str | None = None, code: int = 200):
    return render("verifier/letters_detail.html", None, code, letter=letter, error=error, **_view_context())


@bp.get("/surat/<int:letter_id>")
def letter(letter_id: int):
    """Show a letter, its chain with each step's clock, and the current step's action."""
    return _letter_page(_letter(letter_id))


@bp.post("/surat/<int:letter_id>/langkah/<int:step_id>")
@on_error(lambda error, letter_id, step_id: _letter_page(_letter(letter_id), error.message,
                                                         409 if error.field is None else error.status))
def letter_step(letter_id: int, step_id: int):
    """Record the current holder's "Teruskan" (or "Selesai" at the last step) with an optional note."""
    letter = _letter(letter_id)
    step = request_letters.act(letter, step_id, request.form.get("note", ""), actor())
    if letter.completed_at:
        flash(_("Disposisi selesai; surat dapat dipilih saat mendaftarkan pegawai."), "success")
    else:
        flash(_("%(title)s meneruskan surat.", title=step.title), "success")
    return redirect(url_for("verifier.letter", letter_id=letter.id))


@bp.get("/surat/<int:letter_id>/berkas")
def letter_file(letter_id: int):
    """Serve the letter's PDF scan to the agency's staff."""
    letter = _letter(letter_id)
    path = request_letters.pdf_path(letter)
    if path is None:
        abort(404)
    response = send_file(BytesIO(path.read_bytes()), mimetype="application/pdf", max_age=0, download_name=letter.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
