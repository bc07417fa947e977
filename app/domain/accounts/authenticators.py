"""TOTP authenticator devices (F5): set-up with a QR code, confirmation, sign-in codes accepted once, removal, reset.

A device's base32 secret is stored sealed (``sealing``, bound to the account) and never logged.
A code is accepted for the current 30-s time step or one step either side (clock drift); the
accepted step is stored in ``last_step`` and a step at or before it is refused, so a code works
once, even when two requests race (the step is raised by one conditional UPDATE). The time is the
``TOTP_CLOCK`` setting's (``time.time``; tests give a clock they move on instead of waiting for the
next step). All functions add/flush in the caller's transaction and never commit.
"""

from __future__ import annotations

import base64
import hmac
import io

import pyotp
from flask import current_app
from flask_babel import gettext
from sqlalchemy import delete, select, update

from ...extensions import db
from ...models.account import Account
from ...models.signing import AuthenticatorDevice
from ...models.types import utcnow
from ...platform import sealing
from ..errors import InputError

ISSUER = "Paraf"
STEP_SECONDS = 30
DRIFT_STEPS = 1
NAME_MAX = 60
SEAL_INFO = b"paraf authenticator secrets v1"


class AuthenticatorError(InputError):
    """An authenticator operation is refused; the text tells the person what to do."""


class InvalidCode(AuthenticatorError):
    """The code is wrong, too old, or was already used."""

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("Kode autentikator salah atau sudah dipakai. Masukkan kode terbaru dari aplikasi."))


class InvalidDeviceName(AuthenticatorError):
    """The device name is empty, too long, or already used by another device of the account."""


class LastDevice(AuthenticatorError):
    """The only device of an account cannot be removed with a code."""

    def __init__(self):
        super().__init__(gettext(
            "Perangkat terakhir tidak dapat dihapus dengan kode. Bila perangkat hilang, gunakan \"Lupa kata sandi\" "
            "untuk mengatur ulang autentikator."
        ))


class UnknownDevice(AuthenticatorError):
    """The device does not exist or belongs to another account."""

    def __init__(self):
        super().__init__(gettext("Perangkat tidak ditemukan."))


def _aad(account_id: int) -> bytes:
    """Bind a sealed secret to its account."""
    return b"paraf-authenticator:%d" % account_id


def secret_of(device: AuthenticatorDevice) -> str:
    """Return the base32 secret of a device (for its set-up page only)."""
    return sealing.unseal(device.sealed_secret, SEAL_INFO, _aad(device.account_id)).decode("ascii")


def current_step(now: float | None = None) -> int:
    """Return the TOTP time step of ``now`` (seconds since the epoch; by default the ``TOTP_CLOCK`` setting's time)."""
    return int((current_app.config["TOTP_CLOCK"]() if now is None else now) // STEP_SECONDS)


def _normalise(code: str) -> str | None:
    """Return a 6-digit code without spaces, or None when it cannot be one."""
    code = "".join((code or "").split())
    return code if len(code) == 6 and code.isascii() and code.isdigit() else None


def _matching_step(device: AuthenticatorDevice, code: str, now: float | None) -> int | None:
    """Return the unused time step (within the drift) whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret_of(device))
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if candidate > device.last_step and hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _accept(device: AuthenticatorDevice, code: str, now: float | None) -> bool:
    """Use ``code`` on ``device`` once: raise ``last_step`` atomically; False if it does not match or was used."""
    step = _matching_step(device, code, now)
    if step is None:
        return False
    result = db.session.execute(
        update(AuthenticatorDevice)
        .where(AuthenticatorDevice.id == device.id, AuthenticatorDevice.last_step < step)
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(device)
    return result.rowcount == 1


def devices(account: Account, confirmed_only: bool = True) -> list[AuthenticatorDevice]:
    """Return the account's devices, oldest first."""
    query = select(AuthenticatorDevice).where(AuthenticatorDevice.account_id == account.id)
    if confirmed_only:
        query = query.where(AuthenticatorDevice.confirmed_at.is_not(None))
    return list(db.session.execute(query.order_by(AuthenticatorDevice.id)).scalars())


def has_device(account: Account) -> bool:
    """Return whether the account has a confirmed device."""
    return bool(devices(account))


def _check_name(account: Account, name: str, device_id: int | None = None) -> str:
    """Return the cleaned device name; raise ``InvalidDeviceName``."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidDeviceName(gettext("Beri nama perangkat, misalnya \"HP kantor\"."))
    if len(name) > NAME_MAX:
        raise InvalidDeviceName(gettext("Nama perangkat paling panjang %(max)d karakter.", max=NAME_MAX))
    taken = db.session.execute(
        select(AuthenticatorDevice.id).where(
            AuthenticatorDevice.account_id == account.id,
            AuthenticatorDevice.name == name,
            AuthenticatorDevice.id != (device_id or 0),
        )
    ).first()
    if taken:
        raise InvalidDeviceName(gettext("Nama perangkat sudah dipakai. Pilih nama lain."))
    return name


def default_name(account: Account) -> str:
    """Return a free default device name (``Perangkat 1``, ``Perangkat 2``, ...)."""
    used = set(db.session.execute(
        select(AuthenticatorDevice.name).where(AuthenticatorDevice.account_id == account.id,
                                               AuthenticatorDevice.confirmed_at.is_not(None))
    ).scalars())
    number = 1
    while gettext("Perangkat %(number)d", number=number) in used:
        number += 1
    return gettext("Perangkat %(number)d", number=number)


def begin_setup(account: Account, device_name: str) -> tuple[AuthenticatorDevice, str]:
    """Start setting up a device: a new secret, sealed in an unconfirmed device; return (device, base32 secret).

    An earlier unfinished set-up of the account is discarded: one set-up at a time.
    """
    db.session.execute(
        delete(AuthenticatorDevice)
        .where(AuthenticatorDevice.account_id == account.id, AuthenticatorDevice.confirmed_at.is_(None))
        .execution_options(synchronize_session="fetch")
    )
    name = _check_name(account, device_name)
    secret = pyotp.random_base32()
    device = AuthenticatorDevice(account_id=account.id, name=name, last_step=0,
                                 sealed_secret=sealing.seal(secret.encode("ascii"), SEAL_INFO, _aad(account.id)))
    db.session.add(device)
    db.session.flush()
    return device, secret


def confirm(device: AuthenticatorDevice, code: str, name: str | None = None, now: float | None = None) -> AuthenticatorDevice:
    """Confirm a set-up with a valid code from the new device (optionally renaming it); raise on a wrong code."""
    if device.confirmed_at is not None:
        raise UnknownDevice()
    account = db.session.get(Account, device.account_id)
    if name is not None:
        device.name = _check_name(account, name, device.id)
    normalised = _normalise(code)
    if normalised is None or not _accept(device, normalised, now):
        raise InvalidCode()
    device.confirmed_at = utcnow()
    db.session.flush()
    return device


def verify(account: Account, code: str, now: float | None = None) -> AuthenticatorDevice:
    """Accept a code from any confirmed device of the account, once; return that device or raise ``InvalidCode``."""
    normalised = _normalise(code)
    if normalised is not None:
        for device in devices(account):
            if _accept(device, normalised, now):
                return device
    raise InvalidCode()


def remove(account: Account, device: AuthenticatorDevice, code_from_another_device: str,
           now: float | None = None) -> None:
    """Remove a confirmed device, proven by a current code from ANOTHER confirmed device of the account."""
    if device is None or device.account_id != account.id or device.confirmed_at is None:
        raise UnknownDevice()
    others = [other for other in devices(account) if other.id != device.id]
    if not others:
        raise LastDevice()
    normalised = _normalise(code_from_another_device)
    if normalised is None or not any(_accept(other, normalised, now) for other in others):
        raise InvalidCode(gettext("Kode salah atau sudah dipakai. Masukkan kode terbaru dari perangkat LAIN yang masih Anda pegang."))
    db.session.delete(device)
    db.session.flush()


def reset(account: Account) -> int:
    """Remove every device of the account (the next sign-in sets one up again); return how many there were."""
    result = db.session.execute(
        delete(AuthenticatorDevice)
        .where(AuthenticatorDevice.account_id == account.id)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def provision(account: Account, name: str, secret: str | None = None) -> tuple[AuthenticatorDevice, str]:
    """Add an already confirmed device with a known (or new) secret: for the demo seed and tests, not for people."""
    secret = secret or pyotp.random_base32()
    device = AuthenticatorDevice(account_id=account.id, name=_check_name(account, name), last_step=0, confirmed_at=utcnow(),
                                 sealed_secret=sealing.seal(secret.encode("ascii"), SEAL_INFO, _aad(account.id)))
    db.session.add(device)
    db.session.flush()
    return device, secret


def provisioning_uri(account: Account, secret: str) -> str:
    """Return the ``otpauth://`` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account.username or account.email, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """Return a QR code of ``text`` as a PNG ``data:`` URI for an ``<img>``."""
    import qrcode

    buffer = io.BytesIO()
    qrcode.make(text, box_size=6, border=2).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
