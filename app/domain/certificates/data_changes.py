"""Data changes (F13) and migrations between agencies (F14): validate, revoke when needed, confirm by link.

A request's ``state`` and the account's status move only through ``lifecycle.apply`` (which writes the audit
event). Services add/flush; the view commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, or_, select

from ... import lifecycle
from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...lifecycle import AccountStatus, CertificateStatus
from ...models import Account, Agency, Certificate, ChangeKind, ChangeState, DataChange, Employment, Role
from ...models.data_change import OPEN_STATES
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor, record
from ...urls import public_url
from .. import keys
from ..accounts import tokens
from ..enrolment import identity
from ..enrolment.registration import _check_domain, _clean_email, subscriber_actor
from ..errors import InputError
from ..signing import signatures
from . import change_form, sla

PURPOSE = "data-change"
UPDATE_FIELDS = ("name", "email", "nip", "position", "unit", "city", "province")
MIGRATION_FIELDS = ("email", "position", "unit", "agency", "province")
REVOCATION_FIELDS = frozenset({"name", "email", "agency"})  # printed in the certificate: revoke before changing
LABELS = {
    "name": lazy_gettext("Nama lengkap"),
    "email": lazy_gettext("E-mail"),
    "nip": lazy_gettext("NIP"),
    "position": lazy_gettext("Jabatan"),
    "unit": lazy_gettext("Unit kerja"),
    "city": lazy_gettext("Kota"),
    "province": lazy_gettext("Provinsi"),
    "agency": lazy_gettext("Instansi"),
}
FORM_LABELS = {"email": "Email", "position": "Jabatan (definitif)", "unit": "Unit Kerja", "agency": "Instansi",
               "province": "Provinsi"}
PAGE_SIZE = 20

CLOSING = {"cancel", "reject", "confirm"}


class ChangeError(InputError):
    """A change that cannot be made; the message says what to fix (``field`` names the form field)."""


def _refused(change: DataChange) -> ChangeError:
    return ChangeError(gettext("Langkah ini tidak diizinkan: permintaan perubahan data berstatus %(state)s.",
                               state=change.state), status=409)


def _move(change: DataChange, action: str, actor: Actor, reason: str | None = None) -> None:
    """Move a request through the lifecycle's table (which writes the audit event); raise :class:`ChangeError` otherwise."""
    try:
        lifecycle.apply(change, "data_change", action, actor, reason,
                        {"account": change.account_id, "fields": sorted(change.after or {})})
    except lifecycle.Forbidden:
        raise _refused(change) from None
    if action in CLOSING:
        change.closed_at = utcnow()
        db.session.flush()


def current_values(account: Account) -> dict[str, str]:
    """Return the account's present values of every field a change may touch."""
    profile = account.profile
    return {"name": profile.name or account.name, "email": account.email, "nip": profile.nip or "",
            "position": profile.position, "unit": profile.unit, "city": profile.city, "province": profile.province,
            "agency": account.agency.name if account.agency else ""}


def needs_revocation(fields) -> bool:
    """Return whether changing ``fields`` needs the active certificate revoked first (name, e-mail, organisation)."""
    return bool(REVOCATION_FIELDS.intersection(fields))


def active_certificate(account: Account) -> Certificate | None:
    """Return the account's certificate in ``ISSUE``, if any."""
    return db.session.execute(
        select(Certificate).where(Certificate.account_id == account.id, Certificate.status == CertificateStatus.ISSUE)
        .order_by(Certificate.id.desc()).limit(1)
    ).scalar_one_or_none()


def open_request(account: Account) -> DataChange | None:
    """Return the account's request that still waits for someone, if any."""
    return db.session.execute(
        select(DataChange).where(DataChange.account_id == account.id, DataChange.state.in_(OPEN_STATES))
        .order_by(DataChange.id.desc()).limit(1)
    ).scalar_one_or_none()


def history(account: Account) -> list[DataChange]:
    """Return every request for the account, newest first."""
    return list(db.session.execute(
        select(DataChange).where(DataChange.account_id == account.id).order_by(DataChange.id.desc())
    ).scalars())


def _wrap(field: str, call, *args):
    try:
        return call(*args)
    except identity.InvalidInput as exc:
        raise ChangeError(str(exc), field) from exc


def _unique_email(email: str, account: Account, field: str = "email") -> None:
    taken = db.session.execute(select(Account.id).where(Account.email == email, Account.id != account.id)).first()
    if taken:
        raise ChangeError(gettext("E-mail ini sudah dipakai akun lain. Gunakan e-mail lain."), field)


def _clean(field: str, raw: str, account: Account, agency: Agency) -> str:
    """Return the cleaned new value of one field, or raise :class:`ChangeError` saying what to fix."""
    profile = account.profile
    if field == "name":
        return _wrap("name", identity.check_name, raw)
    if field == "email":
        email = _clean_email(raw)
        _check_domain(email, agency)
        _unique_email(email, account)
        return email
    if field == "nip":
        nip = (raw or "").strip()
        if profile.employment != Employment.ASN:
            raise ChangeError(gettext("Pengguna Non-ASN tidak memiliki NIP (NIP sama dengan NIK); NIP tidak dapat diubah."), "nip")
        info = _wrap("nip", identity.parse_nip, nip)
        _wrap("nip", identity.check_nip_matches_nik, info, identity.parse_nik(profile.nik))
        return nip
    if field == "city" and not identity.collapse(raw):
        return ""
    return _wrap(field, identity.check_free_text, raw, str(LABELS[field]))


def _diff(account: Account, form: Mapping[str, str], fields: tuple[str, ...], agency: Agency) -> tuple[dict, dict]:
    """Return (before, after) of the fields whose submitted value differs from the present one."""
    now = current_values(account)
    before, after = {}, {}
    for field in fields:
        if field not in form:
            continue
        raw = form.get(field) or ""
        if identity.collapse(raw) == now[field] or (field == "email" and raw.strip().lower() == now[field]):
            continue
        after[field] = _clean(field, raw, account, agency)
        if after[field] == now[field]:
            del after[field]
        else:
            before[field] = now[field]
    return before, after


def _check_can_change(account: Account, action: str) -> None:
    if open_request(account) is not None:
        raise ChangeError(gettext("Sudah ada permintaan perubahan data yang belum selesai untuk akun ini."))
    if not lifecycle.allowed("account", account.status, action):
        raise ChangeError(lifecycle.Forbidden("account", account.status, action).reason)


def _revoke(account: Account, certificate: Certificate, reason: str, actor: Actor) -> None:
    """Revoke the active certificate and queue a short notice to the subscriber."""
    keys.revoke(certificate, reason, actor)
    notifications.email_message(account.email, "data_change_revoked", {"name": account.name, "serial": certificate.serial},
                                account_id=account.id)


def start_update(account: Account, form: Mapping[str, str], revoke: bool, actor: Actor, requested_by: Account) -> DataChange:
    """Validate the changed fields, revoke the certificate when they need it, move the account to ``UPDATE``.

    :param revoke: the verifier agreed to revoke the active certificate (needed for name and e-mail).
    :raises ChangeError: a field is invalid, nothing changed, or the certificate must be revoked first.
    """
    _check_can_change(account, "request_update")
    before, after = _diff(account, form, UPDATE_FIELDS, account.agency)
    if not after:
        raise ChangeError(gettext("Tidak ada data yang berubah. Ubah minimal satu isian."))
    certificate = active_certificate(account)
    if certificate is not None and needs_revocation(after) and not revoke:
        raise ChangeError(gettext("Perubahan nama atau e-mail memerlukan pencabutan sertifikat aktif terlebih dahulu. "
                                  "Centang pencabutan sertifikat untuk melanjutkan."), "revoke")
    change = DataChange(account_id=account.id, agency_id=account.agency_id, kind=ChangeKind.UPDATE, before=before,
                        after=after, requested_by_id=requested_by.id, requested_by=actor.name, requested_at=utcnow())
    db.session.add(change)
    _move(change, "request_update", actor)
    if certificate is not None and needs_revocation(after):
        _revoke(account, certificate, "superseded", actor)
        change.revoked_certificate_id = certificate.id
    lifecycle.apply(account, "account", "request_update", actor, details={"data_change": change.id})
    send_confirmation(change)
    return change


def send_confirmation(change: DataChange) -> None:
    """Send the "Verifikasi Perubahan Data" link by e-mail (and WhatsApp when the phone is verified); older links die."""
    account = change.account
    hours = int(current_app.config["DATA_CHANGE_TTL_HOURS"])
    raw = tokens.issue(account.id, PURPOSE, timedelta(hours=hours))
    link = public_url("profile.confirm", token=raw)
    context = {"name": account.name, "hours": hours}
    to = change.after.get("email", account.email) if change.kind == ChangeKind.UPDATE else account.email
    expiry = utcnow() + timedelta(hours=hours)
    notifications.email_message(to, "data_change_confirm", context, {"data_change": link}, account.id, expiry)
    profile = account.profile
    if profile is not None and profile.phone and profile.phone_verified_at:
        notifications.whatsapp_message(profile.phone, "data_change_confirm", context, {"data_change": link}, account.id,
                                       expiry)


def resend(change: DataChange, actor: Actor) -> None:
    """Send a new confirmation link for a request waiting for the subscriber; the previous link stops working."""
    if change.state != ChangeState.PENDING_SUBSCRIBER:
        raise _refused(change)
    send_confirmation(change)
    record(actor, "data_change.link_sent", "data_change", change.id)


def open_link(raw: str) -> DataChange:
    """Return the request a live confirmation link is for, without using the link; raise ``tokens.TokenError``."""
    token = tokens.verify(raw, PURPOSE)
    change = open_request(db.session.get(Account, token.account_id))
    if change is None or change.state != ChangeState.PENDING_SUBSCRIBER:
        raise tokens.TokenInvalid()
    return change


def _apply_values(account: Account, after: dict, target: Agency | None = None) -> None:
    profile = account.profile
    if "email" in after:
        _unique_email(after["email"], account)
        account.email = after["email"]
    if "name" in after:
        account.name = profile.name = after["name"]
    for field in ("nip", "position", "unit", "city", "province"):
        if field in after:
            setattr(profile, field, after[field])
    if target is not None:
        account.agency_id, account.agency = target.id, target


def confirm(raw: str, ip: str | None = None) -> DataChange:
    """Apply the change the subscriber reviewed, put the account back to ``VERIFIED``, use the link up.

    :raises tokens.TokenError: the link is unknown, used, expired or has nothing waiting.
    :raises lifecycle.Forbidden: the account is no longer in ``UPDATE`` (e.g. suspended meanwhile).
    """
    change = open_link(raw)
    account = change.account
    actor = subscriber_actor(account, ip)
    lifecycle.apply(account, "account", "confirm_update", actor, details={"data_change": change.id})
    if change.kind == ChangeKind.UPDATE:
        _apply_values(account, change.after)
    tokens.consume(raw, PURPOSE)
    change.confirmed_at = utcnow()
    _move(change, "confirm", actor)
    return change


# Migration between agencies (F14)


def agency_heads(agency_id: int) -> list[Account]:
    """Return the agency heads of an agency."""
    return list(db.session.execute(
        select(Account).where(Account.role == Role.AGENCY_HEAD, Account.agency_id == agency_id).order_by(Account.id)
    ).scalars())


def start_migration(account: Account, form: Mapping[str, str], actor: Actor, requested_by: Account) -> DataChange:
    """Validate the form of the DIY guide, store the request and render its PDF for the agency head to sign."""
    _check_can_change(account, "migrate")
    agency_id = str(form.get("agency") or "")
    target = db.session.get(Agency, int(agency_id)) if agency_id.isdigit() else None
    if target is None or target.id == account.agency_id:
        raise ChangeError(gettext("Pilih instansi tujuan yang berbeda dari instansi sekarang."), "agency")
    fields = tuple(field for field in MIGRATION_FIELDS if field != "agency")
    before, after = _diff(account, form, fields, target)
    if "email" not in after:
        email = account.email
        try:
            _check_domain(email, target)
        except InputError as exc:
            raise ChangeError(str(exc), "email") from exc
    before["agency"], after["agency"] = account.agency.name, target.name
    change = DataChange(account_id=account.id, agency_id=account.agency_id, target_agency_id=target.id,
                        kind=ChangeKind.MIGRATION, before=before, after=after, requested_by_id=requested_by.id,
                        requested_by=actor.name, requested_at=utcnow())
    change.account, change.agency, change.target_agency = account, account.agency, target
    db.session.add(change)
    _move(change, "request_migration", actor)
    heads = agency_heads(account.agency_id)
    store_form(change, heads[0] if len(heads) == 1 else None)
    return change


def changes_folder() -> Path:
    """Return the folder under the instance where the forms are kept (never under static/)."""
    return private_folder(Path(current_app.instance_path) / "data-changes")


def form_data(change: DataChange, head: Account | None) -> change_form.FormData:
    """Return what the form prints for a migration request, with ``head`` as the signatory."""
    account = change.account
    present = current_values(account)
    rows = tuple(
        change_form.Row(FORM_LABELS[field], change.before.get(field, present[field]) or "-", change.after.get(field, "-"))
        for field in MIGRATION_FIELDS
    )
    profile = head.profile if head is not None else None
    return change_form.FormData(
        agency=change.agency.name, head_name=signatures.display_name(head) if head is not None else "",
        head_position=profile.position if profile else "", head_unit=profile.unit if profile else "",
        subscriber_name=account.name, nik=account.profile.nik,
        rows=rows, place=(profile.city if profile and profile.city else "") or change.agency.name,
        day=change.requested_at.astimezone(ZoneInfo(current_app.config["WORK_TIMEZONE"])).date(), number=f"PD-{change.id}",
    )


def store_form(change: DataChange, head: Account | None) -> bytes:
    """Render the form and keep it under the instance folder; return its bytes."""
    data = change_form.render(form_data(change, head))
    name = f"{change.id}-formulir.pdf"
    write_private(changes_folder() / name, data)
    change.form_path = f"data-changes/{name}"
    return data


def stored(path: str | None) -> Path | None:
    """Return the file of a stored path under the instance folder, if it exists."""
    if not path:
        return None
    file = Path(current_app.instance_path) / path
    return file if file.is_file() else None


def sign_form(change: DataChange, head: Account, passphrase: str, actor: Actor) -> None:
    """Let the source agency's head sign the form with their own certificate; the ticket enters the RA's queue.

    :raises signatures.SigningRefused: the head cannot sign now or the passphrase is wrong (that one keeps its count).
    """
    if change.kind != ChangeKind.MIGRATION or head.agency_id != change.agency_id or head.role != Role.AGENCY_HEAD:
        raise ChangeError(gettext("Formulir ini bukan untuk instansi Anda."))
    if not lifecycle.allowed("data_change", change.state, "sign"):
        raise _refused(change)
    document = store_form(change, head)
    upload = signatures.Upload(f"formulir-perubahan-data-{change.id}.pdf", document,
                            signatures.Placement(page=0, box=change_form.SIGNATURE_BOX))
    details = signatures.Details(reason="Persetujuan perubahan data pengguna sertifikat elektronik",
                              location=head.profile.city if head.profile and head.profile.city else "")
    [(signed_record, _data)] = signatures.sign_documents(head, passphrase, [upload], signatures.Placement(), details, actor)
    change.signed_document_id, change.signed_path = signed_record.id, signed_record.stored_path
    change.signed_by_id, change.signed_at = head.id, utcnow()
    _move(change, "sign", actor)


def approve(change: DataChange, actor: Actor, decided_by: Account) -> None:
    """Move the subscriber to the new agency: certificate revoked (affiliationChanged), account ``UPDATE``, link sent.

    :raises lifecycle.Forbidden: the account cannot be migrated now; nothing changes.
    :raises lifecycle.Stale: another decision on the ticket came first; the caller rolls back.
    """
    if not lifecycle.allowed("data_change", change.state, "approve") or change.kind != ChangeKind.MIGRATION:
        raise _refused(change)
    change.decided_by_id, change.decided_at = decided_by.id, utcnow()
    _move(change, "approve", actor)  # the decision first: of two taken at once, the second fails here (version)
    account = change.account
    lifecycle.apply(account, "account", "migrate", actor, details={"data_change": change.id})
    certificate = active_certificate(account)
    if certificate is not None:
        _revoke(account, certificate, "affiliation_changed", actor)
        change.revoked_certificate_id = certificate.id
    _apply_values(account, change.after, change.target_agency)
    send_confirmation(change)


def reject(change: DataChange, reason: str, actor: Actor, decided_by: Account) -> None:
    """Reject a migration ticket with a reason the verifier will read; the subscriber stays where they are.

    :raises lifecycle.Stale: another decision on the ticket came first; the caller rolls back.
    """
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ChangeError(gettext("Tulis alasan penolakan (minimal 5 karakter) agar verifikator tahu apa yang harus diperbaiki."),
                          "reason")
    change.decided_by_id, change.decided_at, change.decision_reason = decided_by.id, utcnow(), reason
    _move(change, "reject", actor, reason)


def cancel(change: DataChange, actor: Actor) -> None:
    """Withdraw a migration before the RA decides, or a data update before the subscriber confirms it.

    Withdrawing an update puts the account back to ``VERIFIED`` and kills the confirmation link; a migration the
    RA approved has already moved the subscriber, so it can only be confirmed.
    """
    if change.state == ChangeState.PENDING_SUBSCRIBER:
        if change.kind != ChangeKind.UPDATE:
            raise ChangeError(gettext("Migrasi yang sudah disetujui RA tidak dapat dibatalkan; pemilik akun perlu "
                                      "mengonfirmasi data barunya."))
        lifecycle.apply(change.account, "account", "cancel_update", actor, details={"data_change": change.id})
        tokens.revoke(change.account_id, PURPOSE)
    _move(change, "cancel", actor)


# Service clocks and lists


@dataclass(frozen=True)
class Clock:
    """A ticket's service clock: the words to show and whether it is late."""

    text: str
    late: bool


def _hours_minutes(span: timedelta) -> str:
    minutes = int(abs(span).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return gettext("%(h)d jam %(m)d menit", h=hours, m=minutes)
    if hours:
        return gettext("%(h)d jam", h=hours)
    return gettext("%(m)d menit", m=minutes)


def clock(change: DataChange, now: datetime | None = None) -> Clock | None:
    """Return the migration ticket's clock (2x24 working hours from the signature), or None for other requests."""
    if change.kind != ChangeKind.MIGRATION or change.signed_at is None:
        return None
    calendar = sla.calendar()
    work = sla.migration_work()
    if change.state != ChangeState.WAITING_RA:
        end = change.decided_at or change.closed_at or now or utcnow()
        left = calendar.remaining(change.signed_at, work, end)
        if left < timedelta(0):
            return Clock(gettext("selesai, terlambat %(span)s kerja", span=_hours_minutes(left)), True)
        return Clock(gettext("selesai tepat waktu"), False)
    left = calendar.remaining(change.signed_at, work, now or utcnow())
    if left < timedelta(0):
        return Clock(gettext("terlambat %(span)s kerja", span=_hours_minutes(left)), True)
    return Clock(gettext("sisa %(span)s kerja", span=_hours_minutes(left)), False)


def list_query(kind: str = "", state: str = "", q: str = "", agency_id: int | None = None):
    """Return the requests' query (newest first): kind, waiting/done, a search over name/e-mail/agency, an agency scope."""
    query = select(DataChange).join(Account, DataChange.account_id == Account.id)
    if kind in ChangeKind._value2member_map_:
        query = query.where(DataChange.kind == ChangeKind(kind))
    if state == "waiting":
        query = query.where(DataChange.state.in_(OPEN_STATES))
    elif state == "done":
        query = query.where(DataChange.state.not_in(OPEN_STATES))
    if q:
        like = f"%{q.lower()}%"
        agencies = select(Agency.id).where(func.lower(Agency.name).like(like))
        query = query.where(or_(func.lower(Account.name).like(like), func.lower(Account.email).like(like),
                                DataChange.agency_id.in_(agencies), DataChange.target_agency_id.in_(agencies)))
    if agency_id is not None:
        query = query.where(DataChange.agency_id == agency_id)
    return query.order_by(DataChange.id.desc())


def page_of(query, page: int) -> tuple[list[DataChange], bool]:
    """Return one page of a list query and whether another page follows."""
    page = max(page, 1)
    rows = list(db.session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).scalars())
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def may_edit_own_profile(account: Account) -> bool:
    """Return whether the subscriber may change their data themselves: verified and no certificate active."""
    return account.status == AccountStatus.VERIFIED and active_certificate(account) is None
