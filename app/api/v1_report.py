"""The eSign API v1 verification answer (``nama_dokumen``, ``jumlah_signature``, ``details``...), from the same check as v2.

Times are written as the real service writes them, in the agencies' working time zone (``WORK_TIMEZONE``):
``signed_in`` as ``YYYY-MM-DD HH:MM:SS.ffffff``, a certificate's validity as ``<not before> to <not after>``.
``summary`` is v2's conclusion (``VALID``, ``WARNING``, ``INVALID``, ``NO_SIGNATURE``), ``notes`` its sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from asn1crypto import x509

from ..domain.keys import SignatureReport
from ..domain.signing.validation import DocumentCheck
from .verify_report import DESCRIPTIONS, conclusion, declared, distinguished_name, integrity_valid


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(zone)


def signed_in(moment: datetime | None, zone: tzinfo) -> str | None:
    """Return a signing time as ``YYYY-MM-DD HH:MM:SS.ffffff`` in ``zone``."""
    return _local(moment, zone).strftime("%Y-%m-%d %H:%M:%S.%f") if moment is not None else None


def validity(cert: x509.Certificate | None, zone: tzinfo) -> str | None:
    """Return a certificate's validity as ``YYYY-MM-DD HH:MM:SS to YYYY-MM-DD HH:MM:SS`` in ``zone``."""
    if cert is None:
        return None
    start, end = (_local(moment, zone).strftime("%Y-%m-%d %H:%M:%S") for moment in (cert.not_valid_before, cert.not_valid_after))
    return f"{start} to {end}"


def _detail(report: SignatureReport, tsa: x509.Certificate, zone: tzinfo) -> dict:
    info = declared(report)
    leaf = info.chain[0] if info.chain else None
    return {
        "signature_field": report.field_name,
        "info_signer": {
            "signer_name": report.signer_name,
            "signer_cert_validity": validity(leaf, zone),
            "signer_dn": distinguished_name(leaf.subject) if leaf is not None else None,
            "issuer_dn": distinguished_name(leaf.issuer) if leaf is not None else None,
            "cert_user_certified": report.trusted,
        },
        "info_tsa": {
            "name": info.tsa_name if report.timestamp_present else None,
            # a time stamp is valid only when Paraf's own TSA made it, so its certificate is the one to describe
            "tsa_cert_validity": validity(tsa, zone) if report.timestamp_valid else None,
        },
        "signature_document": {
            "document_integrity": integrity_valid(report),
            "signed_in": signed_in(report.signing_time, zone),
            "signed_using_tsa": report.timestamp_valid,
            "reason": info.reason,
            "location": info.location,
        },
    }


def answer(filename: str, check: DocumentCheck, tsa: x509.Certificate, zone: tzinfo, english: bool) -> dict:
    """Return the v1 answer for a checked document; ``tsa`` is Paraf's time-stamping certificate."""
    reports = [signature.report for signature in check.signatures]
    verdict = conclusion(reports)
    return {
        "nama_dokumen": filename,
        "jumlah_signature": len(reports),
        "notes": DESCRIPTIONS[verdict][1 if english else 0],
        "summary": verdict,
        "details": [_detail(report, tsa, zone) for report in reports],
    }
