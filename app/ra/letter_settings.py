"""Per-agency request-letter settings (F16), for the central RA and admins: whether letters are required, and the chain."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.enrolment import request_letters
from ..extensions import db
from ..models import Agency
from ..web import actor, on_error, render
from .views import bp


def _page(error: str | None = None, error_agency: int | None = None, code: int = 200):
    agencies = db.session.execute(select(Agency).order_by(Agency.name, Agency.id)).scalars().all()
    return render("ra/letter_settings.html", None, code, agencies=agencies, error=error, error_agency=error_agency,
                  form=request.form)


@bp.get("/surat-permohonan")
def letter_settings():
    """List agencies with their request-letter setting and disposition chain."""
    return _page()


@bp.post("/surat-permohonan/<int:agency_id>")
@on_error(lambda error, agency_id: _page(error.message, agency_id, error.status))
def save_letter_settings(agency_id: int):
    """Save one agency's setting and chain."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    request_letters.update_settings(agency, request.form.get("requires") == "yes",
                                    request.form.get("disposition_chain", ""), actor())
    flash(_("Pengaturan surat permohonan %(name)s disimpan.", name=agency.name), "success")
    return redirect(url_for("ra.letter_settings"))
