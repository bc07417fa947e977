"""Portal sign-in (F5): password, then a TOTP code (or the first authenticator set-up); devices, passwords, sessions.

The pending sign-in lives in the session under ``login_pending`` (account id, session version,
start time) for a few minutes; ``login_user`` runs only once the second factor passes. Every
failure of a factor shows the same message. ``Account.get_id()`` carries ``session_version``, so
bumping it (logout, password change or reset, suspension, authenticator reset) signs out every session;
sessions idle for ``SESSION_IDLE_MINUTES`` or open for ``SESSION_MAX_HOURS`` are signed out too.
"""

from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import throttle
from ..domain.accounts import authenticators, tokens
from ..domain.accounts import login as signin
from ..domain.certificates import suspensions
from ..domain.errors import DomainError, InputError
from ..extensions import db, login_manager
from ..lifecycle import AccountStatus
from ..models import Account, AuthenticatorDevice, Role
from ..platform.audit import record
from ..web import actor, on_error, refuse_link, settle

bp = Blueprint("auth", __name__)

PENDING_KEY = "login_pending"
SETUP_KEY = "authenticator_setup"
SEEN_KEY = "last_seen"
SIGNED_IN_KEY = "signed_in_at"
PENDING_SECONDS = 5 * 60
MAX_CODE_TRIES = 5
# Pages a signed-in account that must change its password may still open.
OPEN_WHILE_CHANGING = {"auth.change_password", "auth.logout", "static"}


def failure_message() -> str:
    """Return the one message for every failed sign-in."""
    return _("Nama pengguna, kata sandi, atau kode autentikator salah.")


def suspended_message() -> str:
    """Tell the owner of a suspended account (who typed the right password) why and whom to contact."""
    return _("Akun Anda ditangguhkan (SUSPENDED) karena terindikasi disusupi. Hubungi verifikator instansi Anda "
             "untuk aktivasi ulang.")


@login_manager.user_loader
def load_user(user_id: str) -> Account | None:
    """Return the signed-in account, or None when the session is stale (another session version).

    Logout, a password change or reset, a suspension and an authenticator reset bump ``session_version``
    (``signin.end_sessions``): every copy of an earlier session cookie is then refused here.
    """
    account_id, _sep, version = (user_id or "").partition(":")
    if not account_id.isdigit() or not version.isdigit():
        return None
    account = db.session.get(Account, int(account_id))
    if account is None or (account.session_version or 1) != int(version):
        return None
    return account


@bp.before_app_request
def session_rules():
    """Sign out a session idle or open for too long; keep an account that must change its password on that page."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    now = time.time()
    seen = session.get(SEEN_KEY)
    if seen is not None and now - float(seen) > current_app.config["SESSION_IDLE_MINUTES"] * 60:
        logout_user()
        session.pop(SEEN_KEY, None)
        flash(_("Sesi Anda berakhir karena lama tidak aktif. Silakan masuk lagi."), "error")
        return None  # the page then treats the visitor as signed out
    if now - float(session.setdefault(SIGNED_IN_KEY, now)) > current_app.config["SESSION_MAX_HOURS"] * 3600:
        logout_user()
        for key in (SEEN_KEY, SIGNED_IN_KEY):
            session.pop(key, None)
        flash(_("Sesi Anda sudah berakhir. Silakan masuk lagi."), "error")
        return None
    session[SEEN_KEY] = now
    if current_user.must_change_password and request.endpoint not in OPEN_WHILE_CHANGING:
        return redirect(url_for("auth.change_password"))
    return None


@bp.after_app_request
def private_pages(response):
    """Keep reset-link URLs out of the Referer header, and pages showing a TOTP secret out of caches."""
    if request.endpoint == "auth.reset_password":
        response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint in ("auth.login_setup", "auth.add_device", "auth.reset_password"):
        response.headers["Cache-Control"] = "no-store"
    return response


def home_for(account: Account) -> str:
    """Return where an account lands after signing in."""
    if account.role in (Role.VERIFIER, Role.CENTRAL_RA, Role.ADMIN):
        return url_for("verifier.queue")
    if account.role == Role.AGENCY_HEAD:
        return url_for("agency_head.index")
    return url_for("enrolment.status")


def _pending_account() -> Account | None:
    """Return the account whose password passed a moment ago in this browser, or None (and forget a stale one)."""
    pending = session.get(PENDING_KEY)
    if not pending:
        return None
    account = db.session.get(Account, pending.get("account", 0))
    if (
        time.time() - float(pending.get("since", 0)) > PENDING_SECONDS
        or account is None
        or account.session_version != pending.get("version")
        or not signin.can_sign_in(account)
        or signin.is_blocked(account, request.remote_addr)
    ):
        session.pop(PENDING_KEY, None)
        return None
    return account


def _start_again():
    """Send the visitor back to the password step (the pending sign-in expired or never existed)."""
    session.pop(PENDING_KEY, None)
    flash(_("Waktu masuk habis. Masukkan nama pengguna dan kata sandi lagi."), "error")
    return redirect(url_for("auth.login"))


def _finish_sign_in(account: Account):
    """Sign the account in after both factors, record it, and go home (or to the forced password change)."""
    session.pop(PENDING_KEY, None)
    session.pop(SETUP_KEY, None)
    signin.clear_failures(account, request.remote_addr)
    login_user(account)
    session.permanent = True
    session[SEEN_KEY] = session[SIGNED_IN_KEY] = time.time()
    record(actor(), "auth.login", "account", account.id)
    if account.must_change_password:
        flash(_("Ganti kata sandi sekali pakai Anda sebelum melanjutkan."), "error")
        return redirect(url_for("auth.change_password"))
    return redirect(home_for(account))


def _code_failed(account: Account) -> InputError:
    """Record and count a wrong or replayed code (the pending sign-in ends after its last try); return the refusal."""
    record(actor(agency_id=account.agency_id), "auth.totp_failed", "account", account.id)
    signin.count_failure(account, request.remote_addr)
    pending = session.get(PENDING_KEY) or {}
    pending["tries"] = int(pending.get("tries", 0)) + 1
    session[PENDING_KEY] = pending
    if pending["tries"] >= MAX_CODE_TRIES:
        session.pop(PENDING_KEY, None)
    return InputError(failure_message(), status=401, keep_changes=True)


def _login_refused(error: DomainError):
    """Show the sign-in form again with the refusal."""
    return render_template("auth/login.html", error=error.message), error.status


def _code_refused(error: DomainError):
    """Show the code form again, or the sign-in form once the pending sign-in has used up its tries."""
    if PENDING_KEY not in session:
        return _login_refused(error)
    return render_template("auth/code.html", error=error.message), error.status


@bp.route("/login", methods=["GET", "POST"])
@throttle.sign_in(throttle.typed_login)
@on_error(_login_refused)
def login():
    """Show the sign-in form and check the password (the first factor); a failed try is audited and counted."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    if request.method == "POST":
        found, account, suspended = signin.check_password_step(request.form.get("username", ""),
                                                               request.form.get("password", ""), request.remote_addr)
        if account is not None:
            session.pop(SETUP_KEY, None)
            session[PENDING_KEY] = {"account": account.id, "version": account.session_version, "since": time.time(), "tries": 0}
            if authenticators.has_device(account):
                return redirect(url_for("auth.login_code"))
            return redirect(url_for("auth.login_setup"))
        record(actor(agency_id=found.agency_id if found else None), "auth.login_failed", "account",
               found.id if found else None,
               reason="suspended" if found is not None and found.status == AccountStatus.SUSPENDED else None)
        raise InputError(suspended_message() if suspended else failure_message(), status=401, keep_changes=True)
    return render_template("auth/login.html", error=None)


def _pending_key() -> str:
    """Return the limiter key of the account whose password passed in this browser."""
    return f"account:{(session.get(PENDING_KEY) or {}).get('account')}"


@bp.route("/login/kode", methods=["GET", "POST"])
@throttle.sign_in(_pending_key)
@on_error(_code_refused)
def login_code():
    """Ask for the authenticator code (the second factor) and sign in."""
    account = _pending_account()
    if account is None:
        return _start_again()
    if not authenticators.has_device(account):
        return redirect(url_for("auth.login_setup"))
    if request.method == "POST":
        try:
            authenticators.verify(account, request.form.get("code", ""))
        except authenticators.InvalidCode:
            raise _code_failed(account) from None
        return _finish_sign_in(account)
    return render_template("auth/code.html", error=None)


def _setup_device(account: Account) -> tuple[AuthenticatorDevice, str]:
    """Return the unfinished set-up of this browser (device, secret), or start a new one."""
    device = db.session.get(AuthenticatorDevice, session.get(SETUP_KEY) or 0)
    if device is not None and device.account_id == account.id and device.confirmed_at is None:
        return device, authenticators.secret_of(device)
    device, secret = authenticators.begin_setup(account, authenticators.default_name(account))
    settle(True)  # the QR code shown must stay valid even when the page reports a refusal (a 4xx rolls back)
    session[SETUP_KEY] = device.id
    return device, secret


def _setup_page(account: Account, action: str, heading: str, first: bool, error: DomainError | None = None,
                prove: bool = False):
    """Render the authenticator set-up page: QR code, the secret as text, device name and code (``prove``: and a
    code from a device already set up), with the refusal when ``error``."""
    device, secret = _setup_device(account)
    uri = authenticators.provisioning_uri(account, secret)
    return render_template(
        "auth/setup.html", device=device, secret=secret, qr=authenticators.qr_data_uri(uri), action=action,
        heading=heading, first=first, error=error and error.message, field=error and error.field, prove=prove,
        name=request.form.get("device_name", device.name) if request.method == "POST" else device.name,
    ), error.status if error else 200


def _confirm_setup(account: Account) -> None:
    """Confirm this browser's set-up with the posted name and code; raise ``AuthenticatorError`` when refused."""
    device = db.session.get(AuthenticatorDevice, session.get(SETUP_KEY) or 0)
    if device is None or device.account_id != account.id or device.confirmed_at is not None:
        raise authenticators.AuthenticatorError(_("Pemasangan sudah kedaluwarsa. Pindai kode QR yang baru."))
    authenticators.confirm(device, request.form.get("code", ""), request.form.get("device_name", ""))
    record(actor(agency_id=account.agency_id), "auth.device_added", "account", account.id, details={"device": device.name})
    session.pop(SETUP_KEY, None)


def _first_setup_page(account: Account, error: DomainError | None = None):
    """Render the set-up of the first authenticator, during sign-in."""
    return _setup_page(account, url_for("auth.login_setup"), _("Pasang aplikasi autentikator"), True, error)


def _first_setup_refused(error: DomainError):
    """Show the first set-up again with the refusal, or start again when the pending sign-in is gone."""
    account = _pending_account()
    return _start_again() if account is None else _first_setup_page(account, error)


@bp.route("/login/perangkat", methods=["GET", "POST"])
@on_error(_first_setup_refused)
def login_setup():
    """Set up the first authenticator (forced on the first sign-in), then sign in."""
    account = _pending_account()
    if account is None:
        return _start_again()
    if authenticators.has_device(account):
        return redirect(url_for("auth.login_code"))
    if suspensions.awaiting_authenticator_reset(account):  # after a compromise only the e-mailed link may set one up
        session.pop(PENDING_KEY, None)
        return render_template("auth/login.html", error=_(
            "Pasang aplikasi autentikator baru melalui tautan reset autentikator yang dikirim ke e-mail Anda.")), 403
    if request.method == "POST":
        _confirm_setup(account)
        return _finish_sign_in(account)
    return _first_setup_page(account)


@bp.post("/logout")
@login_required
def logout():
    """Sign out, ending every session of the account (a copied cookie or a CSC token stops working too)."""
    record(actor(), "auth.logout", "account", current_user.id)
    signin.end_sessions(current_user._get_current_object())
    logout_user()
    for key in (SEEN_KEY, SIGNED_IN_KEY):
        session.pop(key, None)
    flash(_("Anda sudah keluar."), "success")
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------------------------------------- devices


def _devices_page(error: str | None = None, error_device: int | None = None, status: int = 200):
    """Render the list of the signed-in account's authenticators."""
    return render_template("auth/devices.html", devices=authenticators.devices(current_user), error=error,
                           error_device=error_device), status


@bp.get("/akun/perangkat")
@login_required
def devices():
    """List the signed-in account's authenticator devices."""
    return _devices_page()


def _add_device_page(error: DomainError | None = None):
    """Render the set-up of one more device, which also asks for a code from a device already set up."""
    return _setup_page(current_user._get_current_object(), url_for("auth.add_device"), _("Tambah perangkat autentikator"),
                       False, error, prove=True)


@bp.route("/akun/perangkat/tambah", methods=["GET", "POST"])
@on_error(_add_device_page)
@login_required
def add_device():
    """Set up one more authenticator device."""
    account = current_user._get_current_object()
    if request.method == "POST":
        try:  # a stolen session alone must not be able to add the thief's phone
            authenticators.verify(account, request.form.get("current_code", ""))
        except authenticators.InvalidCode:
            record(actor(agency_id=account.agency_id), "auth.device_add_refused", "account", account.id)
            raise InputError(_("Kode dari perangkat yang sudah terpasang salah atau sudah dipakai."),
                             keep_changes=True) from None
        _confirm_setup(account)
        flash(_("Perangkat ditambahkan."), "success")
        return redirect(url_for("auth.devices"))
    return _add_device_page()


def _remove_refused(error: DomainError, device_id: int):
    """Show the device list again with the refusal next to the device."""
    return _devices_page(error.message, device_id, status=error.status)


@bp.post("/akun/perangkat/<int:device_id>/hapus")
@on_error(_remove_refused)
@login_required
def remove_device(device_id: int):
    """Remove a device, with a current code from another device of the account."""
    account = current_user._get_current_object()
    device = db.session.get(AuthenticatorDevice, device_id)
    if device is None or device.account_id != account.id or device.confirmed_at is None:
        return _devices_page(_("Perangkat tidak ditemukan."), status=404)
    name = device.name
    try:
        authenticators.remove(account, device, request.form.get("code", ""))
    except authenticators.InvalidCode as exc:  # the wrong code is audited although the removal is refused
        record(actor(), "auth.totp_failed", "account", account.id, details={"purpose": "remove_device"})
        raise InputError(exc.message, keep_changes=True) from None
    record(actor(), "auth.device_removed", "account", account.id, details={"device": name})
    flash(_("Perangkat %(name)s dihapus.", name=name), "success")
    return redirect(url_for("auth.devices"))


# ---------------------------------------------------------------------------------------------- passwords


@bp.route("/akun/sandi", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password (old, new, confirmation); every other session is signed out."""
    error = field = None
    if request.method == "POST":
        account = current_user._get_current_object()
        try:
            signin.change_password(account, request.form.get("old", ""), request.form.get("password", ""),
                                  request.form.get("confirmation", ""), actor())
        except signin.PasswordError as exc:
            error, field = exc.message, exc.field
        else:
            login_user(account)  # this session carries the new session version; the others do not
            session.permanent = True
            flash(_("Kata sandi diganti. Sesi di perangkat lain sudah dikeluarkan."), "success")
            return redirect(home_for(account))
    return render_template("auth/password.html", error=error, field=field, forced=current_user.must_change_password,
                           minimum=signin.PASSWORD_MIN), 422 if error else 200


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@throttle.forgot_password
def forgot_password():
    """Send a reset link to a real account's e-mail; the answer is the same, and as slow, whatever was typed."""
    if request.method == "POST":
        answer_at = time.monotonic() + float(current_app.config["FORGOT_PASSWORD_ANSWER_SECONDS"])
        signin.request_password_reset(request.form.get("login", ""), actor("password-reset"))
        settle(True)  # an existing account's link and message are written within the measured time
        time.sleep(max(0.0, answer_at - time.monotonic()))
        return render_template("auth/forgot_sent.html")
    return render_template("auth/forgot.html")


def _link_refused(raw: str, exc: tokens.TokenError):
    """Explain a reset link that cannot be used, and record a refused link we issued."""
    if isinstance(exc, tokens.TokenExpired):
        message = _("Tautan sudah kedaluwarsa (berlaku 1 jam). Minta tautan baru di halaman Lupa kata sandi.")
    else:
        message = _("Tautan tidak valid atau sudah digunakan. Minta tautan baru di halaman Lupa kata sandi.")
    return refuse_link(raw, signin.PASSWORD_RESET, actor("password-reset"), message)


@bp.route("/lupa-sandi/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from a reset link: every authenticator is removed and every session signed out."""
    error = field = None
    try:
        if request.method == "POST":
            signin.reset_password(token, request.form.get("password", ""), request.form.get("confirmation", ""),
                                 actor("password-reset"))
            logout_user()
            for key in (PENDING_KEY, SETUP_KEY, SEEN_KEY):
                session.pop(key, None)
            flash(_("Kata sandi baru tersimpan. Masuk lagi, lalu pasang aplikasi autentikator baru."), "success")
            return redirect(url_for("auth.login"))
        tokens.verify(token, signin.PASSWORD_RESET)
    except tokens.TokenError as exc:
        return _link_refused(token, exc)
    except signin.PasswordError as exc:
        error, field = exc.message, exc.field
    return render_template("auth/reset.html", error=error, field=field, minimum=signin.PASSWORD_MIN), 422 if error else 200
