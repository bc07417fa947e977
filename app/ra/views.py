"""The central RA's desk; each area of work adds its views to this blueprint from its own module."""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from ..models import Role
from ..web import render, require_role

bp = Blueprint("ra", __name__, url_prefix="/ra")
RA = (Role.CENTRAL_RA, Role.ADMIN)


@bp.before_request
@login_required
def central_ra_only():
    """Let only the central RA (and admins) in."""
    require_role(*RA)


@bp.get("/")
def index():
    """Show the RA's areas of work."""
    return render("ra/index.html")
