"""Sign in with username (or e-mail) and password; one message for every failure."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import or_, select

from ..extensions import db, login_manager
from ..models import Account, Role
from ..services.audit import record
from ..services.passwords import check_password
from ..web import actor

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(account_id: str) -> Account | None:
    """Return the signed-in account."""
    return db.session.get(Account, int(account_id))


def home_for(account: Account) -> str:
    """Return where an account lands after signing in."""
    if account.role in (Role.VERIFIER, Role.CENTRAL_RA, Role.ADMIN):
        return url_for("verifier.queue")
    return url_for("enrolment.status")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    error = None
    if request.method == "POST":
        login_name = request.form.get("username", "").strip().lower()
        password = request.form.get("password", "")
        account = db.session.execute(
            select(Account).where(or_(Account.username == login_name, Account.email == login_name))
        ).scalar_one_or_none()
        matches = check_password(account.password_hash if account else None, password)  # same cost either way
        if account is not None and matches and account.status != "SUSPENDED":
            login_user(account)
            record(actor(), "auth.login", "account", account.id)
            db.session.commit()
            return redirect(home_for(account))
        record(actor(agency_id=account.agency_id if account else None), "auth.login_failed", "account", account.id if account else None)
        db.session.commit()
        error = _("Nama pengguna atau kata sandi salah.")
    return render_template("auth/login.html", error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    record(actor(), "auth.logout", "account", current_user.id)
    db.session.commit()
    logout_user()
    flash(_("Anda sudah keluar."), "success")
    return redirect(url_for("auth.login"))
