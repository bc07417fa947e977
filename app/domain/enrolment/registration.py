"""Registration (F1), the activation wizard (F2) and the verifier's decisions (F3): approve, which starts issuance
(F4), or reject with a reason; every step validated, state kept in the database."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from ... import lifecycle
from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...lifecycle import AccountStatus, CertificateStatus
from ...models import Account, Agency, Certificate, CertificateKind, Employment, Role, SubscriberProfile
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor, record
from ...urls import public_url
from ..accounts import tokens
from ..accounts.passwords import hash_password, one_time_password
from ..errors import InputError
from . import faces, identity, otp, registries, request_letters

ACTIVATION = "activation"
ACTIVATION_TTL = timedelta(hours=24)
AGREEMENT_VERSION = "2026-11"
WIZARD_STEPS = ("data-diri", "telepon", "kedinasan", "swafoto", "persetujuan")
SET_PASSPHRASE = "set_passphrase"
SET_PASSPHRASE_TTL = timedelta(hours=24)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """What a verifier enters for a new subscriber (F1)."""

    name: str
    nik: str
    nip: str
    email: str
    phone: str
    letter_id: int | None = None  # F16: the completed request letter, when the agency requires one


class AlreadyRegistered(InputError):
    """The e-mail or the NIK is already an account's; ``field`` says which."""

    status = 409


class NoAgencyForDomain(InputError):
    """The e-mail's domain is not the domain of any agency it may belong to."""


def _clean_email(raw: str, field: str = "email") -> str:
    email = (raw or "").strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise InputError(gettext("Alamat e-mail tidak valid. Contoh: nama@instansi.go.id"), field)
    return email


def _check_domain(email: str, agency: Agency, field: str = "email") -> None:
    domain = email.rsplit("@", 1)[1]
    allowed = agency.email_domain.lower()
    if domain != allowed and not domain.endswith("." + allowed):
        raise InputError(gettext("Gunakan e-mail dinas dengan domain %(domain)s.", domain=agency.email_domain), field)


def _invalid(field: str):
    """Turn an identity rule's error into an enrolment error on ``field``."""

    def wrap(call, *args):
        try:
            return call(*args)
        except identity.InvalidInput as exc:
            raise InputError(str(exc), field) from exc

    return wrap


def check_unique(email: str, nik: str) -> None:
    if db.session.execute(select(Account.id).where(Account.email == email)).first():
        raise AlreadyRegistered(gettext("E-mail ini sudah terdaftar. Gunakan e-mail lain atau kirim ulang tautan aktivasi."), "email")
    if db.session.execute(select(SubscriberProfile.account_id).where(SubscriberProfile.nik == nik)).first():
        raise AlreadyRegistered(gettext("NIK ini sudah terdaftar di Paraf."), "nik")


def validate_registration(raw: dict, agency: Agency) -> Registration:
    """Check a verifier's registration form or CSV row; raise :class:`InputError` on the first problem."""
    name = _invalid("name")(identity.check_name, raw.get("name", ""))
    nik = (raw.get("nik") or "").strip()
    _invalid("nik")(identity.parse_nik, nik)
    nip = (raw.get("nip") or "").strip()
    if nip:
        nip_info = _invalid("nip")(identity.parse_nip, nip)
        _invalid("nip")(identity.check_nip_matches_nik, nip_info, identity.parse_nik(nik))
    email = _clean_email(raw.get("email", ""))
    _check_domain(email, agency)
    phone = _invalid("phone")(identity.normalise_phone, raw.get("phone", ""))
    try:
        letter = request_letters.required_letter(agency, raw.get("letter"))
    except request_letters.LetterError as exc:
        raise InputError(str(exc), exc.field) from exc
    return Registration(name=name, nik=nik, nip=nip, email=email, phone=phone, letter_id=letter.id if letter else None)


def _send_activation(account: Account) -> None:
    raw = tokens.issue(account.id, ACTIVATION, ACTIVATION_TTL)
    link = public_url("enrolment.activate", token=raw)
    agency = account.agency.name if account.agency else None
    notifications.email_message(account.email, "activation", {"name": account.name, "agency": agency},
                                links={"activation": link}, account_id=account.id,
                                links_expire_at=utcnow() + ACTIVATION_TTL)


def register(agency: Agency, registration: Registration, actor: Actor) -> Account:
    """Create a subscriber account in ``REGISTERED`` and queue the activation e-mail."""
    check_unique(registration.email, registration.nik)
    account = Account(role=Role.SUBSCRIBER, agency_id=agency.id, email=registration.email, name=registration.name)
    account.agency = agency
    db.session.add(account)
    lifecycle.apply(account, "account", "register", actor,
                    details={"by": actor.name, **({"letter": registration.letter_id} if registration.letter_id else {})})
    db.session.add(
        SubscriberProfile(
            account_id=account.id,
            nik=registration.nik,
            nip=registration.nip or None,
            name=registration.name,
            phone=registration.phone,
            wizard_data={},
        )
    )
    _send_activation(account)
    db.session.flush()
    return account


def self_register(nik: str, registry_email: str, agency_email: str, actor: Actor) -> Account:
    """Register oneself: the NIK must be in the population registry and the agency e-mail in an agency's domain."""
    _invalid("nik")(identity.parse_nik, nik.strip())
    registry_email = _clean_email(registry_email, "registry_email")
    agency_email = _clean_email(agency_email, "agency_email")
    agency = agency_of_email(agency_email, db.session.execute(select(Agency)).scalars().all())
    if agency is None:
        raise InputError(gettext("Domain e-mail dinas ini tidak terdaftar pada instansi mana pun di Paraf."), "agency_email")
    person = registries.registry().find_person(nik.strip())
    if person is None:
        raise InputError(gettext("NIK tidak ditemukan di data kependudukan. Periksa kembali NIK Anda."), "nik")
    registration = Registration(name=person.name, nik=nik.strip(), nip="", email=agency_email, phone="")
    check_unique(registration.email, registration.nik)
    account = Account(role=Role.SUBSCRIBER, agency_id=agency.id, email=agency_email, name=person.name)
    account.agency = agency
    db.session.add(account)
    lifecycle.apply(account, "account", "register", replace(actor, agency_id=agency.id), details={"self": True})
    db.session.add(SubscriberProfile(account_id=account.id, nik=registration.nik, registry_email=registry_email, wizard_data={}))
    _send_activation(account)
    db.session.flush()
    return account


def agency_of_email(email: str, agencies: list[Agency]) -> Agency | None:
    """Return the agency whose e-mail domain the address has (the most specific domain wins), or None."""
    domain = email.rsplit("@", 1)[1]
    matching = [a for a in agencies if domain == a.email_domain.lower() or domain.endswith("." + a.email_domain.lower())]
    return max(matching, key=lambda a: len(a.email_domain), default=None)


def register_in(agencies: list[Agency], name: str, email: str, nik: str, phone: str, actor: Actor) -> Account:
    """Register a person (an integrated application's call) in the one of ``agencies`` their e-mail's domain picks.

    The agency's rules apply as for a verifier's registration; the activation e-mail is queued.

    :raises InputError: a value is not valid (``field`` names it).
    :raises NoAgencyForDomain: the e-mail's domain is none of these agencies'.
    :raises request_letters.LetterError: the agency registers only with a request letter (through its verifier).
    :raises AlreadyRegistered: the e-mail or the NIK is already registered.
    """
    name = _invalid("name")(identity.check_name, name)
    nik = nik.strip()
    _invalid("nik")(identity.parse_nik, nik)
    phone = _invalid("phone")(identity.normalise_phone, phone) if phone else ""
    email = _clean_email(email)
    agency = agency_of_email(email, agencies)
    if agency is None:
        raise NoAgencyForDomain(gettext("Domain e-mail ini bukan domain instansi yang dapat didaftarkan."), "email")
    request_letters.required_letter(agency, None)
    registration = Registration(name=name, nik=nik, nip="", email=email, phone=phone)
    return register(agency, registration, replace(actor, agency_id=agency.id))


def resend_activation(account: Account, actor: Actor) -> None:
    """Send a new activation link; the previous one stops working."""
    if account.status not in (AccountStatus.REGISTERED, AccountStatus.REJECTED):
        raise InputError(gettext("Tautan aktivasi hanya dapat dikirim ulang sebelum data dikirim atau setelah ditolak."))
    _send_activation(account)
    record(actor, "account.resend_activation", "account", account.id)


def subscriber_actor(account: Account, ip: str | None = None) -> Actor:
    """Return the audit actor for a subscriber acting through a link-bound page."""
    return Actor("subscriber:" + account.email, ip=ip, agency_id=account.agency_id)


def open_activation(raw_token: str, ip: str | None = None) -> Account:
    """Use an activation link (single use) and return its account; raise ``tokens.TokenError`` if it is not valid.

    The caller audits a refused link (``web.refuse_link``).
    """
    token = tokens.consume(raw_token, ACTIVATION)
    account = db.session.get(Account, token.account_id)
    record(subscriber_actor(account, ip), "account.activation_opened", "account", account.id)
    return account


def editable(account: Account) -> bool:
    """Return whether the wizard may still change this account's data."""
    return account.status in (AccountStatus.REGISTERED, AccountStatus.REJECTED)


def _require_editable(account: Account) -> SubscriberProfile:
    if not editable(account):
        raise InputError(gettext("Data sudah dikirim dan sedang diverifikasi; tidak dapat diubah lagi."))
    return account.profile


def _normalised(name: str) -> str:
    return " ".join(name.upper().split())


def save_personal(account: Account, name: str, front_title: str, back_title: str) -> None:
    """Step 1: name (letters and spaces only, checked with the NIK against the population registry) and titles."""
    profile = _require_editable(account)
    name = _invalid("name")(identity.check_name, name)
    front = _invalid("front_title")(identity.check_title, front_title) if front_title.strip() else ""
    back = _invalid("back_title")(identity.check_title, back_title) if back_title.strip() else ""
    nik_info = identity.parse_nik(profile.nik)
    person = registries.registry().find_person(profile.nik)
    if person is None or _normalised(person.name) != _normalised(name):
        profile.population_match = False  # kept for the verifier, although the step is refused
        raise InputError(
            gettext("Nama dan NIK tidak cocok dengan data kependudukan. Tulis nama sesuai KTP, tanpa gelar."), "name",
            keep_changes=True,
        )
    profile.population_match = True
    profile.name, profile.front_title, profile.back_title = name, front, back
    profile.birth_date, profile.gender = nik_info.birth_date, nik_info.gender
    account.name = name
    profile.wizard_step = max(profile.wizard_step, 1)


def send_phone_code(account: Account, phone: str) -> str:
    """Step 2a: normalise the phone number and send a WhatsApp OTP to it; return the normalised number."""
    profile = _require_editable(account)
    number = _invalid("phone")(identity.normalise_phone, phone)
    if profile.phone != number:
        profile.phone, profile.phone_verified_at = number, None
    otp.send(account.id, number)
    return number


def verify_phone_code(account: Account, code: str, ip: str | None = None) -> None:
    """Step 2b: check the OTP; the phone counts as verified from now on (wrong and locked codes are audited)."""
    profile = _require_editable(account)
    try:
        otp.check(account.id, (code or "").strip())
    except otp.OtpWrong as exc:
        record(subscriber_actor(account, ip), "account.otp_wrong", "account", account.id, details={"remaining": exc.remaining})
        raise
    except otp.OtpLocked:
        record(subscriber_actor(account, ip), "account.otp_locked", "account", account.id)
        raise
    profile.phone_verified_at = utcnow()
    profile.wizard_step = max(profile.wizard_step, 2)


def save_service(account: Account, employment: str, nip: str = "", unit: str = "", position: str = "", province: str = "") -> None:
    """Step 3: ASN give a NIP found in the civil-service registry; Non-ASN type their unit, position and province."""
    profile = _require_editable(account)
    if employment == Employment.ASN:
        nip_info = _invalid("nip")(identity.parse_nip, (nip or "").strip())
        _invalid("nip")(identity.check_nip_matches_nik, nip_info, identity.parse_nik(profile.nik))
        servant = registries.registry().find_civil_servant(nip.strip())
        if servant is None:
            profile.asn_match = False  # kept for the verifier, although the step is refused
            raise InputError(gettext("NIP tidak ditemukan di data kepegawaian. Periksa kembali NIP Anda."), "nip",
                             keep_changes=True)
        if servant.nik != profile.nik:
            profile.asn_match = False
            raise InputError(gettext("NIP ini terdaftar untuk NIK lain. Periksa kembali NIP Anda."), "nip",
                             keep_changes=True)
        profile.asn_match = _normalised(servant.name) == _normalised(profile.name)
        profile.nip, profile.unit, profile.position, profile.province = servant.nip, servant.unit, servant.position, servant.province
        profile.employment = Employment.ASN
    elif employment == Employment.NON_ASN:
        profile.unit = _invalid("unit")(identity.check_free_text, unit, gettext("Unit kerja"))
        profile.position = _invalid("position")(identity.check_free_text, position, gettext("Jabatan"))
        profile.province = _invalid("province")(identity.check_free_text, province, gettext("Provinsi"))
        profile.nip, profile.employment, profile.asn_match = profile.nik, Employment.NON_ASN, None
    else:
        raise InputError(gettext("Pilih status kepegawaian: ASN atau Non-ASN."), "employment")
    profile.wizard_step = max(profile.wizard_step, 3)


def selfie_folder() -> Path:
    """Return the folder under the instance where selfies are kept (never under static/)."""
    return private_folder(Path(current_app.instance_path) / "selfies")


def save_selfie(account: Account, image: bytes) -> faces.FaceCheck:
    """Step 4: exactly one face, compared with the registry photo when there is one; keep the file and score."""
    profile = _require_editable(account)
    reference = registries.registry().photo(profile.nik)
    result = faces.compare(image, reference, current_app.config["FACE_MATCH_THRESHOLD"])
    name = f"{account.id}-{secrets.token_hex(8)}.jpg"
    write_private(selfie_folder() / name, image)
    old = profile.selfie_path
    profile.selfie_path, profile.selfie_score = name, result.score
    if old:
        (selfie_folder() / old).unlink(missing_ok=True)
    profile.wizard_step = max(profile.wizard_step, 4)
    return result


def missing_steps(profile: SubscriberProfile) -> list[str]:
    """Return what is still missing before the data can be sent, in words."""
    missing = []
    if not profile.population_match:
        missing.append(gettext("data diri"))
    if not profile.phone_verified_at:
        missing.append(gettext("verifikasi nomor WhatsApp"))
    if not profile.employment:
        missing.append(gettext("data kedinasan"))
    if not profile.selfie_path:
        missing.append(gettext("swafoto"))
    return missing


def submit(account: Account, privacy: bool, agreement: bool, actor: Actor) -> str | None:
    """Step 5: both consents, then ``ACTIVATED``; auto-verified when the agency allows and everything matches.

    Returns the portal one-time password when auto-verified, for the caller to send after the commit.
    """
    profile = _require_editable(account)
    if not (privacy and agreement):
        raise InputError(
            gettext("Centang kedua persetujuan (kebijakan privasi dan perjanjian pemilik sertifikat) untuk melanjutkan."),
            "consent",
        )
    missing = missing_steps(profile)
    if missing:
        raise InputError(gettext("Lengkapi dulu: %(steps)s.", steps=", ".join(missing)))
    now = utcnow()
    profile.consent_privacy_at = profile.consent_agreement_at = now
    profile.agreement_version, profile.submitted_at = AGREEMENT_VERSION, now
    account.rejection_reason = None
    lifecycle.apply(account, "account", "submit", actor)
    threshold = current_app.config["FACE_MATCH_THRESHOLD"]
    if (
        account.agency.auto_verify
        and profile.employment == Employment.ASN
        and profile.population_match
        and profile.asn_match
        and profile.selfie_score is not None
        and profile.selfie_score >= threshold
    ):
        return approve(account, Actor("system:auto-verify", ip=actor.ip, agency_id=account.agency_id), automatic=True)
    return None


def queue_counts(agency_id: int) -> dict[str, int]:
    """Return how many accounts of an agency are in each status."""
    rows = db.session.execute(
        select(Account.status, func.count()).where(Account.agency_id == agency_id, Account.role == Role.SUBSCRIBER).group_by(Account.status)
    ).all()
    return {str(status): count for status, count in rows}


# ------------------------------------------------------------------ the verifier's decisions (F3)



def pending_request(account: Account) -> Certificate | None:
    """Return the account's certificate request waiting for a passphrase (status ``NEW``), if any."""
    return db.session.query(Certificate).filter_by(account_id=account.id, status=CertificateStatus.NEW).one_or_none()


def send_set_passphrase(account: Account, actor: Actor) -> None:
    """Send the set-passphrase link by e-mail and WhatsApp; an earlier link stops working."""
    if pending_request(account) is None:
        raise InputError(gettext("Tidak ada permintaan sertifikat yang menunggu passphrase untuk akun ini."))
    raw = tokens.issue(account.id, SET_PASSPHRASE, SET_PASSPHRASE_TTL)
    link = public_url("enrolment.issue_start", token=raw)
    context, links, expiry = {"name": account.name}, {"set_passphrase": link}, utcnow() + SET_PASSPHRASE_TTL
    notifications.email_message(account.email, "set_passphrase", context, links, account.id, expiry)
    if account.profile and account.profile.phone_verified_at:
        notifications.whatsapp_message(account.profile.phone, "set_passphrase", context, links, account.id, expiry)
    record(actor, "certificate.set_passphrase_link_sent", "account", account.id)


def _give_portal_account(account: Account) -> str | None:
    """Give the subscriber a portal username and one-time password; return the password to send directly."""
    if account.username:
        return None
    account.username = account.email.split("@", 1)[0][:48] + f".{account.id}"
    password = one_time_password()
    account.password_hash = hash_password(password)
    account.must_change_password = True  # replaced after the first sign-in, before anything else
    return password


def approve(account: Account, actor: Actor, automatic: bool = False) -> str | None:
    """Approve the data: ``VERIFIED``, a certificate request ``NEW``, the set-passphrase link queued.

    Returns the portal one-time password for the caller to send directly after the commit (never stored).
    """
    lifecycle.apply(account, "account", "auto_verify" if automatic else "approve", actor)
    request = Certificate(kind=CertificateKind.SUBSCRIBER, account_id=account.id, subject=account.name)
    db.session.add(request)
    lifecycle.apply(request, "certificate", "request", actor)
    send_set_passphrase(account, actor)
    return _give_portal_account(account)


def send_account_message(account: Account, password: str | None) -> bool:
    """Tell the subscriber their portal username and one-time password, directly (never through the outbox).

    Called after the commit, so a mail server that is down must not fail the request: returns False then.
    """
    if password is None:
        return True
    try:
        notifications.email_message_now(account.email, "portal_account", {"username": account.username, "password": password})
    except notifications.NotificationError:
        log.warning("the portal account e-mail of account %d could not be sent", account.id)
        return False
    return True


def reject(account: Account, reason: str, actor: Actor) -> None:
    """Reject the data with a reason the subscriber will read; they can correct it and send again."""
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InputError(
            gettext("Tulis alasan penolakan (minimal 5 karakter) agar pemohon tahu apa yang harus diperbaiki."), "reason"
        )
    lifecycle.apply(account, "account", "reject", actor, reason=reason)
    account.rejection_reason = reason
    resend_activation(account, actor)


def can_decide(account: Account) -> bool:
    """Return whether the account waits for a verifier's decision."""
    return account.status == AccountStatus.ACTIVATED
