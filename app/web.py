"""Small helpers shared by the views: who is acting, fragments for HTMX, agency scoping."""

from __future__ import annotations

from datetime import datetime

from flask import abort, render_template, request
from flask_babel import format_datetime
from flask_login import current_user

from .extensions import htmx
from .platform.audit import Actor


def actor(name: str | None = None, agency_id: int | None = None) -> Actor:
    """Return the audit actor of this request: the signed-in account, or ``name`` of ``agency_id``, with the client IP."""
    if current_user.is_authenticated:
        label = current_user.username or current_user.email
        return Actor(label, ip=request.remote_addr, agency_id=current_user.agency_id)
    return Actor(name or "anonymous", ip=request.remote_addr, agency_id=agency_id)


def render(page: str, fragment: str | None = None, status: int = 200, **context):
    """Render the page, or only its fragment when HTMX asks (the page includes the fragment)."""
    template = fragment if fragment and htmx and not htmx.boosted else page
    return render_template(template, **context), status


def refuse_link(raw: str, purpose: str, who: Actor, message: str):
    """Drop the request's changes, audit the refused link (never the token itself), and explain it on a 410 page."""
    from .domain.accounts import tokens
    from .extensions import db

    db.session.rollback()
    tokens.record_refusal(raw, purpose, who)
    db.session.commit()
    return render_template("enrolment/link_error.html", message=message), 410


def require_role(*roles: str) -> None:
    """Abort with 403 unless the signed-in account has one of ``roles``."""
    if not current_user.is_authenticated:
        abort(401)
    if current_user.role not in roles:
        abort(403)


def format_wib(moment: datetime | None) -> str:
    """Format a UTC moment in Jakarta time, e.g. ``25-11-2025 21:44:03 WIB`` (the ``wib`` template filter)."""
    if moment is None:
        return "—"
    return f"{format_datetime(moment, 'dd-MM-yyyy HH:mm:ss')} WIB"
