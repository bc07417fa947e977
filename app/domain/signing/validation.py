"""Checking signed PDFs for anyone (F8): every signature against Paraf's root and current CRLs, and Paraf's records."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509
from flask_babel import gettext
from sqlalchemy import select

from ...extensions import db
from ...lifecycle import CertificateStatus
from ...models import Certificate, SealedDocument, SignedDocument, Workflow, WorkflowSigner
from ...models.types import utcnow
from .. import keys
from ..key_errors import DamagedSignatures, DocumentUnusable
from ..keys import SignatureReport
from .signatures import DocumentRefused, Upload, check_size, refused

_EOF = re.compile(rb"%%EOF(\r\n|\r|\n)?")


@dataclass(frozen=True)
class CertificateState:
    """A Paraf certificate's status as of now (``ISSUE``, ``REVOKE`` or ``EXPIRED``)."""

    serial: str
    status: str
    revoked_at: datetime | None
    revocation_reason: str | None
    not_after: datetime | None


def certificate_state(certificate: Certificate) -> CertificateState:
    """Return a certificate's status now: an ``ISSUE`` certificate past its end counts as ``EXPIRED``."""
    status = certificate.status
    if status == CertificateStatus.ISSUE and certificate.not_after is not None and certificate.not_after <= utcnow():
        status = CertificateStatus.EXPIRED
    return CertificateState(certificate.serial or "", str(status), certificate.revoked_at, certificate.revocation_reason,
                            certificate.not_after)


def is_seal(report: SignatureReport) -> bool:
    """Return whether a signature was made with an agency's electronic seal: its certificate has the seal policy."""
    return keys.seal_policy_oid() in report.signer_policies


@dataclass(frozen=True)
class CheckedSignature:
    """One signature's report, with Paraf's record of it and its certificate's status now, when Paraf issued it."""

    report: SignatureReport
    record: SignedDocument | SealedDocument | None = None
    certificate: CertificateState | None = None

    @property
    def seal(self) -> bool:
        """Return whether this signature is an agency's electronic seal rather than a person's."""
        return is_seal(self.report)

    @property
    def revoked_after_signing(self) -> bool:
        """Return whether the certificate is revoked now but was not when this signature was made and time-stamped."""
        state, report = self.certificate, self.report
        return bool(state and state.status == CertificateStatus.REVOKE and report.revocation == "good" and report.timestamp_valid)


@dataclass(frozen=True)
class DocumentCheck:
    """The result of checking one uploaded PDF."""

    filename: str
    sha256: str
    signatures: list[CheckedSignature] = field(default_factory=list)


def current_crls() -> list[bytes]:
    """Return the current CRLs of both CAs, re-signing one that is past half its validity (the caller commits)."""
    crls = []
    for issuer in keys.CRL_ISSUERS:
        row = keys.latest_crl(issuer)
        crls.append((keys.publish_crl(issuer) if keys.crl_is_stale(row) else row).der)
    return crls


def revision_hashes(data: bytes) -> set[str]:
    """Return the SHA-256 of the whole file and of each earlier revision (every prefix ending at ``%%EOF``).

    One running hash over the file, copied at each cut, so the file is hashed once rather than once per prefix.
    """
    cuts = set()
    for match in _EOF.finditer(data):
        cuts.add(match.start() + 5)
        cuts.add(match.end())
    hashes = set()
    running, done = hashlib.sha256(), 0
    view = memoryview(data)
    for cut in sorted(cuts):
        running.update(view[done:cut])
        done = cut
        hashes.add(running.hexdigest())
    running.update(view[done:])
    hashes.add(running.hexdigest())
    return hashes


def check_pdf(filename: str, data: bytes, password: str | None = None) -> DocumentCheck:
    """Validate every signature of an uploaded PDF offline, in a sandbox (``password`` opens an encrypted one).

    :raises DocumentRefused: the file is empty, too large, not a PDF, encrypted, damaged or over a bound (the
        message names it).
    """
    check_size(Upload(filename, data))
    try:
        reports = keys.validate(data, current_crls(), password=password)
    except DamagedSignatures as exc:
        raise DocumentRefused(
            gettext("Berkas %(name)s rusak atau tanda tangan di dalamnya tidak dapat dibaca.", name=filename), filename
        ) from exc
    except DocumentUnusable as exc:
        raise refused(filename, exc) from exc
    hashes = revision_hashes(data)
    by_serial = {
        serial: document
        for model in (SignedDocument, SealedDocument)
        for document, serial in db.session.execute(
            select(model, Certificate.serial)
            .join(Certificate, Certificate.id == model.certificate_id)
            .where(model.signed_sha256.in_(hashes))
        ).all()
    }
    serials = {keys.serial_hex(report.signer_serial) for report in reports if report.signer_serial is not None}
    certificates = {
        row.serial: certificate_state(row)
        for row in db.session.execute(select(Certificate).where(Certificate.serial.in_(serials))).scalars()
    } if serials else {}
    signatures = []
    for report in reports:
        serial = keys.serial_hex(report.signer_serial) if report.signer_serial is not None else None
        signatures.append(CheckedSignature(report, by_serial.get(serial), certificates.get(serial)))
    return DocumentCheck(filename=filename, sha256=hashlib.sha256(data).hexdigest(), signatures=signatures)


@dataclass(frozen=True)
class RecordView:
    """What the public record of a signature shows."""

    document: SignedDocument | SealedDocument
    seal: bool
    """The record is of a document sealed with an agency's electronic seal: the signer is the agency."""
    signer_name: str
    position: str
    organization: str
    certificate_serial: str
    certificate_status: str
    """``ISSUE``, ``REVOKE`` or ``EXPIRED`` as of now."""
    revoked_at: datetime | None
    revocation_reason: str | None
    not_after: datetime | None


def record_view(public_id: str) -> RecordView | None:
    """Return the record behind a stamp's QR code (a signature or a seal), with the certificate's current status, or None."""
    document = db.session.execute(select(SignedDocument).where(SignedDocument.public_id == public_id)).scalar_one_or_none()
    if document is None:
        document = db.session.execute(
            select(SealedDocument).where(SealedDocument.public_id == public_id)).scalar_one_or_none()
    if document is None:
        return None
    seal = isinstance(document, SealedDocument)
    certificate = db.session.get(Certificate, document.certificate_id)
    subject = x509.Certificate.load(certificate.der).subject.native if certificate.der else {}
    state = certificate_state(certificate)
    return RecordView(
        document=document,
        seal=seal,
        signer_name=subject.get("common_name") or certificate.subject,
        position="" if seal else document.acting_as or subject.get("title") or "",
        organization=subject.get("organization_name") or "",
        certificate_serial=state.serial,
        certificate_status=state.status,
        revoked_at=state.revoked_at,
        revocation_reason=state.revocation_reason,
        not_after=state.not_after,
    )


def is_party(document: SignedDocument | SealedDocument, account_id: int | None) -> bool:
    """Return whether an account may see the document: its signer, its workflow's owner or signers, a seal's custodians."""
    if account_id is None:
        return False
    if isinstance(document, SealedDocument):
        return any(custodian.id == account_id for custodian in document.seal.custodians)
    if document.account_id == account_id:
        return True
    if document.workflow_id is None:
        return False
    workflow = db.session.get(Workflow, document.workflow_id)
    if workflow is not None and workflow.owner_id == account_id:
        return True
    return db.session.execute(
        select(WorkflowSigner.id).where(WorkflowSigner.workflow_id == document.workflow_id, WorkflowSigner.account_id == account_id)
    ).first() is not None
