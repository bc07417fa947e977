"""The verifier's certificate actions on a subscriber of their agency (F9, F11, F12), as one fragment of the detail page."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from .. import lifecycle
from ..domain.certificates import after_issuance
from ..domain.enrolment.registration import EnrolmentError
from ..extensions import db, htmx
from ..models import Account
from ..platform import notifications
from ..web import actor, render
from .views import _account, bp


def _actions(account: Account, error: str | None = None, message: str | None = None, status: int = 200):
    """Return the fragment (HTMX) or go back to the detail page."""
    if not htmx:
        if error or message:
            flash(error or message, "error" if error else "success")
        return redirect(url_for("verifier.detail", account_id=account.id))
    return render("verifier/detail.html", "verifier/_certificate_actions.html", status,
                  account=account, certificate_error=error, certificate_message=message)


@bp.post("/akun/<int:account_id>/sertifikat/reset")
def send_reset(account_id: int):
    """F9: send the subscriber a passphrase-reset link (WhatsApp when the phone is verified, e-mail otherwise)."""
    account = _account(account_id)
    try:
        channel = after_issuance.request_reset(account, actor())
    except lifecycle.Forbidden as exc:
        db.session.rollback()
        return _actions(account, exc.reason, status=409)
    except notifications.NotificationError as exc:
        db.session.rollback()
        return _actions(account, str(exc), status=422)
    db.session.commit()
    where = _("WhatsApp") if channel == notifications.WHATSAPP else _("e-mail")
    return _actions(account, message=_("Tautan reset passphrase dikirim lewat %(channel)s.", channel=where))


@bp.post("/akun/<int:account_id>/sertifikat/cabut")
def revoke_certificate(account_id: int):
    """F11: revoke the subscriber's active certificate at once with an RFC 5280 reason (confirmation required)."""
    account = _account(account_id)
    certificate = after_issuance.active(account)
    try:
        if certificate is None:
            newest = after_issuance.latest(account)
            raise lifecycle.Forbidden("certificate", newest.status if newest else None, "revoke")
        if request.form.get("confirm") != "ya":
            raise EnrolmentError(_("Centang konfirmasi pencabutan; pencabutan tidak dapat dibatalkan."), "confirm")
        after_issuance.revoke_with_notice(certificate, request.form.get("reason", ""), actor())
    except lifecycle.Forbidden as exc:
        db.session.rollback()
        return _actions(account, exc.reason, status=409)
    except EnrolmentError as exc:
        db.session.rollback()
        return _actions(account, str(exc), status=422)
    db.session.commit()
    return _actions(account, message=_("Sertifikat %(serial)s dicabut.", serial=certificate.serial))


@bp.post("/akun/<int:account_id>/sertifikat/terbitkan-ulang")
def send_renewal(account_id: int):
    """F12: open a new certificate request and send a new set-passphrase link (the issuance steps run again)."""
    account = _account(account_id)
    try:
        after_issuance.send_renewal_link(account, actor())
    except lifecycle.Forbidden as exc:
        db.session.rollback()
        return _actions(account, exc.reason, status=409)
    except EnrolmentError as exc:
        db.session.rollback()
        return _actions(account, str(exc), status=409)
    db.session.commit()
    return _actions(account, message=_("Tautan pembuatan passphrase untuk sertifikat baru sudah dikirim."))
