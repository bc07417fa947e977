"""The CA hierarchy: keys generated in the HSM, certificates whose TBS part the HSM signs.

The token holds everything: the root, issuing, OCSP-responder and TSA key
pairs (non-extractable), the AES-256 key-encryption key that wraps subscriber
keys, the HMAC key that peppers their passphrases (:mod:`signer.keys`), and the
four CA certificates as certificate objects.

The KEK carries a ``CKA_UNWRAP_TEMPLATE``: whatever it unwraps must be a
sensitive, non-extractable, sign-only RSA private key, so a PIN holder cannot
unwrap a subscriber key in readable form. python-pkcs11 cannot pack that array
attribute, so :class:`_TemplateMapper` does.
"""

from __future__ import annotations

import ctypes
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from asn1crypto import core, keys, x509
from pkcs11 import Attribute, CertificateType, KeyType, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e
from pkcs11.attributes import AttributeMapper
from pkcs11.util.rsa import encode_rsa_public_key

from .config import PkiConfig
from .errors import AlreadyInitialised, HsmUnavailable, KeyNotFound
from .hsm import Hsm
from .mac import ensure_mac_key

ROOT = "paraf-root"
ISSUING = "paraf-issuing"
OCSP = "paraf-ocsp"
TSA = "paraf-tsa"
KEK = "paraf-kek"
PEPPER = "paraf-kdf-pepper"
CA_LABELS = (ROOT, ISSUING, OCSP, TSA)

ROOT_YEARS = 20
ISSUING_YEARS = 10
SERVICE_YEARS = 5
BACKDATE = timedelta(minutes=5)

KEK_UNWRAP_TEMPLATE = {
    Attribute.CLASS: ObjectClass.PRIVATE_KEY,
    Attribute.KEY_TYPE: KeyType.RSA,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
"""What the KEK imposes on every key it unwraps (a caller's template must say the same)."""


class _CkAttribute(ctypes.Structure):
    _fields_ = [("type", ctypes.c_ulong), ("value", ctypes.c_void_p), ("length", ctypes.c_ulong)]


class _TemplateMapper(AttributeMapper):
    """python-pkcs11's attribute mapper that can also write ``CKA_UNWRAP_TEMPLATE`` (an array of CK_ATTRIBUTE).

    The packed array points into buffers this mapper keeps, so it must live as long as the session using it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffers: list = []
        self.register_handler(Attribute.UNWRAP_TEMPLATE, self._pack_template, self._unpack_template)

    def _pack_template(self, template: dict) -> bytes:
        array = (_CkAttribute * len(template))()
        for entry, (key, value) in zip(array, template.items()):
            raw = self.pack_attribute(key, value)
            buffer = ctypes.create_string_buffer(raw, len(raw))
            self._buffers.append(buffer)
            entry.type, entry.value, entry.length = int(key), ctypes.addressof(buffer), len(raw)
        return bytes(array)

    @staticmethod
    def _unpack_template(raw: bytes) -> dict:
        raise NotImplementedError("reading an attribute template back is not supported")


def utcnow() -> datetime:
    """Return the current UTC time without microseconds."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def random_serial() -> int:
    """Return a random positive 128-bit certificate serial number."""
    return secrets.randbits(127) | (1 << 120)


def rsa_spki(public_key_pkcs1: bytes) -> keys.PublicKeyInfo:
    """Wrap a PKCS#1 RSA public key into a SubjectPublicKeyInfo."""
    return keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "rsa", "parameters": core.Null()},
            "public_key": keys.RSAPublicKey.load(public_key_pkcs1),
        }
    )


def key_identifier(spki: keys.PublicKeyInfo) -> bytes:
    """Return the RFC 5280 method-1 key identifier (SHA-1 of the public key bits)."""
    return hashlib.sha1(spki["public_key"].contents[1:]).digest()


@dataclass(frozen=True)
class Hierarchy:
    """DER certificates of the CA hierarchy; parse per use, asn1crypto objects are not thread-safe."""

    root: bytes
    issuing: bytes
    ocsp: bytes
    tsa: bytes

    def cert(self, label: str) -> x509.Certificate:
        """Return a freshly parsed certificate of the hierarchy by its token label."""
        return x509.Certificate.load({ROOT: self.root, ISSUING: self.issuing, OCSP: self.ocsp, TSA: self.tsa}[label])


def sign_tbs(hsm: Hsm, label: str, tbs: x509.TbsCertificate) -> x509.Certificate:
    """Sign a TBS certificate with the token key ``label`` and return the certificate."""
    signature = hsm.sign(label, tbs.dump(), "sha256")
    return x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": "sha256_rsa"},
            "signature_value": signature,
        }
    )


def build_tbs(
    *,
    serial: int,
    issuer: x509.Name,
    subject: x509.Name,
    spki: keys.PublicKeyInfo,
    not_before: datetime,
    not_after: datetime,
    extensions: list[dict],
) -> x509.TbsCertificate:
    """Assemble a TBS certificate with SHA-256/RSA as its signature algorithm."""
    return x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": {"algorithm": "sha256_rsa"},
            "issuer": issuer,
            "validity": {
                "not_before": x509.Time({"utc_time": not_before}),
                "not_after": x509.Time({"generalized_time": not_after} if not_after.year >= 2050 else {"utc_time": not_after}),
            },
            "subject": subject,
            "subject_public_key_info": spki,
            "extensions": extensions,
        }
    )


def ext(name: str, value, critical: bool = False) -> dict:
    """Return one X.509 extension as an asn1crypto dict."""
    return {"extn_id": name, "critical": critical, "extn_value": value}


def uri(url: str) -> x509.GeneralName:
    """Return a URI general name."""
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def ca_name(pki: PkiConfig, common_name: str) -> x509.Name:
    """Return the distinguished name of one of the hierarchy's own certificates (CA, OCSP, TSA)."""
    return x509.Name.build(
        {"country_name": pki.country, "organization_name": pki.organization, "common_name": common_name}
    )


def _generate_rsa(session, label: str, bits: int) -> keys.PublicKeyInfo:
    key_id = secrets.token_bytes(16)
    public, _private = session.generate_keypair(
        KeyType.RSA,
        bits,
        id=key_id,
        label=label,
        store=True,
        capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
        private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True},
    )
    return rsa_spki(encode_rsa_public_key(public))


def _store_certificate(session, label: str, cert: x509.Certificate) -> None:
    session.create_object(
        {
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.LABEL: label,
            Attribute.SUBJECT: cert.subject.dump(),
            Attribute.ISSUER: cert.issuer.dump(),
            Attribute.SERIAL_NUMBER: cert["tbs_certificate"]["serial_number"].dump(),
            Attribute.VALUE: cert.dump(),
        }
    )


def _revocation_pointers(pki: PkiConfig, issuer: str, with_ocsp: bool) -> list[dict]:
    """Return CRL distribution point and AIA extensions for a certificate issued by ``issuer``."""
    access = [{"access_method": "ca_issuers", "access_location": uri(pki.url(f"/pki/{issuer}.crt"))}]
    if with_ocsp:
        access.insert(0, {"access_method": "ocsp", "access_location": uri(pki.url("/pki/ocsp"))})
    return [
        ext("crl_distribution_points", [{"distribution_point": {"full_name": [uri(pki.url(f"/pki/{issuer}.crl"))]}}]),
        ext("authority_information_access", access),
    ]


def _generate_kek(session) -> None:
    with session.token.open(rw=True, attribute_mapper=_TemplateMapper()) as templated:  # shares the login
        templated.generate_key(
            KeyType.AES,
            256,
            label=KEK,
            id=secrets.token_bytes(16),
            store=True,
            capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
            template={
                Attribute.SENSITIVE: True,
                Attribute.EXTRACTABLE: False,
                Attribute.PRIVATE: True,
                Attribute.UNWRAP_TEMPLATE: KEK_UNWRAP_TEMPLATE,
            },
        )


def init_hierarchy(hsm: Hsm, pki: PkiConfig) -> Hierarchy:
    """Generate the CA keys, the KEK, the pepper and the CA certificates in the token; refuse if a CA key or KEK exists."""
    for label in (*CA_LABELS, KEK):
        if hsm.has_object(label, ObjectClass.PRIVATE_KEY) or hsm.has_object(label, ObjectClass.SECRET_KEY):
            raise AlreadyInitialised(f"the token already holds a key labelled {label!r}")

    def generate(session):
        spkis = {ROOT: _generate_rsa(session, ROOT, pki.ca_key_bits), ISSUING: _generate_rsa(session, ISSUING, pki.ca_key_bits)}
        for label in (OCSP, TSA):
            spkis[label] = _generate_rsa(session, label, pki.subscriber_key_bits)
        _generate_kek(session)
        return spkis

    try:
        spkis = hsm.run(generate)
    except p11e.PKCS11Error as exc:
        raise HsmUnavailable("cannot generate the CA keys") from exc
    ensure_mac_key(hsm, PEPPER)

    now = utcnow() - BACKDATE
    root_name, issuing_name = ca_name(pki, pki.root_name), ca_name(pki, pki.issuing_name)
    root_ki, issuing_ki = key_identifier(spkis[ROOT]), key_identifier(spkis[ISSUING])

    root = sign_tbs(hsm, ROOT, build_tbs(
        serial=random_serial(), issuer=root_name, subject=root_name, spki=spkis[ROOT],
        not_before=now, not_after=now + timedelta(days=365 * ROOT_YEARS),
        extensions=[
            ext("basic_constraints", {"ca": True}, critical=True),
            ext("key_usage", {"key_cert_sign", "crl_sign"}, critical=True),
            ext("key_identifier", root_ki),
        ],
    ))
    issuing = sign_tbs(hsm, ROOT, build_tbs(
        serial=random_serial(), issuer=root_name, subject=issuing_name, spki=spkis[ISSUING],
        not_before=now, not_after=now + timedelta(days=365 * ISSUING_YEARS),
        extensions=[
            ext("basic_constraints", {"ca": True, "path_len_constraint": 0}, critical=True),
            ext("key_usage", {"key_cert_sign", "crl_sign"}, critical=True),
            ext("key_identifier", issuing_ki),
            ext("authority_key_identifier", {"key_identifier": root_ki}),
            ext("certificate_policies", [{"policy_identifier": "any_policy"}]),
            *_revocation_pointers(pki, "root", with_ocsp=False),
        ],
    ))

    def service_cert(label: str, common_name: str, extensions: list[dict]) -> x509.Certificate:
        return sign_tbs(hsm, ISSUING, build_tbs(
            serial=random_serial(), issuer=issuing_name, subject=ca_name(pki, common_name), spki=spkis[label],
            not_before=now, not_after=now + timedelta(days=365 * SERVICE_YEARS),
            extensions=[
                ext("key_usage", {"digital_signature"}, critical=True),
                ext("key_identifier", key_identifier(spkis[label])),
                ext("authority_key_identifier", {"key_identifier": issuing_ki}),
                *extensions,
            ],
        ))

    ocsp = service_cert(OCSP, pki.issuing_name + " OCSP Responder", [
        ext("extended_key_usage", ["ocsp_signing"]),
        ext("ocsp_no_check", None),
    ])
    tsa = service_cert(TSA, pki.tsa_name, [
        ext("extended_key_usage", ["time_stamping"], critical=True),
        ext("certificate_policies", [{"policy_identifier": pki.tsa_policy_oid}]),
        *_revocation_pointers(pki, "issuing", with_ocsp=True),
    ])

    certs = {ROOT: root, ISSUING: issuing, OCSP: ocsp, TSA: tsa}

    def store(session):
        for label, cert in certs.items():
            _store_certificate(session, label, cert)

    hsm.run(store)
    return Hierarchy(root=root.dump(), issuing=issuing.dump(), ocsp=ocsp.dump(), tsa=tsa.dump())


def load_hierarchy(hsm: Hsm) -> Hierarchy:
    """Read the four CA certificates from the token."""

    def load(session) -> dict[str, bytes]:
        found = {}
        for label in CA_LABELS:
            objects = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}))
            if not objects:
                raise KeyNotFound(f"the token holds no certificate labelled {label!r}; run `flask pki init`")
            found[label] = bytes(objects[0][Attribute.VALUE])
        return found

    ders = hsm.run(load)
    return Hierarchy(root=ders[ROOT], issuing=ders[ISSUING], ocsp=ders[OCSP], tsa=ders[TSA])


def subscriber_name(attributes: dict[str, str]) -> x509.Name:
    """Build a subscriber's distinguished name from asn1crypto name keys (``common_name``, ...)."""
    return x509.Name.build(attributes)


def issue_subscriber(
    hsm: Hsm,
    pki: PkiConfig,
    hierarchy: Hierarchy,
    public_key: bytes,
    subject: dict[str, str],
    email: str | None = None,
    now: datetime | None = None,
    policy_oid: str | None = None,
) -> x509.Certificate:
    """Issue a subscriber signing certificate for a SubjectPublicKeyInfo (DER) from the issuing CA (``pki.policy_oid`` by default)."""
    issuing = hierarchy.cert(ISSUING)
    spki = keys.PublicKeyInfo.load(public_key)
    start = (now or utcnow()) - BACKDATE
    extensions = [
        ext("basic_constraints", {"ca": False}, critical=True),
        ext("key_usage", {"digital_signature", "non_repudiation"}, critical=True),
        ext("key_identifier", key_identifier(spki)),
        ext("authority_key_identifier", {"key_identifier": issuing.key_identifier}),
        ext("certificate_policies", [{"policy_identifier": policy_oid or pki.policy_oid}]),
        ext("extended_key_usage", ["email_protection", "1.3.6.1.4.1.311.10.3.12"]),
        *_revocation_pointers(pki, "issuing", with_ocsp=True),
    ]
    if email:
        extensions.append(ext("subject_alt_name", [x509.GeneralName(name="rfc822_name", value=email)]))
    return sign_tbs(hsm, ISSUING, build_tbs(
        serial=random_serial(),
        issuer=issuing.subject,
        subject=subscriber_name(subject),
        spki=spki,
        not_before=start,
        not_after=start + timedelta(days=pki.subscriber_validity_days),
        extensions=extensions,
    ))


def seal_policy_oid(pki: PkiConfig) -> str:
    """Return the certificate policy OID of agency seals: the subscriber policy's arc ``.3``."""
    return pki.policy_oid + ".3"


def issue_seal(
    hsm: Hsm, pki: PkiConfig, hierarchy: Hierarchy, public_key: bytes, organization: str, name: str,
    now: datetime | None = None,
) -> x509.Certificate:
    """Issue an organisation certificate for an agency seal: C, O = the agency, CN = the seal's name; the seal policy."""
    subject = {"country_name": pki.country, "organization_name": organization, "common_name": name}
    return issue_subscriber(hsm, pki, hierarchy, public_key, subject, now=now, policy_oid=seal_policy_oid(pki))
