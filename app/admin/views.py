"""Admin pages: the integration API clients, with a button that revokes one (HTMX fragment swap)."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import login_required

from ..domain.accounts import api_clients
from ..extensions import db
from ..models import ApiClient, Role
from ..web import actor, render, require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def admins_only():
    """Let only administrators in."""
    require_role(Role.ADMIN)


@bp.get("/klien-api")
def clients():
    """List the API clients: name, agencies, status, last use."""
    return render("admin/clients.html", "admin/_clients.html", clients=api_clients.all_clients())


@bp.post("/klien-api/<int:client_id>/cabut")
def disable(client_id: int):
    """Revoke a client, then show the list again."""
    client = db.session.get(ApiClient, client_id)
    if client is None:
        abort(404)
    api_clients.disable(client, actor())
    return render("admin/clients.html", "admin/_clients.html", clients=api_clients.all_clients())
