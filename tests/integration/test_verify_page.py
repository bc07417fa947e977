"""Public verification (F8): an uploaded PDF's signatures, and the record behind a stamp's QR code."""

from __future__ import annotations

import hashlib
import io
import subprocess

import cv2
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import select

from app.domain import keys
from app.domain.signing import signatures
from app.domain.signing.signatures import Details, Placement, Upload
from app.extensions import db
from app.models import Certificate
from app.platform.audit import Actor
from tests.auth_helpers import send_csrf
from tests.pdfs import make_pdf
from tests.subscribers import signed_in_client


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def check(client, data: bytes, name: str = "surat.pdf", **headers):
    """Upload a PDF to the public verification page."""
    return client.post("/verify", data={"file": (io.BytesIO(data), name, "application/pdf")},
                       content_type="multipart/form-data", headers=headers)


def public_client(app):
    """Return an anonymous client that sends the CSRF token."""
    return send_csrf(app.test_client())


@pytest.fixture()
def signed(app, subscriber_with_certificate):
    """Sign a PDF for the subscriber through the service; return (subscriber, record public id, signed bytes)."""
    person = subscriber_with_certificate
    with app.test_request_context("/"):
        from app.models import Account

        account = db.session.get(Account, person.id)
        [(document, data)] = signatures.sign_documents(
            account, person.passphrase, [Upload("nota-dinas.pdf", make_pdf(2))], Placement(page=0, box=(300, 40, 540, 130)),
            Details(reason="Menyetujui", location="Kupang"), Actor("test"),
        )
        db.session.commit()
        return person, document.public_id, data


def test_verify_page_is_public_and_has_a_form(app):
    page = text(app.test_client().get("/verify"))
    assert 'type="file"' in page and "Verifikasi dokumen" in page and 'name="csrf_token"' in page


def test_signed_pdf_is_intact_trusted_and_b_lt(app, signed):
    person, public_id, data = signed
    response = check(public_client(app), data)
    assert response.status_code == 200
    page = text(response)
    assert "1 tanda tangan ditemukan." in page
    for expected in ("Utuh", "Tepercaya (Paraf Root CA)", "Tidak dicabut", "B-LT", person.name, person.position,
                     "Tidak ada</span>", hashlib.sha256(data).hexdigest(), f"/verify/{public_id}"):
        assert expected in page, expected
    assert 'class="verdict ok">Sah' in page and "Bermasalah" not in page
    assert 'class="badge ISSUE">ISSUE' in page
    assert "WIB" in page


def test_signed_pdf_over_htmx_returns_the_result_fragment(app, signed):
    _person, _public_id, data = signed
    response = check(public_client(app), data, **{"HX-Request": "true"})
    assert response.status_code == 200 and text(response).startswith('<div id="verify-result">')


def test_pdf_changed_after_signing_is_reported(app, signed):
    _person, _public_id, data = signed
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 60 750 300 40 re f")))
    out = io.BytesIO()
    writer.write(out)
    page = text(check(public_client(app), out.getvalue(), "diubah.pdf"))
    assert "Ya: dokumen diubah setelah ditandatangani" in page
    assert "Bermasalah" in page
    assert "Utuh" in page  # the signed bytes themselves are unchanged
    assert "/verify/" in page  # the earlier revision is still Paraf's record


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("kosong.pdf", b"", "kosong.pdf kosong"),
        ("teks.pdf", b"hanya teks", "teks.pdf bukan PDF"),
        ("kunci.pdf", make_pdf(encrypt="x"), "kunci.pdf terenkripsi"),
        ("rusak.pdf", make_pdf()[:300], "rusak.pdf rusak"),
    ],
)
def test_bad_files_get_a_clear_message(app, name, data, message):
    response = check(public_client(app), data, name)
    assert response.status_code == 422 and message in text(response)


def test_no_file_and_unsigned_pdf(app):
    client = public_client(app)
    response = client.post("/verify", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Pilih berkas PDF" in text(response)
    assert "tidak memuat tanda tangan elektronik" in text(check(client, make_pdf()))


def test_too_large_for_the_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    response = check(public_client(app), make_pdf() + b"%" + b"x" * 5000)
    assert response.status_code == 413 and "Berkas terlalu besar untuk diperiksa" in text(response)


def test_record_shows_hash_and_status_without_the_document_to_strangers(app, signed, make_subscriber_with_certificate):
    person, public_id, data = signed
    anonymous = app.test_client().get(f"/verify/{public_id}")
    assert anonymous.status_code == 200
    page = text(anonymous)
    assert hashlib.sha256(data).hexdigest() in page and person.name in page and person.position in page
    assert 'id="certificate-status">ISSUE' in page
    assert "nota-dinas.pdf" not in page and "/dokumen" not in page
    assert app.test_client().get(f"/verify/{public_id}/dokumen").status_code == 404

    stranger = signed_in_client(app, make_subscriber_with_certificate(name="Orang Lain").user_id)
    assert "/dokumen" not in text(stranger.get(f"/verify/{public_id}"))
    assert stranger.get(f"/verify/{public_id}/dokumen").status_code == 404

    owner = signed_in_client(app, person.user_id)
    own = text(owner.get(f"/verify/{public_id}"))
    assert "nota-dinas.pdf" in own and f"/verify/{public_id}/dokumen" in own
    download = owner.get(f"/verify/{public_id}/dokumen")
    assert download.status_code == 200 and download.data == data


def test_unknown_record_is_404(app):
    response = app.test_client().get("/verify/" + "0" * 32)
    assert response.status_code == 404 and "tidak ditemukan" in text(response)


def test_revoked_certificate_shows_on_the_record_and_the_report(app, signed):
    person, public_id, data = signed
    with app.app_context():
        certificate = db.session.get(Certificate, person.certificate_id)
        keys.revoke(certificate, "key_compromise", Actor("test"))
        db.session.commit()
    page = text(app.test_client().get(f"/verify/{public_id}"))
    assert 'id="certificate-status">REVOKE' in page and "key_compromise" in page
    report = text(check(public_client(app), data))
    # time-stamped before the revocation, with revocation data of that time: the signature stays valid,
    # and the report says the certificate has been revoked since
    assert 'class="badge REVOKE">REVOKE' in report and "key_compromise" in report
    assert "Dicabut setelah dokumen ini ditandatangani" in report


def test_verification_is_audited(app, signed):
    _person, _public_id, data = signed
    check(public_client(app), data)
    with app.app_context():
        from app.models import AuditEvent

        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "document.verify").order_by(AuditEvent.id.desc())
        ).scalars().first()
        assert event is not None and hashlib.sha256(data).hexdigest() in str(event.details)


def test_english_report(app, signed):
    _person, public_id, data = signed
    client = public_client(app)
    client.get("/verify?lang=en")
    page = text(check(client, data))
    assert "Intact" in page and "Trusted (Paraf Root CA)" in page and "Utuh" not in page
    assert "Signature record" in text(client.get(f"/verify/{public_id}"))


def test_stamp_qr_points_to_the_record(app, signed, tmp_path):
    _person, public_id, data = signed
    path = tmp_path / "qr.pdf"
    path.write_bytes(data)
    url = ""
    for dpi in (300, 200, 150, 400):  # OpenCV's detector misses some renderings; another resolution finds it
        prefix = tmp_path / f"qr{dpi}"
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(path), str(prefix)], check=True, timeout=60)
        image = cv2.imread(str(next(tmp_path.glob(f"qr{dpi}*.png"))))
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            url = detector.detectAndDecode(image)[0]
            if url:
                break
        if url:
            break
    assert url == f"{app.config['PUBLIC_BASE_URL']}/verify/{public_id}"
    assert app.test_client().get(url.removeprefix(app.config["PUBLIC_BASE_URL"])).status_code == 200
