"""Validate the signatures of a PDF offline: integrity, trust, revocation, later changes, time stamps, PAdES level.

Trust is anchored in the given root only. Revocation data is what the caller
passes plus what the document's DSS holds; nothing is fetched. Each call
parses its own certificates, CRLs and OCSP responses once and shares them between the validation contexts of its
signatures (asn1crypto objects are not thread-safe, but one call runs in one thread); every signature still gets
fresh contexts, so no path or revocation result of one signature leaks into another. The difference analysis
of the revisions after each signature shares, across the signatures of one document, what depends on one revision
alone (its orphaned objects, where each object was introduced), so only the per-pair comparisons repeat.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import crl, ocsp, x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    StandardDiffPolicy,
)
from pyhanko.sign.diff_analysis.policies import _find_orphans
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError, ValidationError

from .errors import PdfLimitExceeded, PdfSignatureDamaged
from .pdf import Limits, open_reader, run_sync
from .signature_info import SignatureInfo, describe

PADES_SUBFILTER = "/ETSI.CAdES.detached"
MODIFICATION_NAMES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "lta_updates",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}


@dataclass(frozen=True)
class SignatureReport:
    """The validation result of one signature of a PDF."""

    field_name: str
    signer_name: str | None
    signer_serial: int | None
    signing_time: datetime | None
    """The time-stamp time if a valid time stamp is present, else the time the signer claims."""
    intact: bool
    """The signed bytes are unchanged."""
    valid: bool
    """The cryptographic signature verifies with the signer's certificate."""
    trusted: bool
    """The certificate chains to the trusted root, is within validity and is not known to be revoked."""
    problem: str | None
    """Why the certificate is not trusted, as an ETSI EN 319 102-1 sub-indication name (``TRY_LATER`` means
    the revocation data is out of date, ``REVOKED_NO_POE`` revoked, ``OUT_OF_BOUNDS_NO_POE`` expired...)."""
    revocation: str
    """``good``, ``revoked`` or ``unknown`` (no usable CRL/OCSP data)."""
    revocation_checked: bool
    revoked_at: datetime | None
    covers_whole_file: bool
    modification_level: str | None
    """``none``, ``lta_updates``, ``form_filling``, ``annotations`` or ``other``; None if it could not be analysed."""
    modified: bool
    """The document changed after this signature in a way the signature does not allow."""
    timestamp_present: bool
    timestamp_valid: bool
    timestamp_time: datetime | None
    pades_level: str | None
    """``B-B``, ``B-T``, ``B-LT`` or ``B-LTA``; None for non-PAdES signatures."""
    ok: bool
    signer_title: str | None = None
    """The signer certificate's title attribute (the position), if it has one."""
    signer_organization: str | None = None
    """The signer certificate's organisation attribute (the agency), if it has one."""
    signer_policies: tuple[str, ...] = ()
    """The certificate policy OIDs of the signer's certificate (an agency seal has its own)."""
    declared: SignatureInfo | None = None
    """What the signature declares: reason, location, algorithms, DocMDP level, the embedded chain."""

    @property
    def findings(self) -> tuple[str, ...]:
        """Return the verdict as codes, for the caller to put into words (with :attr:`pades_level` last).

        The first code is the verdict: ``broken`` (the signed bytes or the signature changed; no other code
        follows), ``trusted``, ``revoked``, ``revocation_outdated`` (``TRY_LATER``) or ``untrusted``. Then, in
        this order and only when they hold: ``revocation_unchecked`` (trusted, but no usable revocation data),
        ``modified`` (changed after signing in a way the signature does not allow) or ``changes_allowed``
        (form filling or annotations), and ``timestamp_invalid``.
        """
        if not (self.intact and self.valid):
            return ("broken",)
        if self.trusted:
            codes = ["trusted"]
        elif self.revocation == "revoked":
            codes = ["revoked"]
        elif self.problem == "TRY_LATER":
            codes = ["revocation_outdated"]
        else:
            codes = ["untrusted"]
        if self.revocation == "unknown" and self.trusted:
            codes.append("revocation_unchecked")
        if self.modified:
            codes.append("modified")
        elif self.modification_level in ("form_filling", "annotations"):
            codes.append("changes_allowed")
        if self.timestamp_present and not self.timestamp_valid:
            codes.append("timestamp_invalid")
        return tuple(codes)


def _load_certs(ders: Iterable[bytes]) -> list[x509.Certificate]:
    return [x509.Certificate.load(der) for der in ders]


@dataclass(frozen=True)
class _Dss:
    """The document security store: its certificates and revocation data, and the revision that last changed it."""

    certs: list[x509.Certificate]
    crls: list
    ocsps: list
    revision: int = -1

    def covers(self, signed_revision: int) -> bool:
        """Return whether revocation data was stored in or after ``signed_revision``."""
        return bool(self.crls or self.ocsps) and self.revision >= signed_revision


def _read_dss(reader: PdfFileReader) -> _Dss:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return _Dss([], [], [])
    context = dss.as_validation_context({"trust_roots": [], "allow_fetching": False})
    holder = reader.root.raw_get("/DSS")
    if not isinstance(holder, generic.IndirectObject):
        holder = reader.trailer.raw_get("/Root")
    revision = reader.xrefs.get_last_change(holder.reference)
    return _Dss(list(dss.load_certs()), list(context.crls), list(context.ocsps), revision)


class _OrphansOnce(QualifiedWhitelistRule):
    """Clear a revision's orphaned objects at LTA-update level, as the standard policy does, finding them once per revision.

    The orphans of a revision depend on that revision alone, yet the standard policy looks for them again for every
    earlier signature. They are objects the previous revision could not reach, so no older base revision uses them
    and clearing them through a rule has the same effect as the standard policy's direct clearing.
    """

    def __init__(self):
        self._orphans: dict[int, set[generic.Reference]] = {}

    def apply_qualified(self, old: HistoricalResolver, new: HistoricalResolver):
        """Yield the orphans of ``new`` (whatever ``old`` is)."""
        if new.revision not in self._orphans:
            self._orphans[new.revision] = _find_orphans(new)
        for ref in self._orphans[new.revision]:
            yield ModificationLevel.LTA_UPDATES, ReferenceUpdate(ref)


def _shared_diff_policy(reader: PdfFileReader) -> StandardDiffPolicy:
    """Return pyHanko's default difference policy with the per-revision work shared by the signatures of ``reader``.

    Also remembers, for this reader only, in which revision each object first appeared and last changed (the
    xref sections never change once read; pyHanko scans them all on every lookup).
    """
    xrefs = reader.xrefs
    xrefs.get_introducing_revision = functools.cache(xrefs.get_introducing_revision)
    xrefs.get_last_change = functools.cache(xrefs.get_last_change)
    return StandardDiffPolicy(
        global_rules=[_OrphansOnce(), *DEFAULT_DIFF_POLICY.global_rules],
        form_rule=DEFAULT_DIFF_POLICY.form_rule,
        reject_object_freeing=DEFAULT_DIFF_POLICY.reject_object_freeing,
        ignore_orphaned_objects=False,
        ignore_identical_objects=DEFAULT_DIFF_POLICY.ignore_identical_objects,
    )


class _Contexts:
    """Fresh validation contexts over the same trust anchor and revocation data, parsed once per call.

    asn1crypto objects cache what they compute (hashes, key identifiers, parsed fields), so handing the same parsed
    objects to every context makes building one cheap; each context still has its own registry and caches.
    """

    def __init__(
        self, root: bytes, other_certs: Sequence[bytes], crls: Sequence[bytes], ocsps: Sequence[bytes], dss: _Dss,
        diff_policy: StandardDiffPolicy,
    ):
        self.diff_policy = diff_policy
        self.root = x509.Certificate.load(root)
        self.other_certs = [*_load_certs(other_certs), *dss.certs]
        self.crls = [*(crl.CertificateList.load(der) for der in crls), *dss.crls]
        self.ocsps = [*(ocsp.OCSPResponse.load(der) for der in ocsps), *dss.ocsps]
        self._revocation_known: dict[tuple[bytes, ...], bool] = {}

    def make(self, mode: str) -> ValidationContext:
        """Return a context with revocation mode ``soft-fail`` or ``hard-fail``."""
        return ValidationContext(
            trust_roots=[self.root],
            other_certs=list(self.other_certs),
            crls=list(self.crls),
            ocsps=list(self.ocsps),
            allow_fetching=False,
            revocation_mode=mode,
        )

    async def revocation_known(self, status: PdfSignatureStatus, embedded: list[x509.Certificate]) -> bool:
        """Return :func:`_revocation_known` for the signer's certificate and the certificates the signature embeds.

        The answer depends only on those certificates and this call's trust anchor and revocation data, so
        signatures by the same certificate with the same embedded certificates share one hard-fail check.
        """
        key = (status.signing_cert.dump(), *(cert.dump() for cert in embedded))
        if key not in self._revocation_known:
            self._revocation_known[key] = await _revocation_known(self, status, embedded)
        return self._revocation_known[key]


async def _revocation_known(contexts: _Contexts, status: PdfSignatureStatus, embedded: list[x509.Certificate]) -> bool:
    """Return whether usable revocation data covers every certificate of the signer's path."""
    context = contexts.make("hard-fail")
    try:
        validator = CertificateValidator(
            status.signing_cert,
            intermediate_certs=embedded,
            validation_context=context,
        )
        await validator.async_validate_usage(set())
        return True
    except RevokedError:
        return True
    except ValidationError:
        return False
    finally:
        await context.aclose()


def _modification(status: PdfSignatureStatus | DocumentTimestampStatus) -> tuple[bool, str | None, bool]:
    """Return (covers whole file, modification level name, disallowed changes)."""
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    level = status.modification_level
    name = MODIFICATION_NAMES.get(level) if level is not None else None
    modified = not whole and not status.docmdp_ok
    return whole, name, modified


def _pades_level(
    sig: EmbeddedPdfSignature, timestamp_present: bool, dss: _Dss, doc_timestamps: list[tuple[int, bool]]
) -> str | None:
    if sig.sig_object.get("/SubFilter") != PADES_SUBFILTER:
        return None
    if not timestamp_present:
        return "B-B"
    if not dss.covers(sig.signed_revision):
        return "B-T"
    later = [ok for revision, ok in doc_timestamps if revision > sig.signed_revision]
    return "B-LTA" if any(later) else "B-LT"


def _policies(cert: x509.Certificate) -> tuple[str, ...]:
    """Return the certificate policy OIDs a certificate names (none when it has no policies extension)."""
    return tuple(policy["policy_identifier"].dotted for policy in cert.certificate_policies_value or ())


async def _validate_signature(
    sig: EmbeddedPdfSignature, contexts: _Contexts, dss: _Dss, doc_timestamps: list[tuple[int, bool]]
) -> SignatureReport:
    context = contexts.make("soft-fail")
    try:
        status: PdfSignatureStatus = await async_validate_pdf_signature(
            sig, signer_validation_context=context, diff_policy=contexts.diff_policy
        )
    finally:
        await context.aclose()
    embedded = sig.other_embedded_certs
    if status.revocation_details is not None:
        revocation, checked = "revoked", True
    elif status.trusted and await contexts.revocation_known(status, embedded):
        revocation, checked = "good", True
    else:
        revocation, checked = "unknown", False
    ts = status.timestamp_validity
    timestamp_valid = bool(ts and ts.intact and ts.valid and ts.trusted)
    whole, level_name, modified = _modification(status)
    subject = status.signing_cert.subject.native
    report = dict(
        field_name=str(sig.field_name),  # a plain str: pyHanko's string objects point back at their reader
        signer_name=subject.get("common_name") or subject.get("organization_name"),
        signer_title=subject.get("title"),
        signer_organization=subject.get("organization_name"),
        signer_policies=_policies(status.signing_cert),
        signer_serial=status.signing_cert.serial_number,
        signing_time=ts.timestamp if timestamp_valid else status.signer_reported_dt,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        problem=status.trust_problem_indic.name if status.trust_problem_indic is not None else None,
        revocation=revocation,
        revocation_checked=checked,
        revoked_at=status.revocation_details.revocation_date if status.revocation_details else None,
        covers_whole_file=whole,
        modification_level=level_name,
        modified=modified,
        timestamp_present=ts is not None,
        timestamp_valid=timestamp_valid,
        timestamp_time=ts.timestamp if ts is not None else None,
        pades_level=_pades_level(sig, ts is not None, dss, doc_timestamps),
        declared=describe(sig),
    )
    report["ok"] = bool(
        status.intact and status.valid and status.trusted and not modified and (ts is None or timestamp_valid)
    )
    return SignatureReport(**report)


async def _doc_timestamp_ok(sig: EmbeddedPdfSignature, contexts: _Contexts) -> bool:
    context = contexts.make("soft-fail")
    try:
        status = await async_validate_pdf_timestamp(sig, validation_context=context, diff_policy=contexts.diff_policy)
    finally:
        await context.aclose()
    return bool(status.intact and status.valid and status.trusted)


async def async_validate_pdf(
    pdf_bytes: bytes,
    root_der: bytes,
    other_certs: Sequence[bytes] = (),
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
    password: str | None = None,
    reader: PdfFileReader | None = None,
    limits: Limits | None = None,
) -> list[SignatureReport]:
    """Validate every signature of a PDF; see :func:`validate_pdf`."""
    if reader is None:
        reader = open_reader(pdf_bytes, password=password, limits=limits)
    try:
        if limits and len(reader.embedded_signatures) > limits.signatures:
            raise PdfLimitExceeded("signatures", limits.signatures)
        dss = _read_dss(reader)
        contexts = _Contexts(root_der, other_certs, crls, ocsps, dss, _shared_diff_policy(reader))
        doc_timestamps = [
            (ts.signed_revision, await _doc_timestamp_ok(ts, contexts)) for ts in reader.embedded_timestamp_signatures
        ]
        return [await _validate_signature(sig, contexts, dss, doc_timestamps) for sig in reader.embedded_regular_signatures]
    except misc.PdfDecodeLimitError as exc:
        raise PdfLimitExceeded("decoded_bytes", (limits or Limits()).decoded_bytes) from exc
    except misc.PdfError as exc:
        raise PdfSignatureDamaged(f"the PDF signatures cannot be read: {exc.msg}") from exc
    except SignatureValidationError as exc:
        raise PdfSignatureDamaged(f"a PDF signature is malformed: {exc.failure_message}") from exc
    except (zlib.error, ValueError, KeyError, IndexError, RecursionError) as exc:  # damaged objects; asn1crypto's
        raise PdfSignatureDamaged("the PDF is damaged or a signature in it cannot be decoded") from exc


def validate_pdf(pdf_bytes: bytes, root_der: bytes, *args, **kwargs) -> list[SignatureReport]:
    """Validate every signature of a PDF against ``root_der``, offline; return one report per signature.

    ``other_certs`` are intermediate certificates (DER); ``crls`` and
    ``ocsps`` are current revocation data (DER), used together with what the
    document's DSS holds; ``password`` opens an encrypted PDF; ``reader`` is the same bytes already opened
    with :func:`signer.pdf.open_reader` (and ``password``), to spare a second parse; ``limits`` bound an untrusted
    file (:class:`signer.pdf.Limits`: more signatures than ``limits.signatures`` raise
    :class:`~signer.errors.PdfLimitExceeded` before any is validated). Document time stamps (B-LTA)
    are not reported on their own; they raise the level of the signatures they follow.

    :raises PdfError: as :func:`signer.pdf.open_reader`; :class:`~signer.errors.PdfSignatureDamaged` when the
        file opens but a signature in it cannot be read.
    """
    return run_sync(lambda: async_validate_pdf(pdf_bytes, root_der, *args, **kwargs))
