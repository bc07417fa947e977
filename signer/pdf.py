"""PAdES signing of PDFs with a key that signs raw data; time stamps and revocation data come in-process.

Nothing here touches the network: the caller passes a pyHanko ``TimeStamper``
(e.g. :class:`signer.tsa.InProcessTimeStamper`) and the CRLs/OCSP responses to embed, and
the validation context used while signing never fetches. Certificates are
passed as DER and parsed inside each call, because asn1crypto objects must not
be shared between threads.

A ``TimeStamper`` and a :class:`Prepared` hold parsed objects: keep each to one thread, and reuse them there
across signatures (the TSA's certificates and the pre-sign validation are then worked out once).
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, TypeVar

from asn1crypto import tsp, x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import find_inherited_value_in_tree
from pyhanko.sign.attributes import CMSAttributeProvider
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, append_signature_field, enumerate_sig_fields
from pyhanko.sign.general import SigningError, as_signing_certificate_v2
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, SignedAttributeProviderSpec
from pyhanko.sign.signers.pdf_signer import PreSignValidationStatus
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import (
    NotAPdf,
    PdfDamaged,
    PdfEncrypted,
    PdfError,
    PdfLimitExceeded,
    PdfWrongPassword,
    SignerError,
    SigningFailed,
)
from .stamp import DEFAULT_STAMP_STYLE, Stamp, StampStyle, stamp_style

T = TypeVar("T")
# What pyHanko's reader lets through from a malformed file besides its own PdfError.
DAMAGE = (zlib.error, ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError)
Box = tuple[float, float, float, float]
DIGESTS = ("sha256", "sha384", "sha512")
MAX_PAGE_SIDE = 14_400
"""The largest page side PDF allows, in points at the default user unit (ISO 32000-1, annex C.2)."""


class _DropNoFetchWarning(logging.Filter):
    """Hide pyHanko's warning that fetching is off: the caller always supplies the revocation data itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for the 'fetching is not allowed' warning."""
        return "fetching is not allowed" not in record.getMessage()


_NO_FETCH_FILTER = _DropNoFetchWarning()


def silence_no_fetch_warning() -> None:
    """Drop the warning pyHanko logs on every signature because fetching is off (once per process is enough)."""
    logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_NO_FETCH_FILTER)


class RawSigner(Protocol):
    """Anything that signs bytes with RSA PKCS#1 v1.5 over their hash (``keys.UnlockedKey`` does)."""

    def sign(self, data: bytes, digest: str = "sha256") -> bytes:
        """Sign ``data``."""
        ...


class PadesLevel(str, Enum):
    """PAdES baseline levels (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def rank(self) -> int:
        """Return 0 for B-B up to 3 for B-LTA."""
        return list(PadesLevel).index(self)


@dataclass(frozen=True)
class RevocationData:
    """CRLs and OCSP responses (DER) to validate with and to embed; nothing is ever fetched."""

    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()


@dataclass
class Prepared:
    """What signatures by one certificate, at one level, with the same revocation data and time stamper share.

    Filled by the first signature made with it: the never-fetching validation context, the pre-sign validation
    (the signer's and the TSA's paths with their revocation checks) and the size reserved for the CMS. Keep it
    to one thread.
    """

    context: ValidationContext | None = None
    validation: PreSignValidationStatus | None = None
    bytes_reserved: int | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds on an untrusted PDF: its pages, the bytes decoded from its streams, and the signatures validated."""

    pages: int = 2000
    decoded_bytes: int = 200 * 1024 * 1024
    signatures: int = 50

    def decode_limits(self) -> DecodeLimits:
        """Return pyHanko's decoding limits with :attr:`decoded_bytes` as the bound of a stream and of the document."""
        return DecodeLimits(
            per_stream=StreamDecodeLimits(max_output_size=self.decoded_bytes),
            document_budget=DocumentDecodeBudget(base_allowance=self.decoded_bytes, max_ratio=0),
        )


def check_page_box(box: Box) -> None:
    """Refuse a page box with a side beyond :data:`MAX_PAGE_SIDE` (or not a finite number).

    :raises PdfLimitExceeded: ``page_size``.
    """
    x1, y1, x2, y2 = box
    if not (abs(x2 - x1) <= MAX_PAGE_SIDE and abs(y2 - y1) <= MAX_PAGE_SIDE):
        raise PdfLimitExceeded("page_size", MAX_PAGE_SIDE)


@dataclass(frozen=True)
class SignatureField:
    """An empty signature field to create: name, page index (0-based, negative from the end) and box."""

    name: str
    page: int
    box: Box


@functools.lru_cache(maxsize=1024)
def _signing_certificate_v2(cert: bytes) -> bytes:
    """Return the DER of the signing-certificate-v2 attribute value naming ``cert``."""
    return as_signing_certificate_v2(x509.Certificate.load(cert)).dump()


class _SigningCertificate(CMSAttributeProvider):
    """The signing-certificate-v2 attribute from DER encoded once: asn1crypto builds and encodes it slowly."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, cert: bytes):
        self._value = _signing_certificate_v2(cert)

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        """Return the attribute value, parsed lazily from its DER."""
        return tsp.SigningCertificateV2.load(self._value)


class _PadesAttributes(SignedAttributeProviderSpec):
    """The signed attributes pyHanko gives a PAdES signature without CAdES extras: only signing-certificate-v2."""

    def __init__(self, cert: bytes):
        self._cert = cert

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str):
        """Yield the one provider."""
        yield _SigningCertificate(self._cert)


class KeySigner(Signer):
    """A pyHanko signer that delegates the private-key operation to a :class:`RawSigner` (PAdES signatures only)."""

    def __init__(self, key: RawSigner, cert: bytes, chain: Sequence[bytes]):
        signing_cert = x509.Certificate.load(cert)
        if signing_cert.public_key.algorithm != "rsa":
            raise SignerError("only RSA signing certificates are supported")
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs([x509.Certificate.load(der) for der in chain]),
            embed_roots=True,
        )
        self.signed_attr_prov_spec = _PadesAttributes(cert)
        self._key = key
        self._signature_size = (signing_cert.public_key.bit_size + 7) // 8

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Return the RSA PKCS#1 v1.5 signature of ``data`` (zeros of the right length for a dry run)."""
        if digest_algorithm not in DIGESTS:
            raise SignerError(f"unsupported digest algorithm {digest_algorithm!r}")
        if dry_run:
            return bytes(self._signature_size)
        return self._key.sign(data, digest_algorithm)


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, also when this thread already runs an event loop."""
    result: list[T] = []

    async def run() -> None:
        # The task must not hold the result: in the main thread asyncio.run repr()s the task (a signed PDF).
        result.append(await make())

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run())
    else:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(run())).result()
    return result[0]


def open_reader(
    pdf: bytes, strict: bool = False, password: str | None = None, limits: Limits | None = None
) -> PdfFileReader:
    """Parse PDF bytes that are a usable PDF (unencrypted, or opened by ``password``), within ``limits`` if given.

    :raises NotAPdf: no ``%PDF-`` header.
    :raises PdfEncrypted: encrypted, and no ``password`` given.
    :raises PdfWrongPassword: ``password`` does not open it.
    :raises PdfLimitExceeded: it declares more pages than ``limits.pages``, or its streams decode to more than
        ``limits.decoded_bytes`` (then also later, on the returned reader).
    :raises PdfDamaged: it cannot be parsed.
    """
    if not isinstance(pdf, (bytes, bytearray, memoryview)):
        raise TypeError("pdf must be bytes")
    if b"%PDF-" not in bytes(pdf[:1024]):
        raise NotAPdf("the file is not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(
            io.BytesIO(bytes(pdf)), strict=strict, decode_limits=limits.decode_limits() if limits else None
        )
        if reader.encrypted and password is None:
            raise PdfEncrypted("the PDF is encrypted or password-protected; remove the protection and upload it again")
        if reader.encrypted and reader.decrypt(password).status == AuthStatus.FAILED:
            raise PdfWrongPassword("the given password does not open the encrypted PDF")
        count = int(reader.root["/Pages"]["/Count"])  # touch the page tree: a damaged file fails here
        if limits and count > limits.pages:
            raise PdfLimitExceeded("pages", limits.pages)
    except PdfError:
        raise
    except misc.PdfDecodeLimitError as exc:
        raise _decode_limit(limits) from exc
    except misc.PdfError as exc:
        raise PdfDamaged(f"the PDF is damaged and cannot be read: {exc.msg}") from exc
    except DAMAGE as exc:
        raise PdfDamaged("the PDF is damaged and cannot be read") from exc
    return reader


def _decode_limit(limits: Limits | None) -> PdfLimitExceeded:
    """Return the refusal of a PDF whose streams decode to more than the bound."""
    return PdfLimitExceeded("decoded_bytes", (limits or Limits()).decoded_bytes)


def inspect(pdf: bytes, password: str | None, limits: Limits) -> int:
    """Check that untrusted PDF bytes open and that every page, its box and its content streams are within ``limits``.

    Return the page count. The page tree is walked once and every content stream decoded (within
    ``limits.decoded_bytes`` in all), so what signing later reads of the file is bounded too.

    :raises PdfError: as :func:`open_reader` and :func:`page_boxes`.
    """
    reader = open_reader(pdf, password=password, limits=limits)
    count = 0
    with _page_tree_errors(limits):
        for index, page in enumerate(_pages(reader, limits)):
            _box(page, index)
            contents = page["/Contents"] if "/Contents" in page else None  # noqa: SIM401  (get() does not resolve)
            for item in contents if isinstance(contents, generic.ArrayObject) else [contents]:
                stream = item.get_object() if item is not None else None
                if isinstance(stream, generic.StreamObject):
                    stream.data  # noqa: B018  (decoding is the check)
            count += 1
    return count


def _pages(reader: PdfFileReader, limits: Limits | None) -> Iterator[generic.DictionaryObject]:
    """Yield the pages of the page tree in order, walking it once (no page or node twice; at most ``limits.pages``)."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.root.raw_get("/Pages")]
    count = 0
    while stack:
        item = stack.pop()
        if isinstance(item, generic.IndirectObject):
            if (item.idnum, item.generation) in seen:
                raise PdfDamaged("the PDF page tree reaches a node twice")
            seen.add((item.idnum, item.generation))
        node = item.get_object()
        if not isinstance(node, generic.DictionaryObject):
            raise PdfDamaged("the PDF page tree holds something that is not a dictionary")
        if "/Kids" in node:
            kids = node["/Kids"]
            stack.extend(kids.raw_get(i) for i in reversed(range(len(kids))))
            continue
        count += 1
        if limits and count > limits.pages:
            raise PdfLimitExceeded("pages", limits.pages)
        yield node


def _box(page: generic.DictionaryObject, index: int) -> Box:
    """Return a page's visible area (CropBox, else MediaBox, inherited) as ``(x1, y1, x2, y2)``, x1 < x2 and y1 < y2."""
    box = find_inherited_value_in_tree(page, "/CropBox", "/Parent") or find_inherited_value_in_tree(
        page, "/MediaBox", "/Parent"
    )
    if box is None or len(box) != 4:
        raise PdfDamaged(f"page {index + 1} has no usable MediaBox")
    x1, y1, x2, y2 = (float(value) for value in box)
    check_page_box((x1, y1, x2, y2))
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


@contextmanager
def _page_tree_errors(limits: Limits | None) -> Iterator[None]:
    """Re-raise what pyHanko raises while reading the page tree as :class:`PdfDamaged` or :class:`PdfLimitExceeded`."""
    try:
        yield
    except PdfError:
        raise
    except misc.PdfDecodeLimitError as exc:
        raise _decode_limit(limits) from exc
    except misc.PdfError as exc:
        raise PdfDamaged(f"the PDF page tree is damaged: {exc.msg}") from exc
    except DAMAGE as exc:
        raise PdfDamaged("the PDF page tree is damaged") from exc


def open_pdf(pdf: bytes) -> IncrementalPdfFileWriter:
    """Open PDF bytes for an incremental update; raise :class:`PdfError` if they are not a usable PDF."""
    return IncrementalPdfFileWriter.from_reader(open_reader(pdf, strict=True))


def page_count(writer: IncrementalPdfFileWriter) -> int:
    """Return the number of pages of the document being updated."""
    return int(writer.root["/Pages"]["/Count"])


def page_boxes(pdf: bytes, limits: Limits | None = None) -> list[Box]:
    """Return the visible area (CropBox, else MediaBox) of every page as ``(x1, y1, x2, y2)``, x1 < x2 and y1 < y2.

    :raises PdfError: as :func:`open_reader`; :class:`PdfDamaged` also when a page has no usable box, and
        :class:`PdfLimitExceeded` when one is larger than PDF allows.
    """
    reader = open_reader(pdf, limits=limits)
    with _page_tree_errors(limits):
        return [_box(page, index) for index, page in enumerate(_pages(reader, limits))]


def _check_placement(writer: IncrementalPdfFileWriter, page: int, box: Box) -> None:
    count = page_count(writer)
    if not -count <= page < count:
        raise PdfError(f"page {page} does not exist; the PDF has {count} page(s)")
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box {box} must be (x1, y1, x2, y2) with x1 < x2 and y1 < y2")


def signature_fields(writer: IncrementalPdfFileWriter) -> dict[str, bool]:
    """Return the document's signature fields by name, with whether each is already signed."""
    try:
        return {name: value is not None for name, value, _ref in enumerate_sig_fields(writer)}
    except misc.PdfError as exc:
        raise PdfDamaged(f"the PDF form is damaged: {exc.msg}") from exc


def add_signature_fields(pdf_bytes: bytes, fields: Sequence[SignatureField | tuple[str, int, Box]]) -> bytes:
    """Append empty visible signature fields in one incremental update and return the new PDF."""
    writer = open_pdf(pdf_bytes)
    existing = signature_fields(writer)
    for item in fields:
        spec = item if isinstance(item, SignatureField) else SignatureField(*item)
        if spec.name in existing:
            raise PdfError(f"the PDF already has a signature field named {spec.name!r}")
        _check_placement(writer, spec.page, spec.box)
        try:
            append_signature_field(
                writer, SigFieldSpec(sig_field_name=spec.name, on_page=spec.page, box=tuple(spec.box))
            )
        except misc.PdfError as exc:
            raise PdfError(f"cannot add signature field {spec.name!r}: {exc.msg}") from exc
        existing[spec.name] = False
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _split_chain(chain: Sequence[bytes]) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """Parse DER certificates into self-signed roots (to trust) and the others."""
    roots, others = [], []
    for der in chain:
        cert = x509.Certificate.load(der)
        (roots if cert.self_signed != "no" else others).append(cert)
    if not roots:
        raise ValueError("the chain must end in a self-signed root certificate")
    return roots, others


def validation_context(chain: Sequence[bytes], revocation: RevocationData, require_revocation: bool) -> ValidationContext:
    """Build a never-fetching validation context trusting the root(s) in ``chain``."""
    roots, others = _split_chain(chain)
    return ValidationContext(
        trust_roots=roots,
        other_certs=others,
        crls=list(revocation.crls),
        ocsps=list(revocation.ocsps),
        allow_fetching=False,
        revocation_mode="hard-fail" if require_revocation else "soft-fail",
    )


def _common_name(cert: bytes) -> str:
    subject = x509.Certificate.load(cert).subject.native
    return subject.get("common_name") or subject.get("organization_name") or ""


def _new_field_name(existing: dict[str, bool]) -> str:
    number = len(existing) + 1
    while f"Signature{number}" in existing:
        number += 1
    return f"Signature{number}"


async def async_sign_pdf(
    pdf: bytes,
    key: RawSigner,
    cert: bytes,
    chain: Sequence[bytes],
    *,
    level: PadesLevel | str = PadesLevel.B_LT,
    timestamper: TimeStamper | None = None,
    revocation: RevocationData = RevocationData(),
    field: str | None = None,
    page: int = 0,
    box: Box | None = None,
    stamp: Stamp | None = None,
    style: StampStyle = DEFAULT_STAMP_STYLE,
    reason: str | None = None,
    location: str | None = None,
    contact_info: str | None = None,
    prepared: Prepared | None = None,
) -> bytes:
    """Sign a PDF as an incremental update; see :func:`sign_pdf`."""
    level = PadesLevel(level)
    if level.rank >= PadesLevel.B_T.rank and timestamper is None:
        raise ValueError(f"PAdES {level.value} needs a time stamper")
    writer = open_pdf(pdf)
    existing = signature_fields(writer)
    new_field = None
    if field is not None and field in existing:
        if existing[field]:
            raise PdfError(f"the signature field {field!r} is already signed")
        if box is not None:
            raise ValueError(f"the field {field!r} already exists; its own box is used, do not pass one")
    else:
        field = field or _new_field_name(existing)
        if box is not None:
            _check_placement(writer, page, box)
        elif stamp is not None:
            raise ValueError("a visible stamp needs a box or an existing visible signature field")
        new_field = SigFieldSpec(sig_field_name=field, on_page=page, box=tuple(box) if box else None)

    prepared = prepared or Prepared()
    if prepared.context is None:
        prepared.context = validation_context(chain, revocation, require_revocation=level.rank >= PadesLevel.B_LT.rank)
    context = prepared.context
    meta = PdfSignatureMetadata(
        field_name=field,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        embed_validation_info=level.rank >= PadesLevel.B_LT.rank,
        use_pades_lta=level is PadesLevel.B_LTA,
        validation_context=context,
        reason=reason,
        location=location,
        contact_info=contact_info,
    )
    pdf_signer = PdfSigner(
        meta,
        KeySigner(key, cert, chain),
        timestamper=timestamper if level.rank >= PadesLevel.B_T.rank else None,
        stamp_style=stamp_style(stamp or Stamp(name=_common_name(cert)), style),
        new_field_spec=new_field,
    )
    out = io.BytesIO()
    try:
        await _sign(pdf_signer, writer, out, prepared)
    except (PathBuildingError, PathValidationError, ValidationError) as exc:
        raise SigningFailed(f"the certificate does not validate: {exc}") from exc
    except TimestampRequestError as exc:
        raise SigningFailed(f"time-stamping failed: {exc}") from exc
    except SigningError as exc:
        cause = exc.__cause__
        detail = f": {cause}" if cause is not None else ""
        raise SigningFailed(f"{exc}{detail}") from exc
    except misc.PdfError as exc:
        raise PdfDamaged(f"the PDF cannot be signed: {exc.msg}") from exc
    except (zlib.error, KeyError, IndexError) as exc:
        raise PdfDamaged("the PDF is damaged and cannot be signed") from exc
    finally:
        await context.aclose()  # it stays usable for the next signature
    return out.getvalue()


async def _sign(pdf_signer: PdfSigner, writer: IncrementalPdfFileWriter, out: io.BytesIO, prepared: Prepared) -> None:
    """Do what ``PdfSigner.async_sign_pdf`` does, with the pre-sign validation and the CMS size from ``prepared``."""
    session = pdf_signer.init_signing_session(writer)
    if prepared.validation is None:
        prepared.validation = await session.perform_presign_validation(writer)
    if prepared.bytes_reserved is None:
        prepared.bytes_reserved = await session.estimate_signature_container_size(prepared.validation, tight=False)
    tbs = session.prepare_tbs_document(validation_info=prepared.validation, bytes_reserved=prepared.bytes_reserved)
    digest, output = tbs.digest_tbs_document(output=out)
    signed = await tbs.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time, adobe_revinfo_attr=prepared.validation.adobe_revinfo_attr
        ),
    )
    await signed.post_signature_processing(output)


def sign_pdf(pdf: bytes, key: RawSigner, cert: bytes, chain: Sequence[bytes], **options) -> bytes:
    """Sign a PDF (PAdES, incremental update) and return the signed bytes.

    ``cert`` is the signer's certificate and ``chain`` the CA certificates up
    to and including the self-signed root (all DER). B-T and above need
    ``timestamper``; B-LT and B-LTA need ``revocation`` to cover every
    certificate of the signer's and the TSA's chains (a root CRL, and the
    issuing CA's CRL or OCSP responses), which are embedded in the DSS.

    ``field`` names an existing empty field to sign into, or the field to
    create (a name is generated if omitted). A new field is visible when
    ``box`` (x1, y1, x2, y2 in PDF points on page index ``page``) is given;
    the appearance shows ``stamp`` (default: the certificate's common name).

    ``prepared`` (a :class:`Prepared` kept by the caller for this certificate, level, revocation data and
    time stamper) spares the later signatures the pre-sign validation and the size estimate.
    """
    return run_sync(lambda: async_sign_pdf(pdf, key, cert, chain, **options))
