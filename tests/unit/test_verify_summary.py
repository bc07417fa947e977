"""The eSign API's per-signature ``summary``: sentences from the validator's findings, Indonesian or English."""

from __future__ import annotations

import pytest

from app.api.verify_report import summary
from signer.validate import SignatureReport

GOOD = dict(
    field_name="Signature1", signer_name="Budi", signer_serial=1, signing_time=None, intact=True, valid=True,
    trusted=True, problem=None, revocation="good", revocation_checked=True, revoked_at=None, covers_whole_file=True,
    modification_level="none", modified=False, timestamp_present=True, timestamp_valid=True, timestamp_time=None,
    pades_level="B-LT", ok=True,
)


def report(**changes) -> SignatureReport:
    """Return a report of a good B-LT signature with ``changes``."""
    return SignatureReport(**{**GOOD, **changes})


@pytest.mark.parametrize(
    ("changes", "findings", "indonesian", "english"),
    [
        ({}, ("trusted",), "Tanda tangan sah dan sertifikat tepercaya; PAdES B-LT.",
         "The signature is valid and the certificate trusted; PAdES B-LT."),
        ({"intact": False, "modified": True}, ("broken",),
         "Tanda tangan rusak: dokumen atau tanda tangan telah diubah.",
         "The signature is broken: the document or the signature has been changed."),
        ({"trusted": False, "revocation": "revoked"}, ("revoked",),
         "Sertifikat penanda tangan telah dicabut; PAdES B-LT.", "The signer's certificate has been revoked; PAdES B-LT."),
        ({"trusted": False, "problem": "TRY_LATER", "revocation": "unknown", "pades_level": "B-T"},
         ("revocation_outdated",), "Tanda tangan utuh tetapi data pencabutan sertifikat sudah kedaluwarsa; PAdES B-T.",
         "The signature is intact but the certificate's revocation data is out of date; PAdES B-T."),
        ({"revocation": "unknown", "modified": True, "modification_level": "other", "timestamp_valid": False,
          "pades_level": None},
         ("trusted", "revocation_unchecked", "modified", "timestamp_invalid"),
         "Tanda tangan sah dan sertifikat tepercaya; status pencabutan tidak dapat diperiksa; "
         "dokumen diubah setelah ditandatangani; cap waktu tidak sah.",
         "The signature is valid and the certificate trusted; its revocation status cannot be checked; "
         "the document was changed after signing; the time stamp is not valid."),
        ({"trusted": False, "problem": "NO_CERTIFICATE_CHAIN_FOUND", "modification_level": "annotations"},
         ("untrusted", "changes_allowed"),
         "Tanda tangan utuh tetapi sertifikat tidak tepercaya; ada perubahan yang diizinkan setelah penandatanganan; "
         "PAdES B-LT.",
         "The signature is intact but the certificate is not trusted; permitted changes were made after signing; "
         "PAdES B-LT."),
    ],
    ids=["trusted", "broken", "revoked", "outdated", "qualified", "untrusted"],
)
def test_summary_puts_the_findings_into_words(changes, findings, indonesian, english):
    checked = report(**changes)
    assert checked.findings == findings
    assert summary(checked, english=False) == indonesian
    assert summary(checked, english=True) == english
