"""Helpers shared by the views: the one transaction rule, who is acting, fragments for HTMX, agency scoping.

The transaction rule: a web request's changes are committed when its response succeeds (status below
400) and rolled back otherwise. A :class:`~app.domain.errors.DomainError` a view lets through settles by
itself: committed when it says ``keep_changes`` (a wrong passphrase or code counts toward its lock),
rolled back otherwise; then the view's :func:`on_error` page shows it, or the plain error page does.
Views never commit or roll back; this module is the only web code that does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, Response, abort, current_app, make_response, render_template, request
from flask_babel import format_datetime
from flask_login import current_user

from .domain.errors import DomainError
from .extensions import db, htmx
from .platform.audit import Actor

ErrorPage = Callable[..., object]
"""Renders a refused request: called as ``page(error, **view_args)``, returns what a view returns."""


def init_app(app: Flask) -> None:
    """Install the transaction rule: settle after every request, and on every uncaught domain error."""
    app.after_request(_settle_response)
    app.register_error_handler(DomainError, _refused)


def settle(keep: bool) -> None:
    """Commit this request's changes when ``keep``, else roll them back (the API's ``audited`` calls this too)."""
    if keep:
        db.session.commit()
    else:
        db.session.rollback()


def on_error(page: ErrorPage) -> Callable:
    """Show ``page(error, **view_args)`` when the view raises a domain error (put it below the route decorator)."""

    def decorate(view: Callable) -> Callable:
        view.error_page = page
        return view

    return decorate


def _settle_response(response: Response) -> Response:
    settle(keep=response.status_code < 400)
    return response


def _refused(error: DomainError):
    settle(keep=error.keep_changes)
    view = current_app.view_functions.get(request.endpoint or "")
    page = getattr(view, "error_page", None)
    if page is not None:
        response = make_response(page(error, **(request.view_args or {})))
    else:
        from .errors import respond

        response = make_response(respond(error.status, error.message))
    return response


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

    settle(keep=False)
    tokens.record_refusal(raw, purpose, who)
    settle(keep=True)
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
