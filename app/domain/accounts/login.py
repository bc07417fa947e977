"""Portal sign-in (F5): the password check, changing a password, and "forgot password" by an e-mailed link.

Every failure of the first factor looks the same to the caller (``None``), whatever the reason.
Failures in a row are counted per account and client address: a stranger's wrong passwords block
sign-in to the account only from the stranger's address, never the owner's.
Changing or resetting a password bumps ``session_version``, which signs out every session
(``Account.get_id()`` carries it and the user loader refuses a stale one). Functions add/flush in
the caller's transaction and never commit; passwords never reach the audit trail or the logs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...lifecycle import AccountStatus
from ...models.account import Account, SignInFailure
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor, record
from ...urls import public_url
from ..errors import InputError
from . import authenticators, tokens
from .passwords import check_password, hash_password

PASSWORD_RESET = "password_reset"
PASSWORD_RESET_TTL = timedelta(hours=1)
PASSWORD_MIN = 10
PASSWORD_MAX = 256


class PasswordError(InputError):
    """A new password is refused; ``field`` names the form field to mark."""

    def __init__(self, message: str, field: str = "password"):
        super().__init__(message)
        self.field = field


def find_account(login_name: str) -> Account | None:
    """Return the account whose username or e-mail is ``login_name`` (given in lower case), or None."""
    login_name = (login_name or "").strip().lower()
    if not login_name or len(login_name) > 254:
        return None
    return db.session.execute(
        select(Account).where(or_(Account.username == login_name, Account.email == login_name))
    ).scalars().first()


def can_sign_in(account: Account | None) -> bool:
    """Return whether an account may sign in at all (it exists, has a password and is not suspended)."""
    return account is not None and bool(account.password_hash) and account.status != AccountStatus.SUSPENDED


def check_first_factor(login_name: str, password: str, address: str) -> tuple[Account | None, Account | None]:
    """Check username/e-mail and password at the same cost either way; return (account found, account signed in)."""
    found, account, _suspended = check_password_step(login_name, password, address)
    return found, account


def check_password_step(login_name: str, password: str, address: str) -> tuple[Account | None, Account | None, bool]:
    """Return (account found, account signed in, whether the right password belongs to a SUSPENDED account).

    Only someone who typed the right password learns that the account is suspended (the password step
    already tells them the password is right); everyone else gets the uniform failure. A wrong password
    counts toward the block of ``address``; while it is blocked even the right password fails from there.
    """
    account = find_account(login_name)
    matches = check_password(account.password_hash if account else None, password or "")
    if account is not None and is_blocked(account, address):
        return account, None, False
    if account is not None and not matches:
        count_failure(account, address)
    suspended = matches and account is not None and account.status == AccountStatus.SUSPENDED
    return account, (account if matches and can_sign_in(account) else None), suspended


def _failures_of(account: Account, address: str):
    """Return the WHERE clause of the failures of ``account`` from ``address``."""
    return (SignInFailure.account_id == account.id) & (SignInFailure.address == address)


def is_blocked(account: Account, address: str, now: datetime | None = None) -> bool:
    """Return whether too many failures in a row from ``address`` keep the account from signing in from there."""
    until = db.session.execute(select(SignInFailure.blocked_until).where(_failures_of(account, address))).scalar()
    return until is not None and until > (now or utcnow())


def count_failure(account: Account, address: str, now: datetime | None = None) -> None:
    """Count a wrong password or code from ``address``; block it for a while after ``SIGN_IN_MAX_FAILURES`` in a row."""
    now = now or utcnow()
    window = timedelta(minutes=int(current_app.config["SIGN_IN_BLOCK_MINUTES"]))
    where = _failures_of(account, address)
    count = update(SignInFailure).where(where).values(  # one statement: parallel failures are each counted
        failures=case((SignInFailure.last_failed_at < now - window, 1), else_=SignInFailure.failures + 1),
        last_failed_at=now,
    ).returning(SignInFailure.failures)
    failures = db.session.execute(count).scalar()
    if failures is None:  # the first failure from there
        try:
            with db.session.begin_nested():
                db.session.add(SignInFailure(account_id=account.id, address=address, failures=1, last_failed_at=now))
            failures = 1
        except IntegrityError:  # a parallel request added it first
            failures = db.session.execute(count).scalar()
    if failures >= int(current_app.config["SIGN_IN_MAX_FAILURES"]):
        db.session.execute(update(SignInFailure).where(where).values(blocked_until=now + window, failures=0))
        record(Actor("system", ip=address), "auth.sign_in_blocked", "account", account.id,
               details={"minutes": int(window.total_seconds() // 60)})


def clear_failures(account: Account, address: str) -> None:
    """Forget the failures in a row from ``address`` after a complete sign-in from there."""
    db.session.execute(delete(SignInFailure).where(_failures_of(account, address)))


def validate_new_password(account: Account, password: str, confirmation: str) -> None:
    """Refuse a new password that is too short or long, equals the old one, or differs from its confirmation."""
    if len(password or "") < PASSWORD_MIN:
        raise PasswordError(gettext("Kata sandi baru minimal %(min)d karakter.", min=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        raise PasswordError(gettext("Kata sandi baru paling panjang %(max)d karakter.", max=PASSWORD_MAX))
    if password != (confirmation or ""):
        raise PasswordError(gettext("Konfirmasi kata sandi tidak sama."), "confirmation")
    if account.password_hash and check_password(account.password_hash, password):
        raise PasswordError(gettext("Kata sandi baru harus berbeda dari kata sandi lama."))


def end_sessions(account: Account) -> None:
    """End every session of the account: portal cookies and CSC tokens carry the version this bumps."""
    account.session_version = (account.session_version or 1) + 1
    db.session.flush()


def _set_password(account: Account, password: str) -> None:
    """Store a new password hash and sign out every session of the account."""
    account.password_hash = hash_password(password)
    account.must_change_password = False
    account.password_changed_at = utcnow()
    end_sessions(account)


def change_password(account: Account, old: str, password: str, confirmation: str, actor: Actor) -> None:
    """Change the password of a signed-in account (old one required); every session is signed out."""
    if not check_password(account.password_hash, old or ""):
        raise PasswordError(gettext("Kata sandi lama salah."), "old")
    validate_new_password(account, password, confirmation)
    _set_password(account, password)
    record(actor, "auth.password_changed", "account", account.id)


def request_password_reset(login_name: str, actor: Actor) -> bool:
    """Queue a reset link (1 h, single use) to the account's e-mail; return whether one was sent (never tell the visitor)."""
    account = find_account(login_name)
    if not can_sign_in(account):
        return False
    raw = tokens.issue(account.id, PASSWORD_RESET, PASSWORD_RESET_TTL)
    notifications.email_message(account.email, "password_reset",
                                {"name": account.name or account.username, "login": account.username or account.email},
                                {"reset": public_url("auth.reset_password", token=raw)}, account.id,
                                utcnow() + PASSWORD_RESET_TTL)
    record(actor, "auth.password_reset_requested", "account", account.id)
    return True


def reset_password(raw: str, password: str, confirmation: str, actor: Actor) -> Account:
    """Use a reset link once: new password, every authenticator removed, every session signed out."""
    account = db.session.get(Account, tokens.verify(raw, PASSWORD_RESET).account_id)
    validate_new_password(account, password, confirmation)
    tokens.consume(raw, PASSWORD_RESET)
    removed = authenticators.reset(account)
    _set_password(account, password)
    record(actor, "auth.password_reset", "account", account.id, details={"devices_removed": removed})
    return account
