"""The eSign API's verification answer built from Paraf's validation and the signatures' declared content."""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509

from ..domain.keys import SignatureInfo, SignatureReport
from ..domain.signing.validation import DocumentCheck

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


def certificate_details(cert: x509.Certificate) -> dict:
    """Return what the answer says of one certificate."""
    return {
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "X"),
        "notBefore": _iso(cert.not_valid_before),
        "notAfter": _iso(cert.not_valid_after),
        "commonName": cert.subject.native.get("common_name"),
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


def _element(number: int, total: int, report: SignatureReport, info: SignatureInfo, english: bool) -> dict:
    return {
        "id": number,
        "fieldName": report.field_name,
        "signerName": report.signer_name,
        "signatureDate": _iso(report.signing_time),
        "reason": info.reason,
        "location": info.location,
        "contactInfo": info.contact_info,
        "integrityValid": bool(report.intact and report.valid and not report.modified),
        "certificateTrusted": report.trusted,
        "signatureFormat": signature_format(report.pades_level),
        "ltv": report.pades_level in ("B-LT", "B-LTA"),
        "lastSignature": number == total,
        "timestampInfomation": {
            "present": report.timestamp_present,
            "valid": report.timestamp_valid,
            "time": _iso(report.timestamp_time),
            "tsaName": info.tsa_name,
        },
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
            _element(number, len(reports), report, report.declared or UNDECLARED, english)
            for number, report in enumerate(reports, start=1)
        ],
    }
