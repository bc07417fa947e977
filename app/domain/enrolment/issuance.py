"""Issuance (F4): the passphrase rules, then a key made under the passphrase and a certificate, exactly once."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm.exc import StaleDataError

from ...models import Account, Certificate
from ...platform import notifications
from ...platform.audit import Actor, record
from .. import keys
from ..accounts import tokens
from ..errors import InputError
from . import faces, registries
from .registration import AGREEMENT_VERSION, SET_PASSPHRASE, pending_request, subscriber_actor

FORBIDDEN = "[]^\\"
RULES = (
    ("length", lazy_gettext("Minimal 8 karakter"), lambda p: len(p) >= 8),
    ("lower", lazy_gettext("Memuat huruf kecil (a–z)"), lambda p: re.search(r"[a-z]", p) is not None),
    ("upper", lazy_gettext("Memuat huruf besar (A–Z)"), lambda p: re.search(r"[A-Z]", p) is not None),
    ("digit", lazy_gettext("Memuat angka (0–9)"), lambda p: re.search(r"[0-9]", p) is not None),
    ("special", lazy_gettext("Memuat karakter khusus, misalnya ! @ # $ %"), lambda p: re.search(r"[^A-Za-z0-9\s]", p) is not None),
    ("forbidden", lazy_gettext("Tidak memuat [ ] ^ atau \\"), lambda p: not any(c in FORBIDDEN for c in p)),
)


def passphrase_checks(passphrase: str) -> list[tuple[str, str, bool]]:
    """Return each rule as (key, description, satisfied) for live feedback."""
    return [(key, str(text), bool(test(passphrase))) for key, text, test in RULES]


def check_passphrase(passphrase: str, confirmation: str) -> None:
    """Raise :class:`InputError` naming the first rule the passphrase breaks, or a mismatch."""
    for _key, text, ok in passphrase_checks(passphrase):
        if not ok:
            raise InputError(gettext("Passphrase belum memenuhi aturan: %(rule)s.", rule=text), "passphrase")
    if passphrase != confirmation:
        raise InputError(gettext("Konfirmasi passphrase tidak sama dengan passphrase."), "confirmation")


def open_link(raw_token: str) -> Account:
    """Check a set-passphrase link (not used up until the certificate is issued) and return its account."""
    from ...extensions import db

    token = tokens.verify(raw_token, SET_PASSPHRASE)
    account = db.session.get(Account, token.account_id)
    if pending_request(account) is None:
        raise tokens.TokenInvalid()
    return account


def recheck_selfie(account: Account, image: bytes, ip: str | None = None) -> faces.FaceCheck:
    """Step 2: a new selfie with exactly one face that matches the registry photo, when there is one.

    A face that does not match is written to the audit trail, which the refusal keeps.
    """
    reference = registries.registry().photo(account.profile.nik)
    result = faces.compare(image, reference, current_app.config["FACE_MATCH_THRESHOLD"])
    if result.matched is False:
        record(subscriber_actor(account, ip), "certificate.selfie_mismatch", "account", account.id, details={"score": round(result.score, 3)})
        raise InputError(
            gettext("Wajah pada swafoto tidak cocok dengan foto data kependudukan. Ambil ulang dengan wajah menghadap kamera."),
            "selfie", keep_changes=True,
        )
    return result


def subject_of(account: Account) -> dict[str, str]:
    """Return the certificate subject for an account."""
    profile = account.profile
    subject = {"country_name": "ID", "organization_name": account.agency.name, "common_name": profile.name}
    if profile.unit:
        subject["organizational_unit_name"] = profile.unit
    if profile.position:
        subject["title"] = profile.position
    return subject


def issue(account: Account, raw_token: str, passphrase: str, confirmation: str, agreed: bool, actor: Actor) -> Certificate:
    """Make the key and certificate; the link is used up, and a second submit never makes a second certificate.

    :raises InputError: a rule is broken or the agreement was not accepted.
    :raises tokens.TokenError: the link was already used or has expired.
    """
    check_passphrase(passphrase, confirmation)
    if not agreed:
        raise InputError(gettext("Baca perjanjian pemilik sertifikat sampai akhir lalu pilih \u201cSetuju\u201d."), "agreement")
    token = tokens.consume(raw_token, SET_PASSPHRASE)
    if token.account_id != account.id:
        raise tokens.TokenInvalid()
    request = pending_request(account)
    if request is None:
        raise tokens.TokenInvalid(gettext("Sertifikat untuk tautan ini sudah diterbitkan."))
    request.agreement_version = AGREEMENT_VERSION
    try:
        certificate = keys.issue_subscriber_certificate(subject_of(account), passphrase, actor, email=account.email, request=request)
    except StaleDataError as exc:  # a concurrent submit issued it first
        raise tokens.TokenInvalid(gettext("Sertifikat untuk tautan ini sudah diterbitkan.")) from exc
    until = certificate.not_after.strftime("%d-%m-%Y")
    notifications.email_message(account.email, "certificate_issued", {"name": account.name, "until": until},
                                account_id=account.id)
    return certificate
