"""The verifier's certificate actions on a subscriber of their agency (F9, F11, F12), as one fragment of the detail page."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from .. import lifecycle
from ..domain.certificates import after_issuance
from ..domain.errors import DomainError, InputError
from ..extensions import htmx
from ..models import Account
from ..platform import notifications
from ..web import actor, on_error, render
from .views import _account, bp


def _actions(account: Account, error: str | None = None, message: str | None = None, status: int = 200):
    """Return the fragment (HTMX) or go back to the detail page."""
    if not htmx:
        if error or message:
            flash(error or message, "error" if error else "success")
        return redirect(url_for("verifier.detail", account_id=account.id))
    return render("verifier/detail.html", "verifier/_certificate_actions.html", status,
                  account=account, certificate_error=error, certificate_message=message)


def _refused(error: DomainError, account_id: int, status: int | None = None):
    """Show why a certificate action was refused, with ``status`` or the error's own."""
    return _actions(_account(account_id), error.message, status=status or error.status)


@bp.post("/akun/<int:account_id>/sertifikat/reset")
@on_error(_refused)
def send_reset(account_id: int):
    """F9: send the subscriber a passphrase-reset link (WhatsApp when the phone is verified, e-mail otherwise)."""
    account = _account(account_id)
    channel = after_issuance.request_reset(account, actor())
    where = _("WhatsApp") if channel == notifications.WHATSAPP else _("e-mail")
    return _actions(account, message=_("Tautan reset passphrase dikirim lewat %(channel)s.", channel=where))


@bp.post("/akun/<int:account_id>/sertifikat/cabut")
@on_error(_refused)
def revoke_certificate(account_id: int):
    """F11: revoke the subscriber's active certificate at once with an RFC 5280 reason (confirmation required)."""
    account = _account(account_id)
    certificate = after_issuance.active(account)
    if certificate is None:
        newest = after_issuance.latest(account)
        raise lifecycle.Forbidden("certificate", newest.status if newest else None, "revoke")
    if request.form.get("confirm") != "ya":
        raise InputError(_("Centang konfirmasi pencabutan; pencabutan tidak dapat dibatalkan."), "confirm")
    after_issuance.revoke_with_notice(certificate, request.form.get("reason", ""), actor())
    return _actions(account, message=_("Sertifikat %(serial)s dicabut.", serial=certificate.serial))


@bp.post("/akun/<int:account_id>/sertifikat/terbitkan-ulang")
@on_error(lambda error, account_id: _refused(error, account_id, 409 if isinstance(error, InputError) else None))
def send_renewal(account_id: int):
    """F12: open a new certificate request and send a new set-passphrase link (the issuance steps run again)."""
    account = _account(account_id)
    after_issuance.send_renewal_link(account, actor())
    return _actions(account, message=_("Tautan pembuatan passphrase untuk sertifikat baru sudah dikirim."))
