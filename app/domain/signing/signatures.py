"""Signing PDFs for a subscriber (F6): who may sign, the passphrase lock, stamps, storage and the record."""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext, ngettext
from sqlalchemy import Engine, case, create_engine, func, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool

from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...lifecycle import AccountStatus, CertificateStatus
from ...models import Account, Certificate, SignedDocument
from ...models.signing import public_id
from ...models.types import utcnow
from ...platform.audit import Actor, record
from ...urls import public_url
from .. import keys
from ..errors import Conflict, DomainError
from ..key_errors import (
    DocumentOverLimit,
    DocumentPasswordWrong,
    DocumentUnusable,
    EncryptedDocument,
    KeyServiceUnavailable,
    NotAPdfDocument,
    PassphraseDoesNotOpen,
    StampUnusable,
)

Box = tuple[float, float, float, float]
COUNTING_ENGINE = "paraf.passphrase_counting"
PENDING_WAIT_SECONDS = 10.0
"""How long a try waits for the account's other tries being checked before it is refused as locked."""
PENDING_POLL_SECONDS = 0.05
PENDING_TRY_SECONDS = 120
"""A try still pending this long after the account's last try started belonged to a process that died."""
"""Where the app keeps the engine that counts passphrase tries (``app.extensions``)."""
log = logging.getLogger(__name__)


class SigningRefused(Conflict):
    """Signing is not possible now; the message says why and what to do."""


class PassphraseWrong(SigningRefused):
    """The passphrase was wrong; ``remaining`` tries are left before signing locks."""

    status = 422
    keep_changes = True  # the wrong try counts toward the signing lock

    def __init__(self, message: str, remaining: int):
        super().__init__(message)
        self.remaining = remaining


class SigningLocked(SigningRefused):
    """Too many wrong passphrases in a row: only a passphrase reset lifts the lock."""

    keep_changes = True  # the try that locks must reach the database


class SigningBusy(SigningRefused):
    """The database was too busy to count the try; nothing was checked."""

    status = 503


class DocumentRefused(SigningRefused):
    """A file cannot be signed (not a PDF, damaged, encrypted, empty, too large, over a bound on PDFs)."""

    status = 422

    def __init__(self, message: str, filename: str, reason: str = "damaged", status: int | None = None,
                 limit: int | None = None):
        super().__init__(message, status=status)
        self.filename = filename
        self.reason = reason
        """``empty``, ``too_large``, ``not_pdf``, ``encrypted``, ``wrong_password``, ``damaged``, or a bound it is
        over (status 413): ``pages``, ``signatures``, ``decoded_mb``, ``page_size`` or ``check``."""
        self.limit = limit
        """The bound it is over (pages, signatures, MB, points or seconds), for a refusal by a bound."""


@dataclass(frozen=True)
class Placement:
    """Where the signature goes: invisible (``box`` None), a box on a page, or an existing empty field."""

    page: int = 0
    box: Box | None = None
    field: str | None = None


@dataclass(frozen=True)
class Details:
    """What the signature says: reason, location, contact, an optional acting position ("Plh."/"Plt."), stamp image and
    QR code target (the signature's public record unless given)."""

    reason: str = ""
    location: str = ""
    acting_as: str = ""
    contact_info: str = ""
    image: bytes | None = None
    qr_url: str = ""


@dataclass(frozen=True)
class Upload:
    """A file to sign: its name and bytes, and optionally its own placement and details (pages differ between files)."""

    filename: str
    data: bytes
    placement: Placement | None = None
    details: Details | None = None


def max_wrong() -> int:
    """Return how many wrong passphrases in a row lock signing."""
    return int(current_app.config.get("SIGNING_MAX_WRONG_PASSPHRASES", 5))


def signing_certificate(account: Account) -> Certificate:
    """Return the certificate the account signs with, or raise :class:`SigningRefused` saying why it cannot sign."""
    if account.status == AccountStatus.UPDATE:
        raise SigningRefused(gettext("Penandatanganan diblokir sementara: ada perubahan data yang menunggu konfirmasi Anda (status UPDATE)."))
    if account.status == AccountStatus.SUSPENDED:
        raise SigningRefused(gettext("Akun Anda ditangguhkan (SUSPENDED); penandatanganan tidak diizinkan. Hubungi verifikator instansi."))
    if account.signing_locked_at is not None:
        raise _locked()
    certificate = (
        db.session.query(Certificate)
        .filter_by(account_id=account.id, status=CertificateStatus.ISSUE)
        .order_by(Certificate.id.desc())
        .first()
    )
    if certificate is None:
        raise SigningRefused(gettext("Anda belum memiliki sertifikat elektronik yang aktif (status ISSUE)."))
    if certificate.not_after is not None and certificate.not_after <= utcnow():
        raise SigningRefused(gettext("Sertifikat elektronik Anda sudah kedaluwarsa. Ajukan penerbitan ulang kepada verifikator."))
    return certificate


def check_size(upload: Upload) -> None:
    """Refuse an empty or oversized file, naming it."""
    limit = int(current_app.config.get("MAX_PDF_BYTES", 20 * 1024 * 1024))
    if not upload.data:
        raise DocumentRefused(gettext("Berkas %(name)s kosong (0 byte).", name=upload.filename), upload.filename, "empty")
    if len(upload.data) > limit:
        raise DocumentRefused(
            gettext("Berkas %(name)s terlalu besar (maksimal %(mb)d MB).", name=upload.filename, mb=limit // (1024 * 1024)),
            upload.filename,
            "too_large",
        )


def check_document(upload: Upload, password: str | None = None) -> None:
    """Refuse an empty, oversized, damaged, encrypted (unless ``password`` opens it), non-PDF or over-bound file, naming it.

    The file is opened in a sandbox (:func:`app.domain.keys.check_pdf`), so a hostile one costs a child process.
    """
    check_size(upload)
    try:
        keys.check_pdf(upload.data, password=password)
    except DocumentUnusable as exc:
        raise refused(upload.filename, exc) from exc


def refused(filename: str, exc: DocumentUnusable) -> DocumentRefused:
    """Return the refusal naming ``filename`` for why the signing core could not use it."""
    if isinstance(exc, DocumentOverLimit):
        return DocumentRefused(gettext("Berkas %(name)s ditolak: %(why)s", name=filename, why=exc.message), filename,
                               exc.limit, status=exc.status, limit=exc.value)
    if isinstance(exc, DocumentPasswordWrong):
        return DocumentRefused(gettext("Kata sandi tidak membuka berkas %(name)s.", name=filename), filename, "wrong_password")
    if isinstance(exc, EncryptedDocument):
        return DocumentRefused(gettext(
            "Berkas %(name)s terenkripsi atau dilindungi kata sandi. Hapus proteksinya lalu unggah lagi.", name=filename
        ), filename, "encrypted")
    if isinstance(exc, NotAPdfDocument):
        return DocumentRefused(gettext("Berkas %(name)s bukan PDF.", name=filename), filename, "not_pdf")
    return DocumentRefused(gettext(
        "Berkas %(name)s rusak dan tidak dapat dibaca. Simpan ulang sebagai PDF lalu unggah lagi.", name=filename
    ), filename, "damaged")


def display_name(account: Account) -> str:
    """Return the name with academic titles, as it appears on a stamp."""
    profile = account.profile
    if profile is None:
        return account.name
    name = " ".join(part for part in (profile.front_title, profile.name or account.name) if part)
    return f"{name}, {profile.back_title}" if profile.back_title else name


def documents_folder() -> Path:
    """Return the folder under the instance where signed documents are kept."""
    return private_folder(Path(current_app.instance_path) / "documents")


def _request_connection():
    """Return the request's connection when it already writes to SQLite, else None (the count gets its own).

    SQLite has one writer at a time: a request that already holds the write lock (an OTP used, a form stored)
    would wait for itself on a second connection; its count is then committed with its refusal.
    """
    raw = db.session.connection().connection.driver_connection
    return db.session.connection() if isinstance(raw, sqlite3.Connection) and raw.in_transaction else None


def _counting_engine() -> Engine:
    """Return an engine without a pool: each request holds a pooled connection already, and many requests
    at once each waiting for a second one would starve the pool."""
    engine = current_app.extensions.get(COUNTING_ENGINE)
    if engine is None:
        engine = current_app.extensions[COUNTING_ENGINE] = create_engine(db.engine.url, poolclass=NullPool)
    return engine


def _update_count(account: Account, *where, **values) -> int | None:
    """Update the account's count and lock in one statement, committed at once; return the count, None if no match."""
    statement = (update(Account).where(Account.id == account.id, *where).values(**values)
                 .returning(Account.wrong_passphrases, Account.signing_locked_at))
    try:
        connection = _request_connection()
        if connection is None:
            with _counting_engine().begin() as own:
                row = own.execute(statement).first()
        else:
            row = connection.execute(statement).first()
    except OperationalError as exc:  # the database stayed locked: a clean refusal, never a bare 500
        raise SigningBusy(gettext("Server sedang sibuk. Coba lagi sebentar lagi.")) from exc
    if row is None:
        return None
    set_committed_value(account, "wrong_passphrases", row.wrong_passphrases)
    set_committed_value(account, "signing_locked_at", row.signing_locked_at)
    return row.wrong_passphrases


def _locked() -> SigningLocked:
    return SigningLocked(gettext("Penandatanganan dikunci karena passphrase salah %(n)d kali berturut-turut. Lakukan reset passphrase.", n=max_wrong()))


def _start_try(account: Account) -> None:
    """Count a try as pending while fewer than the limit, wrong ones and pending ones together, exist; wait otherwise.

    Pending tries of a process that died are forgotten after :data:`PENDING_TRY_SECONDS` without a new try.
    :raises SigningLocked: signing is locked, or tries stayed pending for :data:`PENDING_WAIT_SECONDS`.
    """
    deadline = time.monotonic() + PENDING_WAIT_SECONDS
    while True:
        now = utcnow()
        stale = Account.passphrase_pending_since < now - timedelta(seconds=PENDING_TRY_SECONDS)
        pending = case((stale, 0), else_=Account.passphrase_tries_pending)
        started = _update_count(account, Account.signing_locked_at.is_(None),
                                Account.wrong_passphrases + func.coalesce(pending, 0) < max_wrong(),
                                passphrase_tries_pending=func.coalesce(pending, 0) + 1, passphrase_pending_since=now)
        if started is not None:
            return
        if account.signing_locked_at is not None or time.monotonic() >= deadline:
            raise _locked()
        time.sleep(PENDING_POLL_SECONDS)  # other tries of this account are being checked: their outcome decides


def _end_try(account: Account, **values) -> int | None:
    """Settle a pending try with ``values``; return the wrong count after it."""
    pending = Account.passphrase_tries_pending
    return _update_count(account, passphrase_tries_pending=case((pending > 0, pending - 1), else_=0), **values)


@contextmanager
def passphrase_try(account: Account, actor: Actor) -> Iterator[None]:
    """Check a passphrase as a counted try: a wrong one stays counted, a right one clears the count.

    Every path that takes a passphrase goes through here. A try starts only while the wrong tries in a row
    and the tries still being checked together stay below the limit (one guarded UPDATE, committed at
    once), so parallel tries never check more guesses than the limit allows and each checked guess is
    counted; right passphrases in parallel only wait for each other's outcome. The key check holds no
    write lock.

    :raises SigningLocked: no try is left, or this wrong one was the last.
    :raises PassphraseWrong: the block raised ``PassphraseDoesNotOpen``, with tries left.
    :raises SigningBusy: the database was too busy to count the try (the block did not run).
    """
    _start_try(account)
    try:
        yield
    except PassphraseDoesNotOpen:
        count = _end_try(account, wrong_passphrases=Account.wrong_passphrases + 1)
        raise _wrong_passphrase(account, actor, count or max_wrong()) from None
    except BaseException:  # the guess was not judged (HSM down, a damaged file): the try is given back
        _end_try(account)
        raise
    _end_try(account, wrong_passphrases=0)


def _wrong_passphrase(account: Account, actor: Actor, count: int) -> PassphraseWrong:
    """Lock signing when this wrong try (the ``count``-th in a row) was the last one; record it, return the refusal."""
    remaining = max(0, max_wrong() - count)
    if remaining == 0:
        _update_count(account, Account.signing_locked_at.is_(None), signing_locked_at=utcnow())
    record(actor, "signing.wrong_passphrase", "account", account.id, details={"remaining": remaining})
    if remaining == 0:
        record(actor, "signing.locked", "account", account.id)
        return SigningLocked(gettext("Passphrase salah %(n)d kali berturut-turut; penandatanganan dikunci. Lakukan reset passphrase.", n=max_wrong()))
    return PassphraseWrong(
        ngettext("Passphrase salah. Sisa %(num)d percobaan sebelum penandatanganan dikunci.",
                 "Passphrase salah. Sisa %(num)d percobaan sebelum penandatanganan dikunci.", remaining),
        remaining,
    )


def check_passphrase(account: Account, certificate: Certificate, passphrase: str, actor: Actor) -> bytes:
    """Return the KEK-wrapped key the passphrase opens, checked as a counted try (the caller commits either way).

    :raises PassphraseWrong: wrong, with tries left.
    :raises SigningLocked: no try left, or wrong and that was the last try.
    """
    with passphrase_try(account, actor):
        return keys.check_passphrase(certificate, passphrase)


def _logs_failure(function):
    """Log a refused signing at WARNING: who, through what, how many files, and why (classes only, no secret or file)."""
    parameters = inspect.signature(function)

    @functools.wraps(function)
    def logged(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DomainError as exc:
            call = parameters.bind(*args, **kwargs)
            call.apply_defaults()
            given = call.arguments
            log.warning("signing failed: account %s (%s) via %s%s, %d document(s): %s",
                        given["account"].id, given["actor"].name, given["via"],
                        f", workflow {given['workflow_id']}" if given["workflow_id"] else "", len(given["uploads"]),
                        keys.failure_reason(exc))
            raise

    return logged


@_logs_failure
def sign_documents(
    account: Account,
    passphrase: str,
    uploads: list[Upload],
    placement: Placement,
    details: Details,
    actor: Actor,
    level: str = "B-LT",
    via: str = "portal",
    workflow_id: int | None = None,
) -> list[tuple[SignedDocument, bytes]]:
    """Sign every upload with one unlock of the key; return each record with the signed bytes.

    A wrong passphrase is counted (the caller must commit even then) and raises
    :class:`PassphraseWrong` or, at the limit, :class:`SigningLocked`.
    """
    certificate = signing_certificate(account)
    if not uploads:
        raise SigningRefused(gettext("Pilih minimal satu berkas PDF."))
    for upload in uploads:
        check_document(upload)
    position = details.acting_as or (account.profile.position if account.profile else "")
    results = []
    try:
        with passphrase_try(account, actor), keys.unlocked(certificate, passphrase) as sign:
            for upload in uploads:
                where, info = upload.placement or placement, upload.details or details
                record_id = public_id()
                stamp = keys.Stamp(name=display_name(account), position=info.acting_as or position,
                              qr_url=info.qr_url or public_url("verify.record", public_id=record_id), image=info.image)
                options = {"level": level, "reason": info.reason or None, "location": info.location or None,
                           "contact_info": info.contact_info or None}
                if where.field:
                    options.update(field=where.field, stamp=stamp)
                elif where.box:
                    options.update(page=where.page, box=where.box, stamp=stamp)
                try:
                    signed = sign(upload.data, **options)
                except DocumentUnusable as exc:
                    raise refused(upload.filename, exc) from exc
                results.append((upload, where, info, record_id, signed))
    except (KeyServiceUnavailable, StampUnusable) as exc:  # an unusable document was refused per file above
        raise SigningRefused(gettext("Penandatanganan gagal di server. Coba lagi; bila berulang, hubungi admin.")) from exc
    records = []
    for upload, where, info, record_id, signed in results:
        write_private(documents_folder() / f"{record_id}.pdf", signed)
        document = SignedDocument(
            public_id=record_id,
            account_id=account.id,
            certificate_id=certificate.id,
            workflow_id=workflow_id,
            filename=upload.filename,
            original_sha256=hashlib.sha256(upload.data).hexdigest(),
            signed_sha256=hashlib.sha256(signed).hexdigest(),
            stored_path=f"documents/{record_id}.pdf",
            pades_level=level,
            visible=bool(where.box or where.field),
            page=where.page if (where.box or where.field) else None,
            reason=info.reason,
            location=info.location,
            acting_as=info.acting_as,
            via=via,
        )
        db.session.add(document)
        records.append((document, signed))
    db.session.flush()
    for document, _signed in records:
        record(actor, "document.sign", "document", document.public_id,
               details={"sha256": document.signed_sha256, "via": via, "certificate": certificate.serial})
    return records
