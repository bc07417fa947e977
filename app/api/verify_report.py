"""The eSign API's verification answer built from Paraf's validation and the signatures' declared content.

Each element carries the real service's keys (spelling included: ``timestampInfomation``, ``signatureAlgoritm``)
beside Paraf's own. The ids are stable, uppercase SHA-256 hex as the real service writes them: ``C-`` of the
certificate's DER, ``S-`` of the signature's field name, ``T-`` of that field name and its time-stamp time;
the same file always gets the same ids.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from asn1crypto import x509

from ..domain.keys import SignatureInfo, SignatureReport
from ..domain.signing.validation import DocumentCheck, is_seal

DESCRIPTIONS = {
    "NO_SIGNATURE": ("Dokumen tidak memiliki tanda tangan elektronik.", "The document has no electronic signature."),
    "VALID": ("Semua tanda tangan sah dan sertifikatnya tepercaya.", "Every signature is valid and its certificate trusted."),
    "WARNING": ("Tanda tangan utuh, tetapi ada sertifikat yang tidak tepercaya atau statusnya tidak dapat diperiksa.",
                "The signatures are intact, but a certificate is not trusted or its status cannot be checked."),
    "INVALID": ("Ada tanda tangan yang rusak atau dokumen diubah setelah ditandatangani.",
                "A signature is broken or the document was changed after signing."),
}
# What each of ``SignatureReport.findings`` says, in Indonesian and English; the verdict is a clause of its own.
FINDINGS = {
    "broken": ("Tanda tangan rusak: dokumen atau tanda tangan telah diubah",
               "The signature is broken: the document or the signature has been changed"),
    "trusted": ("Tanda tangan sah dan sertifikat tepercaya", "The signature is valid and the certificate trusted"),
    "revoked": ("Sertifikat penanda tangan telah dicabut", "The signer's certificate has been revoked"),
    "revocation_outdated": ("Tanda tangan utuh tetapi data pencabutan sertifikat sudah kedaluwarsa",
                            "The signature is intact but the certificate's revocation data is out of date"),
    "untrusted": ("Tanda tangan utuh tetapi sertifikat tidak tepercaya",
                  "The signature is intact but the certificate is not trusted"),
    "revocation_unchecked": ("status pencabutan tidak dapat diperiksa", "its revocation status cannot be checked"),
    "modified": ("dokumen diubah setelah ditandatangani", "the document was changed after signing"),
    "changes_allowed": ("ada perubahan yang diizinkan setelah penandatanganan", "permitted changes were made after signing"),
    "timestamp_invalid": ("cap waktu tidak sah", "the time stamp is not valid"),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def service_time(moment: datetime | None) -> str | None:
    """Return a time as the real service writes it: ISO 8601 in UTC to the millisecond (``...T06:56:15.000+00:00``)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")


def reference(prefix: str, data: bytes) -> str:
    """Return a stable id: ``prefix``, a dash and the uppercase SHA-256 hex of ``data``."""
    return f"{prefix}-{hashlib.sha256(data).hexdigest().upper()}"


def conclusion(reports: list[SignatureReport]) -> str:
    """Return ``NO_SIGNATURE``, ``INVALID``, ``WARNING`` or ``VALID`` for a document's signatures."""
    if not reports:
        return "NO_SIGNATURE"
    if any(not (r.intact and r.valid) or r.modified for r in reports):
        return "INVALID"
    if all(r.ok and r.revocation == "good" for r in reports):
        return "VALID"
    return "WARNING"


def signature_format(level: str | None) -> str:
    """Return the ETSI name of a PAdES level (``B-LT`` → ``PAdES-BASELINE-LT``), or ``PKCS7`` for a non-PAdES one."""
    return f"PAdES-BASELINE-{level[2:]}" if level else "PKCS7"


# Short names of the distinguished-name attributes, as the real service's ``issuerName`` writes them.
NAME_KEYS = {"country_name": "C", "state_or_province_name": "ST", "locality_name": "L", "organization_name": "O",
             "organizational_unit_name": "OU", "common_name": "CN", "email_address": "E", "serial_number": "SERIALNUMBER",
             "title": "T"}
# RFC 5280 key usages in bit order, named as the real service names them.
KEY_USAGES = {"digital_signature": "digitalSignature", "non_repudiation": "nonRepudiation",
              "key_encipherment": "keyEncipherment", "data_encipherment": "dataEncipherment",
              "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "crlSign",
              "encipher_only": "encipherOnly", "decipher_only": "decipherOnly"}
SIGNATURE_KEYS = {"rsassa_pkcs1v15": "RSA", "rsassa_pss": "RSASSA-PSS", "ecdsa": "ECDSA"}


def distinguished_name(name: x509.Name) -> str:
    """Return a name in its encoded order as ``C=ID,O=...,CN=...`` (commas and pluses in values escaped)."""
    parts = []
    for rdn in name.chosen:
        for attribute in rdn:
            kind = attribute["type"]
            key = NAME_KEYS.get(kind.native, f"OID.{kind.dotted}")
            value = str(attribute["value"].native).replace("\\", "\\\\").replace(",", "\\,").replace("+", "\\+")
            parts.append(f"{key}={value}")
    return ",".join(parts)


def _signature_algorithm(cert: x509.Certificate) -> str:
    """Return the certificate's signature algorithm as the real service writes it (``RSA with SHA256``), else its OID."""
    algorithm = cert["signature_algorithm"]
    try:
        return f"{SIGNATURE_KEYS.get(algorithm.signature_algo, algorithm.signature_algo.upper())} with {algorithm.hash_algo.upper()}"
    except ValueError:  # an algorithm asn1crypto does not know, in a certificate someone else issued
        return algorithm["algorithm"].dotted


def key_usages(cert: x509.Certificate) -> list[str]:
    """Return the certificate's key usages in RFC 5280 order (``digitalSignature``, ``nonRepudiation``, ...)."""
    granted = cert.key_usage_value.native if cert.key_usage_value is not None else set()
    return [name for bit, name in KEY_USAGES.items() if bit in granted]


def certificate_details(cert: x509.Certificate) -> dict:
    """Return what the answer says of one certificate: the real service's keys, then Paraf's own."""
    return {
        "id": reference("C", cert.dump()),
        "commonName": cert.subject.native.get("common_name"),
        "issuerName": distinguished_name(cert.issuer),
        "serialNumber": str(cert.serial_number),
        "notBeforeDate": service_time(cert.not_valid_before),
        "notAfterDate": service_time(cert.not_valid_after),
        "signatureAlgoritm": _signature_algorithm(cert),
        "keyUsages": key_usages(cert),
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "X"),
        "notBefore": _iso(cert.not_valid_before),
        "notAfter": _iso(cert.not_valid_after),
        "keyAlgorithm": cert.public_key.algorithm.upper(),
        "keySize": cert.public_key.bit_size,
        "selfSigned": cert.self_signed != "no",
    }


UNDECLARED = SignatureInfo(field_name="", reason=None, location=None, contact_info=None, digest_algorithm="",
                           signature_algorithm="", docmdp_level=None, chain=(), tsa_name=None)


def summary(report: SignatureReport, english: bool) -> str:
    """Return one signature's verdict as a sentence: the findings in order, then the PAdES level."""
    parts = [FINDINGS[code][1 if english else 0] for code in report.findings]
    if report.pades_level and report.findings != ("broken",):
        parts.append(f"PAdES {report.pades_level}")
    return "; ".join(parts) + "."


def declared(report: SignatureReport) -> SignatureInfo:
    """Return what the signature declares, or empty declarations when it could not be read."""
    return report.declared or UNDECLARED


def integrity_valid(report: SignatureReport) -> bool:
    """Return whether the signature holds and the document was not changed after it in a way it forbids."""
    return bool(report.intact and report.valid and not report.modified)


def timestamp_information(report: SignatureReport, info: SignatureInfo) -> dict:
    """Return the signature's time stamp as the real service names it (all None without one), then Paraf's keys."""
    stamped = report.timestamp_present
    moment = service_time(report.timestamp_time)
    return {
        "id": reference("T", f"{report.field_name}\n{moment}".encode()) if stamped else None,
        "signerName": info.tsa_name if stamped else None,
        "timestampDate": moment if stamped else None,
        "present": stamped,
        "valid": report.timestamp_valid,
        "time": _iso(report.timestamp_time),
        "tsaName": info.tsa_name,
    }


def _element(number: int, total: int, report: SignatureReport, info: SignatureInfo, english: bool) -> dict:
    return {
        "id": reference("S", report.field_name.encode()),
        "fieldName": report.field_name,
        "signerName": report.signer_name,
        "isSeal": is_seal(report),  # an agency's electronic seal: the signer is the organisation, not a person
        "signatureDate": service_time(report.signing_time),
        "reason": info.reason,
        "location": info.location,
        "contactInfo": info.contact_info,
        "integrityValid": integrity_valid(report),
        "certificateTrusted": report.trusted,
        "modified": report.modified,
        "signatureFormat": signature_format(report.pades_level),
        "ltv": report.pades_level in ("B-LT", "B-LTA"),
        "lastSignature": number == total,
        "timestampInfomation": timestamp_information(report, info),
        "digestAlgorithm": info.digest_algorithm or None,
        "signatureAlgorithm": info.signature_algorithm or None,
        "certLevelCode": info.docmdp_level or 0,
        "revocationStatus": report.revocation.upper(),
        "modifiedAfterSigning": report.modified,
        "summary": summary(report, english),
        "certificateDetails": [certificate_details(cert) for cert in info.chain],
    }


def answer(check: DocumentCheck, english: bool) -> dict:
    """Return the verification answer: count, description, conclusion and one element per signature."""
    reports = [signature.report for signature in check.signatures]
    verdict = conclusion(reports)
    return {
        "signatureCount": len(reports),
        "description": DESCRIPTIONS[verdict][1 if english else 0],
        "conclusion": verdict,
        "signatureInformations": [
            _element(number, len(reports), report, declared(report), english)
            for number, report in enumerate(reports, start=1)
        ],
    }
