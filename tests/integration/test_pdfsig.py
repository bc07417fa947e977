"""Signed PDFs checked by poppler's pdfsig (NSS) against the live OCSP responder, and by pyHanko."""

from __future__ import annotations

from app.domain import keys
from app.extensions import db
from signer.stamp import Stamp
from tests.conftest import PASSPHRASE
from tests.pdfs import make_pdf
from tests.pki_helpers import pdfsig, validate


def test_pdfsig_accepts_a_b_lt_signature_as_valid_and_trusted(live_server, nss_db, issue_certificate, tmp_path):
    certificate = issue_certificate("Bambang Pamungkas")
    [signed] = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()], reason="Menyetujui", location="Jakarta")
    db.session.commit()
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    out = pdfsig(nss_db, path)
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "Signer Certificate Common Name: Bambang Pamungkas" in out, out

    [report] = validate(signed)
    assert report.intact and report.valid and report.trusted, report.findings
    assert report.pades_level == "B-LT" and report.timestamp_valid and not report.modified


def test_second_signature_keeps_the_first_valid(live_server, nss_db, issue_certificate, tmp_path):
    first, second = issue_certificate("Kartini Wulandari"), issue_certificate("Ahmad Dahlan")
    [once] = keys.sign_pdfs(first, PASSPHRASE, [make_pdf()], page=0, box=(40, 60, 300, 140), stamp=Stamp(name="Kartini Wulandari", position="Kepala Bagian Umum"))
    [twice] = keys.sign_pdfs(second, PASSPHRASE, [once], page=0, box=(310, 60, 570, 140), stamp=Stamp(name="Ahmad Dahlan", position="Sekretaris Daerah"))
    db.session.commit()
    path = tmp_path / "twice.pdf"
    path.write_bytes(twice)

    out = pdfsig(nss_db, path)
    assert out.count("Signature is Valid.") == 2, out
    assert out.count("Certificate is Trusted.") == 2, out

    reports = validate(twice)
    assert [r.signer_name for r in reports] == ["Kartini Wulandari", "Ahmad Dahlan"]
    assert all(r.intact and r.valid and r.trusted for r in reports), [r.findings for r in reports]
    assert not reports[0].modified  # the later revision only added a signature and its validation data


def test_pdfsig_reports_a_revoked_signer(live_server, nss_db, issue_certificate, tmp_path):
    from app.platform.audit import Actor

    certificate = issue_certificate("Rudi Hartono")
    [signed] = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()], level="B-B")
    keys.revoke(certificate, "key_compromise", Actor("test"))
    db.session.commit()
    path = tmp_path / "revoked.pdf"
    path.write_bytes(signed)
    out = pdfsig(nss_db, path)
    assert "Signature is Valid." in out  # the bytes are intact ...
    assert "Certificate has been Revoked." in out, out  # ... but NSS asked the live OCSP responder
