"""Signing PDFs for a subscriber (F6): who may sign, the passphrase lock, stamps, storage and the record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext, ngettext
from pyhanko.pdf_utils.reader import PdfFileReader

from ...extensions import db
from ...lifecycle import AccountStatus, CertificateStatus
from ...models import Account, Certificate, SignedDocument
from ...models.signing import public_id
from ...models.types import utcnow
from ...platform.audit import Actor, record
from ...urls import public_url
from .. import keys
from ..errors import Conflict
from ..key_errors import (
    DocumentPasswordWrong,
    DocumentUnusable,
    EncryptedDocument,
    KeyServiceUnavailable,
    NotAPdfDocument,
    PassphraseDoesNotOpen,
    StampUnusable,
)

Box = tuple[float, float, float, float]


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


class DocumentRefused(SigningRefused):
    """A file cannot be signed (not a PDF, damaged, encrypted, empty, too large)."""

    status = 422

    def __init__(self, message: str, filename: str, reason: str = "damaged"):
        super().__init__(message)
        self.filename = filename
        self.reason = reason
        """``empty``, ``too_large``, ``not_pdf``, ``encrypted`` or ``damaged``."""


@dataclass(frozen=True)
class Placement:
    """Where the signature goes: invisible (``box`` None), a box on a page, or an existing empty field."""

    page: int = 0
    box: Box | None = None
    field: str | None = None


@dataclass(frozen=True)
class Details:
    """What the signature says: reason, location, contact, an optional acting position ("Plh."/"Plt.") and stamp image."""

    reason: str = ""
    location: str = ""
    acting_as: str = ""
    contact_info: str = ""
    image: bytes | None = None


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
        raise SigningLocked(gettext("Penandatanganan dikunci karena passphrase salah %(n)d kali berturut-turut. Lakukan reset passphrase.", n=max_wrong()))
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


def check_document(upload: Upload, password: str | None = None) -> PdfFileReader:
    """Refuse an empty, oversized, damaged, encrypted (unless ``password`` opens it) or non-PDF file, naming it.

    Return the parsed document, for a caller that reads it next (validation), so the file is parsed once.
    """
    limit = int(current_app.config.get("MAX_PDF_BYTES", 20 * 1024 * 1024))
    if not upload.data:
        raise DocumentRefused(gettext("Berkas %(name)s kosong (0 byte).", name=upload.filename), upload.filename, "empty")
    if len(upload.data) > limit:
        raise DocumentRefused(
            gettext("Berkas %(name)s terlalu besar (maksimal %(mb)d MB).", name=upload.filename, mb=limit // (1024 * 1024)),
            upload.filename,
            "too_large",
        )
    try:
        return keys.read_pdf(upload.data, password=password)
    except DocumentUnusable as exc:
        raise _refused(upload.filename, exc) from exc


def _refused(filename: str, exc: DocumentUnusable) -> DocumentRefused:
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
    folder = Path(current_app.instance_path) / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def count_wrong_passphrase(account: Account, actor: Actor) -> PassphraseWrong:
    """Count a wrong passphrase given outside signing (a passphrase change) toward the same lock; return the error."""
    return _wrong_passphrase(account, actor)


def _wrong_passphrase(account: Account, actor: Actor) -> PassphraseWrong:
    account.wrong_passphrases += 1
    remaining = max(0, max_wrong() - account.wrong_passphrases)
    record(actor, "signing.wrong_passphrase", "account", account.id, details={"remaining": remaining})
    if remaining == 0:
        account.signing_locked_at = utcnow()
        record(actor, "signing.locked", "account", account.id)
        return SigningLocked(gettext("Passphrase salah %(n)d kali berturut-turut; penandatanganan dikunci. Lakukan reset passphrase.", n=max_wrong()))
    return PassphraseWrong(
        ngettext("Passphrase salah. Sisa %(num)d percobaan sebelum penandatanganan dikunci.",
                 "Passphrase salah. Sisa %(num)d percobaan sebelum penandatanganan dikunci.", remaining),
        remaining,
    )


def check_passphrase(account: Account, certificate: Certificate, passphrase: str, actor: Actor) -> None:
    """Check that the passphrase opens the key, counting a wrong one toward the lock (the caller commits either way).

    :raises PassphraseWrong: wrong, with tries left.
    :raises SigningLocked: wrong, and that was the last try.
    """
    try:
        keys.check_passphrase(certificate, passphrase)
    except PassphraseDoesNotOpen:
        raise _wrong_passphrase(account, actor) from None
    account.wrong_passphrases = 0


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
        with keys.unlocked(certificate, passphrase) as sign:
            for upload in uploads:
                where, info = upload.placement or placement, upload.details or details
                record_id = public_id()
                stamp = keys.Stamp(name=display_name(account), position=info.acting_as or position,
                              qr_url=public_url("verify.record", public_id=record_id), image=info.image)
                options = {"level": level, "reason": info.reason or None, "location": info.location or None,
                           "contact_info": info.contact_info or None}
                if where.field:
                    options.update(field=where.field, stamp=stamp)
                elif where.box:
                    options.update(page=where.page, box=where.box, stamp=stamp)
                try:
                    signed = sign(upload.data, **options)
                except DocumentUnusable as exc:
                    raise _refused(upload.filename, exc) from exc
                results.append((upload, where, info, record_id, signed))
    except PassphraseDoesNotOpen:
        raise _wrong_passphrase(account, actor) from None
    except (KeyServiceUnavailable, StampUnusable) as exc:  # an unusable document was refused per file above
        raise SigningRefused(gettext("Penandatanganan gagal di server. Coba lagi; bila berulang, hubungi admin.")) from exc
    account.wrong_passphrases = 0
    records = []
    for upload, where, info, record_id, signed in results:
        (documents_folder() / f"{record_id}.pdf").write_bytes(signed)
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
