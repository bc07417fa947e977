"""The app's one adapter to ``signer/``: the HSM, the CA hierarchy, certificates, CRLs, OCSP, TSA and PDFs.

No other module of the app imports ``signer``. This one gives it Paraf's names and wording (the CA names,
the stamp's statement), sets the process up for it once (:func:`init_app`), and turns every
``signer.SignerError`` into a refusal from :mod:`app.domain.key_errors`, raised ``from`` the original.
The plain values the library hands back (:class:`Stamp`, :class:`SignatureReport`, ...) are re-exported.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import x509
from flask import Flask, current_app
from sqlalchemy import Engine, bindparam, func, select, update

from signer import (
    DEFAULT_POLICY_OID,
    AlreadyInitialised,
    AppearanceError,
    Hsm,
    HsmConfig,
    InProcessTimeStamper,
    KdfParams,
    NotAPdf,
    PdfDamaged,
    PdfEncrypted,
    PdfError,
    PdfWrongPassword,
    PkiConfig,
    SignatureInfo,  # noqa: F401  (re-exported: the app reads it as it is)
    SignatureReport,
    SignerError,
    Stamp,
    StampStyle,
    TimeStampAuthority,
    WrongPassphrase,
    ca,
    doctor,
    keys,
    load_image,
    mac,
    pdf,
    revocation,
    sandbox,
    shared,
    speedups,
    validate_pdf,
)
from signer import pages as pdf_pages
from signer import seals as seal_keys
from signer.errors import PdfLimitExceeded, PdfSignatureDamaged
from signer.responder import Responder

from .. import lifecycle
from ..extensions import db
from ..lifecycle import CertificateStatus
from ..models import Certificate, CertificateKind, Crl
from ..models.types import utcnow
from ..platform.audit import SYSTEM, Actor, record, seal_plain_events
from .errors import DomainError
from .key_errors import (
    DamagedDocument,
    DamagedSignatures,
    DocumentOverLimit,
    DocumentPasswordWrong,
    DocumentUnusable,
    EncryptedDocument,
    KeyServiceUnavailable,
    NotAPdfDocument,
    PassphraseDoesNotOpen,
    StampUnusable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_FRESH = 4096
"""How many certificates' revocation data a process keeps (least recently used dropped first)."""
MAX_PREPARED = 64
"""How many certificates' signing set-ups a thread keeps before it starts again."""

SignatureField = pdf.SignatureField
CRL_ISSUERS = {"root": ca.ROOT, "issuing": ca.ISSUING}
PUBLISHED_CERTIFICATES = {"root": ca.ROOT, "issuing": ca.ISSUING, "ocsp": ca.OCSP, "tsa": ca.TSA}
"""The CA and service certificates served under ``/pki/<name>.crt``."""
AUDIT_MAC_KEY = "paraf-audit-mac"
"""The token's HMAC key that keys the audit chain."""
PRODUCT = "Paraf"
STAMP_STYLE = StampStyle(
    statement=f"Ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh {PRODUCT} CA",
    date_label="Tanggal",
    utc_offset_minutes=7 * 60,
    zone_label="WIB",
)
"""How Paraf's visible signatures look; the wording stays Indonesian whatever the signer's page language."""
SEAL_STAMP_STYLE = StampStyle(
    statement="Dokumen ini telah disegel secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh "
    f"{PRODUCT} CA",
    date_label=STAMP_STYLE.date_label,
    utc_offset_minutes=STAMP_STYLE.utc_offset_minutes,
    zone_label=STAMP_STYLE.zone_label,
)
"""How an agency's electronic seal looks: the subscriber stamp's date line, the seal's own statement."""

# The domain's refusal for each signing-core error; the most specific class of the error wins.
DOMAIN_ERRORS: dict[type[SignerError], type[DomainError]] = {
    WrongPassphrase: PassphraseDoesNotOpen,
    AppearanceError: StampUnusable,
    NotAPdf: NotAPdfDocument,
    PdfEncrypted: EncryptedDocument,
    PdfWrongPassword: DocumentPasswordWrong,
    PdfSignatureDamaged: DamagedSignatures,
    PdfDamaged: DamagedDocument,
    PdfError: DocumentUnusable,
    SignerError: KeyServiceUnavailable,
}


@contextmanager
def _translated() -> Iterator[None]:
    """Re-raise a signing-core error as the domain's refusal, ``from`` the original."""
    try:
        yield
    except PdfLimitExceeded as exc:
        if exc.limit == "decoded_bytes":
            raise DocumentOverLimit("decoded_mb", exc.value // (1024 * 1024)) from exc
        raise DocumentOverLimit(exc.limit, exc.value) from exc
    except sandbox.SandboxExceeded as exc:
        config = current_app.config
        raise DocumentOverLimit("check", int(config["PDF_CHECK_SECONDS"]), int(config["PDF_CHECK_MEMORY_MB"])) from exc
    except SignerError as exc:
        domain_error = next(DOMAIN_ERRORS[cls] for cls in type(exc).__mro__ if cls in DOMAIN_ERRORS)
        raise domain_error() from exc


@dataclass
class PkiContext:
    """Per-app signing resources: the HSM handle, configuration and the cached hierarchy."""

    hsm: Hsm
    pki: PkiConfig
    kdf: KdfParams
    _hierarchy: ca.Hierarchy | None = None
    _responder: Responder | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tsa: TimeStampAuthority | None = None
    _fresh: OrderedDict[Hashable, tuple[Any, datetime, datetime]] = field(default_factory=OrderedDict)
    _fresh_lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def hierarchy(self) -> ca.Hierarchy:
        """Return the CA certificates, read from the token once."""
        if self._hierarchy is None:
            with self._lock, _translated():
                if self._hierarchy is None:
                    self._hierarchy = ca.load_hierarchy(self.hsm)
        return self._hierarchy

    def responder(self) -> Responder:
        """Return the OCSP responder, made once; its pre-signed answers are shared by the process's threads."""
        if self._responder is None:
            hierarchy = self.hierarchy()
            with self._lock:
                if self._responder is None:
                    self._responder = Responder(self.hsm, hierarchy, timedelta(minutes=self.pki.ocsp_validity_minutes))
        return self._responder

    def tsa(self) -> TimeStampAuthority:
        """Return the in-process time-stamp authority, made once (it keeps only bytes, so threads share it)."""
        if self._tsa is None:
            self._tsa = TimeStampAuthority(self.hsm, self.hierarchy(), self.pki)
        return self._tsa

    def timestamper(self) -> InProcessTimeStamper:
        """Return this thread's pyHanko time stamper asking the TSA in-process (made once, so no dummy token per call)."""
        stamper = getattr(self._local, "timestamper", None)
        if stamper is None:
            stamper = self._local.timestamper = InProcessTimeStamper(self.tsa())
        return stamper

    def prepared(self, key: Hashable, revocation: pdf.RevocationData) -> pdf.Prepared:
        """Return this thread's signing set-up for ``key`` (certificate and level), new when ``revocation`` changed."""
        cache: dict[Hashable, tuple[pdf.RevocationData, pdf.Prepared]] = getattr(self._local, "prepared", None)
        if cache is None or len(cache) >= MAX_PREPARED:
            cache = self._local.prepared = {}
        entry = cache.get(key)
        if entry is None or entry[0] is not revocation:
            entry = cache[key] = (revocation, pdf.Prepared())
        return entry[1]

    def fresh(self, key: Hashable, build: Callable[[], T], lifetime: timedelta) -> T:
        """Return the value kept under ``key`` while it is fresh, else ``build()`` it and keep it for ``lifetime``."""
        now = utcnow()
        with self._fresh_lock:
            entry = self._fresh.get(key)
            if entry is not None and entry[1] <= now < entry[2]:
                self._fresh.move_to_end(key)
                return entry[0]
        value = build()
        with self._fresh_lock:
            self._fresh[key] = (value, now, now + lifetime)
            self._fresh.move_to_end(key)
            while len(self._fresh) > MAX_FRESH:
                self._fresh.popitem(last=False)
        return value


def init_app(app: Flask) -> None:
    """Set the process up for the signing core and attach a lazily connecting :class:`PkiContext` (no HSM access).

    SoftHSM reads its configuration file from ``SOFTHSM2_CONF`` in the process environment, so that is set
    here, before the first HSM operation; the pyHanko speed-up is installed here too.
    """
    config = app.config
    if config.get("SOFTHSM2_CONF"):
        os.environ["SOFTHSM2_CONF"] = config["SOFTHSM2_CONF"]
    speedups.install()
    pdf.silence_no_fetch_warning()
    hsm = shared(
        HsmConfig(
            module=config["PKCS11_MODULE"],
            token_label=config["HSM_TOKEN_LABEL"],
            user_pin=config["HSM_USER_PIN"] or "",
        )
    )
    pki = PkiConfig(
        base_url=config["PUBLIC_BASE_URL"],
        organization=PRODUCT,
        country="ID",
        root_name=f"{PRODUCT} Root CA",
        issuing_name=f"{PRODUCT} Issuing CA",
        tsa_name=f"{PRODUCT} Time-Stamp Authority",
        policy_oid=config["CERTIFICATE_POLICY_OID"] or DEFAULT_POLICY_OID,
        subscriber_validity_days=config["SUBSCRIBER_VALIDITY_DAYS"],
        crl_validity_hours=config["CRL_VALIDITY_HOURS"],
        ocsp_validity_minutes=config["OCSP_VALIDITY_MINUTES"],
    )
    kdf = KdfParams(
        memory_kib=config["KDF_MEMORY_KIB"], time_cost=config["KDF_TIME_COST"], parallelism=config["KDF_PARALLELISM"]
    )
    app.extensions["paraf.pki"] = PkiContext(hsm=hsm, pki=pki, kdf=kdf)
    app.extensions["paraf.sandbox"] = sandbox.shared(sandbox.SandboxConfig(
        processes=int(config["PDF_CHECK_PROCESSES"]),
        memory_bytes=int(config["PDF_CHECK_MEMORY_MB"]) * 1024 * 1024,
        preload=("signer.pages", "signer.validate"),
        setup=(speedups.install, pdf.silence_no_fetch_warning),
    ))


def context() -> PkiContext:
    """Return the current app's :class:`PkiContext`."""
    return current_app.extensions["paraf.pki"]


@_translated()
def ping() -> None:
    """Check that the HSM token answers in a session and finds the issuing CA's key.

    :raises KeyServiceUnavailable: it does not.
    """
    context().hsm.ping(ca.ISSUING)


def published_certificate(name: str) -> bytes | None:
    """Return the DER of a certificate named in :data:`PUBLISHED_CERTIFICATES`, or None for another name."""
    label = PUBLISHED_CERTIFICATES.get(name)
    return context().hierarchy().cert(label).dump() if label else None


ocsp_error_response = revocation.error_response
is_ocsp_request = revocation.is_ocsp_request


def serial_hex(serial: int) -> str:
    """Return the stored spelling of a serial number."""
    return format(serial, "x")


def _record_certificate(
    cert: x509.Certificate, kind: CertificateKind, actor: Actor, key_blob: bytes | None = None, row: Certificate | None = None
) -> Certificate:
    row = row or Certificate(kind=kind)
    row.serial = serial_hex(cert.serial_number)
    row.subject = cert.subject.human_friendly
    row.not_before, row.not_after = cert.not_valid_before, cert.not_valid_after
    row.der, row.key_blob = cert.dump(), key_blob
    db.session.add(row)
    lifecycle.apply(row, "certificate", "issue", actor, details={"serial": row.serial, "kind": str(kind)})
    return row


@_translated()
def init_pki(actor: Actor = SYSTEM) -> bool:
    """Create the CA hierarchy and the audit key in the HSM, publish the first CRLs; False if the hierarchy existed.

    Safe to run again after a failure: what the HSM holds is kept and the
    database records that are missing are completed.
    """
    ctx = context()
    mac.ensure_mac_key(ctx.hsm, AUDIT_MAC_KEY)  # every event from here on is keyed, the seal first
    mac.ensure_mac_key(ctx.hsm, seal_keys.CODE_KEY)  # agency seals' codes
    seal_plain_events(actor)
    try:
        ca.init_hierarchy(ctx.hsm, ctx.pki)
        created = True
    except AlreadyInitialised:
        created = False
        mac.ensure_mac_key(ctx.hsm, ca.PEPPER)  # a token initialised before key blob version 2 lacks it
    hierarchy = ctx.hierarchy()
    if created:
        record(actor, "pki.init", "pki", None, details={"root": hierarchy.cert(ca.ROOT).subject.human_friendly})
    for label, kind in ((ca.OCSP, CertificateKind.OCSP), (ca.TSA, CertificateKind.TSA)):
        cert = hierarchy.cert(label)
        if db.session.execute(select(Certificate.id).where(Certificate.serial == serial_hex(cert.serial_number))).first() is None:
            _record_certificate(cert, kind, actor)
    for issuer in CRL_ISSUERS:
        if latest_crl(issuer) is None:
            publish_crl(issuer)
    return created


@_translated()
def key_protections() -> list[doctor.Check]:
    """Probe which key protections the configured token enforces (``flask pki doctor``)."""
    return doctor.checks(context().hsm)


@_translated()
def audit_mac(data: bytes) -> bytes:
    """Return HMAC-SHA256 of ``data`` under the HSM's audit key."""
    return mac.mac(context().hsm, AUDIT_MAC_KEY, data)


@_translated()
def issue_subscriber_certificate(
    subject: dict[str, str],
    passphrase: str,
    actor: Actor,
    email: str | None = None,
    request: Certificate | None = None,
) -> Certificate:
    """Make a key under the passphrase in the HSM and issue its certificate (filling ``request`` if given).

    The row is added, not committed.
    """
    ctx = context()
    wrapped = keys.generate(ctx.hsm, passphrase, ctx.kdf, ctx.pki.subscriber_key_bits)
    cert = ca.issue_subscriber(ctx.hsm, ctx.pki, ctx.hierarchy(), wrapped.public_key, subject, email=email)
    return _record_certificate(cert, CertificateKind.SUBSCRIBER, actor, key_blob=wrapped.blob, row=request)


def replace_certificate(old: Certificate, passphrase: str, actor: Actor) -> Certificate:
    """Issue a new key and certificate for the same subject and revoke the old one as superseded.

    This is what a passphrase reset does: the old key cannot be opened without its passphrase.
    """
    cert = x509.Certificate.load(old.der)
    email = next((name.native for name in (cert.subject_alt_name_value or []) if name.name == "rfc822_name"), None)
    subject = {key: value for key, value in cert.subject.native.items()}
    new = issue_subscriber_certificate(subject, passphrase, actor, email=email)
    new.account_id = old.account_id
    if old.status == CertificateStatus.ISSUE:
        revoke(old, "superseded", actor)
    return new


def change_passphrase(certificate: Certificate, old: str, new: str) -> None:
    """Re-seal the certificate's key under ``new`` (same key); ``old`` no longer opens it once this is committed.

    :raises PassphraseDoesNotOpen: ``old`` does not open the key.
    """
    ctx = context()
    with _translated():
        certificate.key_blob = keys.change_passphrase(ctx.hsm, certificate.key_blob, old, new, ctx.kdf)


def _upgrade(certificate: Certificate, passphrase: str) -> bool:
    """Re-seal an older-version key blob in the current version (unless it changed meanwhile); return whether it was old."""
    ctx = context()
    old = certificate.key_blob
    new = keys.upgrade(ctx.hsm, old, passphrase, ctx.kdf)
    if new is None:
        return False
    # Compared with what is stored, so a concurrent passphrase change is not undone.
    db.session.execute(
        update(Certificate).where(Certificate.id == certificate.id, Certificate.key_blob == old).values(key_blob=new)
    )
    return True


@_translated()
def check_passphrase(certificate: Certificate, passphrase: str) -> bytes:
    """Return the KEK-wrapped key the passphrase opens, not unwrapped (an older blob is upgraded first).

    The wrapped key is useless without the HSM's KEK: it may travel sealed (the CSC SAD) where the passphrase may not.

    :raises PassphraseDoesNotOpen: it does not.
    """
    _upgrade(certificate, passphrase)
    return keys.open_sealed(context().hsm, certificate.key_blob, passphrase)


def revoke(certificate: Certificate, reason: str, actor: Actor, at: datetime | None = None) -> None:
    """Revoke a certificate with an RFC 5280 reason (asn1crypto spelling) and re-sign the CRL."""
    if reason not in revocation.REASONS:
        raise ValueError(f"unknown revocation reason {reason!r}")
    lifecycle.apply(certificate, "certificate", "revoke", actor, reason=reason, details={"serial": certificate.serial})
    certificate.revoked_at = (at or utcnow()).replace(microsecond=0)
    certificate.revocation_reason = reason
    db.session.flush()
    publish_crl("issuing")
    with _translated():  # the answer other processes sign once they read the committed revocation
        context().responder().presign(certificate.serial_int, cert_state(certificate.serial_int))


_STATE = select(Certificate.status, Certificate.revoked_at, Certificate.revocation_reason).where(
    Certificate.serial == bindparam("serial")
)


def _state(serial: int, row: Sequence | None) -> revocation.CertState:
    if row is None:
        return "unknown"
    status, revoked_at, reason = row
    if status == CertificateStatus.REVOKE:
        return revocation.Revoked(serial, revoked_at, reason or "unspecified")
    return "good"


def cert_state(serial: int) -> revocation.CertState:
    """Return what OCSP says about a serial of the issuing CA, as this request's transaction sees it."""
    return _state(serial, db.session.execute(_STATE, {"serial": serial_hex(serial)}).first())


class _CommittedStates:
    """Read certificate states on a database connection per thread, kept open in autocommit (no pool, no ORM).

    Every read sees what has committed, so a revocation committed by any process is answered from then on.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        compiled = _STATE.compile(dialect=engine.dialect)
        self.sql, self.positional = compiled.string, compiled.positional
        dialect = engine.dialect
        self.processors = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                           for c in _STATE.selected_columns]
        self.local = threading.local()

    def _cursor(self):
        cursor = getattr(self.local, "cursor", None)
        if cursor is None:
            connection = self.engine.raw_connection()
            connection.detach()  # this thread's for as long as it lives: out of the pool the requests use
            weakref.finalize(threading.current_thread(), connection.close)
            self.engine.dialect.set_isolation_level(connection.dbapi_connection, "AUTOCOMMIT")
            self.local.connection, cursor = connection, connection.cursor()
            self.local.cursor = cursor
        return cursor

    def __call__(self, serial: int) -> revocation.CertState:
        """Return the committed state of a serial of the issuing CA."""
        value = serial_hex(serial)
        params = (value,) if self.positional else {"serial": value}
        try:
            row = self._read(params)
        except self.engine.dialect.loaded_dbapi.Error:  # the connection went away: once more on a new one
            self.local.connection.invalidate()
            self.local.cursor = None
            row = self._read(params)
        if row is None:
            return "unknown"
        return _state(serial, [p(v) if p else v for p, v in zip(self.processors, row)])

    def _read(self, params) -> tuple | None:
        cursor = self._cursor()
        cursor.execute(self.sql, params)
        return cursor.fetchone()


def ocsp_answerer(app: Flask) -> Callable[[bytes], bytes]:
    """Return a function answering OCSP requests (DER) for ``app`` without an app context: one indexed lookup each."""
    with app.app_context():
        lookup = _CommittedStates(db.engine)
    pki = app.extensions["paraf.pki"]

    @_translated()
    def answer(request_der: bytes) -> bytes:
        return pki.responder().respond(request_der, lookup)

    return answer


def _revoked_entries(issuer: str) -> list[revocation.Revoked]:
    if issuer != "issuing":
        return []
    rows = db.session.execute(
        select(Certificate).where(Certificate.status == CertificateStatus.REVOKE).order_by(Certificate.revoked_at)
    ).scalars()
    return [revocation.Revoked(row.serial_int, row.revoked_at, row.revocation_reason or "unspecified") for row in rows]


@_translated()
def publish_crl(issuer: str, now: datetime | None = None) -> Crl:
    """Sign and store a new full CRL of ``root`` or ``issuing``."""
    ctx = context()
    now = (now or utcnow()).replace(microsecond=0)
    number = (db.session.execute(select(func.max(Crl.number)).where(Crl.issuer == issuer)).scalar() or 0) + 1
    next_update = now + timedelta(hours=ctx.pki.crl_validity_hours)
    der = revocation.build_crl(
        ctx.hsm, ctx.hierarchy(), CRL_ISSUERS[issuer], _revoked_entries(issuer), number, now, next_update
    )
    row = Crl(issuer=issuer, number=number, this_update=now, next_update=next_update, der=der)
    db.session.add(row)
    db.session.flush()
    log.info("published %s CRL number %d", issuer, number)
    return row


def latest_crl(issuer: str) -> Crl | None:
    """Return the newest stored CRL of an issuer."""
    return db.session.execute(
        select(Crl).where(Crl.issuer == issuer).order_by(Crl.number.desc()).limit(1)
    ).scalar_one_or_none()


def crl_is_stale(row: Crl | None, now: datetime | None = None) -> bool:
    """Return whether a CRL is missing or past half of its validity (time to re-sign)."""
    if row is None:
        return True
    now = now or utcnow()
    return now >= row.this_update + (row.next_update - row.this_update) / 2


@_translated()
def timestamp_response(request_der: bytes) -> bytes:
    """Answer an RFC 3161 time-stamp request (DER)."""
    return context().tsa().respond_der(request_der)


@_translated()
def revocation_data(certificate: Certificate) -> pdf.RevocationData:
    """Return the CRLs and OCSP responses that make a signature by ``certificate`` long-term verifiable.

    The current CRLs of both CAs (re-signed when stale), and OCSP responses for the signer's and the TSA's
    certificates signed once per certificate and reused for half their validity (the same object while fresh,
    so the signing set-up that depends on it is reused too).
    """
    ctx = context()
    hierarchy = ctx.hierarchy()
    validity = timedelta(minutes=ctx.pki.ocsp_validity_minutes)
    crls = []
    for issuer in CRL_ISSUERS:
        row = latest_crl(issuer)
        crls.append(publish_crl(issuer) if crl_is_stale(row) else row)

    def build() -> pdf.RevocationData:
        ocsps = (
            revocation.ocsp_response_for(ctx.hsm, hierarchy, certificate.der, cert_state(certificate.serial_int), validity),
            revocation.ocsp_response_for(ctx.hsm, hierarchy, hierarchy.tsa, "good", validity),
        )
        return pdf.RevocationData(crls=tuple(row.der for row in crls), ocsps=ocsps)

    key = ("revocation", certificate.serial, str(certificate.status), *(row.number for row in crls))
    return ctx.fresh(key, build, validity / 2)


@contextmanager
def unlocked(certificate: Certificate, passphrase: str) -> Iterator[Callable[..., bytes]]:
    """Unlock the subscriber key once and yield ``sign(document, **options) -> bytes`` (PAdES B-LT by default).

    ``options`` are those of ``signer.pdf.sign_pdf``; a visible stamp looks as :data:`STAMP_STYLE` says.

    :raises PassphraseDoesNotOpen: the passphrase does not open the key.
    :raises KeyServiceUnavailable: the HSM failed.
    :raises DocumentUnusable: (from ``sign``) a document cannot be signed; a subclass says why when it can.
    :raises StampUnusable: (from ``sign``) the stamp cannot be drawn.
    """
    with _translated():
        _upgrade(certificate, passphrase)
    with _translated(), keys.unlock(context().hsm, certificate.key_blob, passphrase) as key:
        yield _signing(certificate, key)  # revocation data only once the passphrase opened the key


def _signing(certificate: Certificate, key: keys.UnlockedKey) -> Callable[..., bytes]:
    """Return ``sign(document, **options) -> bytes`` for an unlocked key, its revocation data fetched once."""
    ctx = context()
    hierarchy = ctx.hierarchy()
    chain = (hierarchy.issuing, hierarchy.root)
    data = revocation_data(certificate)

    def sign(document: bytes, **options) -> bytes:
        options.setdefault("revocation", data)
        options.setdefault("style", STAMP_STYLE)
        level = pdf.PadesLevel(options.get("level", pdf.PadesLevel.B_LT))
        options.setdefault("prepared", ctx.prepared((certificate.serial, level), options["revocation"]))
        with _translated():
            return pdf.sign_pdf(document, key, certificate.der, chain, timestamper=ctx.timestamper(), **options)

    return sign


@_translated()
def issue_seal_certificate(organization: str, name: str, actor: Actor) -> tuple[Certificate, bytes]:
    """Make a seal key in the HSM and issue its organisation certificate; return the row (added) and the blob's secret.

    The secret opens the key blob stored on the row; the caller keeps it only encrypted (:mod:`app.domain.seals`).
    """
    ctx = context()
    made = seal_keys.generate(ctx.hsm, ctx.pki.subscriber_key_bits)
    cert = ca.issue_seal(ctx.hsm, ctx.pki, ctx.hierarchy(), made.public_key, organization, name)
    return _record_certificate(cert, CertificateKind.SEAL, actor, key_blob=made.blob), made.secret


def seal_policy_oid() -> str:
    """Return the certificate policy OID that marks a certificate as an agency seal."""
    return ca.seal_policy_oid(context().pki)


@_translated()
def seal_code_key(seal_context: str, code: str) -> tuple[str, bytes]:
    """Return a seal code's lookup hash and the key its copy of the seal secret is encrypted under (HSM-keyed)."""
    return seal_keys.code_key(context().hsm, seal_context, code)


@_translated()
def seal_rest_key(seal_context: str) -> bytes:
    """Return the key the seal's resting copy of its secret is encrypted under (HSM-keyed)."""
    return seal_keys.rest_key(context().hsm, seal_context)


seal_encrypt = seal_keys.encrypt


@_translated()
def seal_decrypt(key: bytes, data: bytes, aad: bytes) -> bytes:
    """Return what :func:`seal_encrypt` encrypted under ``key``.

    :raises PassphraseDoesNotOpen: ``key`` does not open it.
    """
    return seal_keys.decrypt(key, data, aad)


@contextmanager
def seal_unlocked(certificate: Certificate, secret: bytes) -> Iterator[Callable[..., bytes]]:
    """Open a seal's key with its secret once and yield ``sign(document, **options) -> bytes`` as :func:`unlocked` does.

    :raises PassphraseDoesNotOpen: the secret does not open the key.
    :raises KeyServiceUnavailable: the HSM failed.
    """
    with _translated(), seal_keys.unlock(context().hsm, certificate.key_blob, secret) as key:
        yield _signing(certificate, key)


def seal_stamp(agency: str, seal_name: str, qr_url: str | None, image: bytes | None = None) -> dict[str, Any]:
    """Return the signing options drawing a seal's stamp: the agency in bold, the seal's name, date, QR and statement."""
    return {"stamp": Stamp(name=agency, position=seal_name, qr_url=qr_url, image=image), "style": SEAL_STAMP_STYLE}


def failure_reason(exc: BaseException) -> str:
    """Say why a signing failed, for the log: the error, its domain code and status, and the classes it came from."""
    code = getattr(exc, "reason", None)
    text = type(exc).__name__ + (f":{code}" if isinstance(code, str) else "")
    if isinstance(exc, DomainError):
        text += f" (status {exc.status})"
    cause = exc.__cause__
    while cause is not None:
        text, cause = f"{text} <- {type(cause).__name__}", cause.__cause__
    return text


def _logs_failure(function: Callable[..., T]) -> Callable[..., T]:
    """Log a refused hash signing (CSC) at WARNING: whose certificate, how many hashes, why; never the key."""

    @functools.wraps(function)
    def logged(certificate: Certificate, wrapped: bytes, digests: list[bytes], *args, **kwargs) -> T:
        try:
            return function(certificate, wrapped, digests, *args, **kwargs)
        except DomainError as exc:
            log.warning("signing failed: account %s, certificate %s via csc, %d hash(es): %s",
                        certificate.account_id, certificate.serial, len(digests), failure_reason(exc))
            raise

    return logged


@_logs_failure
def sign_digests(certificate: Certificate, wrapped: bytes, digests: list[bytes], algorithm: str = "sha256") -> list[bytes]:
    """Unwrap the certificate's KEK-wrapped key (from :func:`check_passphrase`) once and sign each hash (RSA PKCS#1 v1.5).

    :raises KeyServiceUnavailable: the HSM failed, or it cannot unwrap ``wrapped``.
    """
    with _translated(), keys.unlock_wrapped(context().hsm, wrapped) as key:
        return [key.sign_digest(digest, algorithm) for digest in digests]


def sign_pdfs(certificate: Certificate, passphrase: str, documents: list[bytes], **options) -> list[bytes]:
    """Unlock the subscriber key once and sign each PDF (PAdES B-LT unless ``level`` says otherwise).

    :raises PassphraseDoesNotOpen: the passphrase does not open the key.
    :raises DocumentUnusable: a document cannot be signed.
    """
    with unlocked(certificate, passphrase) as sign:
        return [sign(document, **options) for document in documents]


def _limits() -> pdf.Limits:
    """Return the bounds on an uploaded PDF from the configuration."""
    config = current_app.config
    return pdf.Limits(pages=int(config["PDF_MAX_PAGES"]), decoded_bytes=int(config["PDF_MAX_DECODED_MB"]) * 1024 * 1024,
                      signatures=int(config["PDF_MAX_SIGNATURES"]))


def _untrusted(function: Callable[..., T], *args) -> T:
    """Return ``function(*args)`` run on an uploaded file in a sandbox child, within ``PDF_CHECK_SECONDS``."""
    seconds = float(current_app.config["PDF_CHECK_SECONDS"])
    return current_app.extensions["paraf.sandbox"].run(function, *args, seconds=seconds)


@_translated()
def check_pdf(data: bytes, password: str | None = None) -> int:
    """Check, in a sandbox, that an uploaded PDF opens within the bounds (``password`` opens an encrypted one); return its page count.

    :raises DocumentUnusable: it cannot be read; :class:`NotAPdfDocument`, :class:`EncryptedDocument`,
        :class:`DocumentPasswordWrong`, :class:`DamagedDocument` or :class:`DocumentOverLimit` say why.
    """
    return _untrusted(pdf.inspect, data, password, _limits())


@_translated()
def page_boxes(data: bytes) -> list[pdf.Box]:
    """Return the visible area (CropBox, else MediaBox) of every page as ``(x1, y1, x2, y2)``, read in a sandbox.

    :raises DocumentUnusable: the PDF or its page tree cannot be read (:class:`DocumentOverLimit`: over a bound).
    """
    return _untrusted(pdf.page_boxes, data, _limits())


@_translated()
def page_geometry(data: bytes) -> list[pdf_pages.Geometry]:
    """Return each page's crop box and rotation as PDFium shows it, read in a sandbox.

    :raises DocumentUnusable: PDFium cannot read it (:class:`DocumentOverLimit`: over a bound).
    """
    return _untrusted(pdf_pages.geometry, data, _limits())


@_translated()
def find_text(data: bytes, text: str) -> tuple[int, float, float, pdf_pages.Geometry] | None:
    """Return the page index and user-space corner of the first occurrence of ``text``, with that page's geometry.

    :raises DocumentUnusable: PDFium cannot read it (:class:`DocumentOverLimit`: over a bound).
    """
    return _untrusted(pdf_pages.find_text, data, text, _limits())


@_translated()
def thumbnail(path: os.PathLike, page: int, width: int) -> bytes:
    """Return a PNG of a page of a stored upload, ``width`` pixels wide or less (``THUMBNAIL_MAX_PIXELS`` at most).

    :raises DocumentUnusable: PDFium cannot render it (:class:`DocumentOverLimit`: the render overran its child).
    """
    return _untrusted(pdf_pages.thumbnail, os.fspath(path), page, width, int(current_app.config["THUMBNAIL_MAX_PIXELS"]))


@_translated()
def signature_field_names(data: bytes) -> set[str]:
    """Return the names of the PDF's signature fields, signed or not.

    :raises DocumentUnusable: the PDF or its form cannot be read.
    """
    return set(pdf.signature_fields(pdf.open_pdf(data)))


@_translated()
def add_signature_fields(data: bytes, fields: Sequence[SignatureField]) -> bytes:
    """Return the PDF with empty visible signature fields appended in one incremental update.

    :raises DocumentUnusable: the PDF cannot take them (damaged, a name taken, a page missing).
    """
    return pdf.add_signature_fields(data, fields)


@_translated()
def check_stamp_image(data: bytes) -> None:
    """Check that a stamp image is a PNG or JPEG the stamp can draw.

    :raises StampUnusable: it is not.
    """
    load_image(data)


@_translated()
def validate(data: bytes, crls: Sequence[bytes], password: str | None = None) -> list[SignatureReport]:
    """Validate every signature of an uploaded PDF offline, in a sandbox, against Paraf's root and issuing CA and ``crls``.

    :raises DocumentUnusable: the PDF cannot be read (as :func:`check_pdf` says), or a signature in it cannot
        (:class:`DamagedSignatures`).
    """
    hierarchy = context().hierarchy()
    return _untrusted(validate_pdf, data, hierarchy.root, [hierarchy.issuing], list(crls), [], password, None, _limits())
