"""eSign API v1 (multipart), from the contract's shapes: sign visible (image, QR link, text anchor) and invisible with
the PDF as the answer, download by ``id_dokumen`` (own client, within the retention), verify, status by NIK."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asn1crypto import x509
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from app import lifecycle
from app.api.openapi import example_pdf
from app.domain import keys
from app.domain.certificates import after_issuance
from app.extensions import db
from app.models import Account, SignedDocument
from app.models.types import utcnow
from app.platform.audit import Actor
from tests.api_helpers import make_client
from tests.pdfs import first_widget_rect, make_pdf, read_qr
from tests.pki_helpers import pdfsig, validate

pytestmark = pytest.mark.slow

VALIDITY = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def sign(client, caller, document: bytes, headers: dict | None = None, **fields):
    """POST a v1 signing form for the caller's subscriber."""
    form = {"file": (io.BytesIO(document), "surat.pdf"), "nik": caller.nik, "passphrase": caller.subscriber.passphrase,
            **fields}
    return client.post("/api/sign/pdf", data=form, headers={**caller.headers, **(headers or {})},
                       content_type="multipart/form-data")


def signed(response) -> bytes:
    """Return the signed PDF of a 200 answer."""
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/pdf"
    return response.data


def png() -> bytes:
    """Return a small PNG signature image."""
    out = io.BytesIO()
    Image.new("RGB", (90, 40), (20, 40, 120)).save(out, "PNG")
    return out.getvalue()


def test_invisible_signature_answers_the_signed_pdf_with_its_id(app, client, caller):
    original = make_pdf()
    response = sign(client, caller, original, tampilan="INVISIBLE", reason="null", location="Denpasar")
    data = signed(response)
    document_id = response.headers["id_dokumen"]
    assert re.fullmatch(r"[0-9a-f]{32}", document_id)
    assert data.startswith(original)  # an incremental update of that very input
    with app.app_context():
        (report,) = validate(data)
        assert report.ok and report.pades_level == "B-LT"
        record = db.session.execute(select(SignedDocument).where(SignedDocument.public_id == document_id)).scalar_one()
        assert record.account_id == caller.subscriber.id and not record.visible
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0].sig_object
    assert "/Reason" not in sig and sig["/Location"] == "Denpasar"  # "null" reads as empty


def test_visible_with_an_image_goes_where_asked(client, caller):
    original = make_pdf(2)
    data = signed(sign(client, caller, original, tampilan="visible", image="true",
                       imageTTD=(io.BytesIO(png()), "ttd.png"), page="1", xAxis="100", yAxis="120", width="200",
                       height="80"))
    assert first_widget_rect(data) == pytest.approx([100, 120, 300, 200], abs=0.1)
    assert b"/Image" in data[len(original):]  # the signature image is drawn in the stamp
    broken = sign(client, caller, original, tampilan="visible", image="true", imageTTD=(io.BytesIO(b"not an image"), "x.png"))
    assert broken.status_code == 400 and broken.get_json()["field"] == "imageTTD"


def test_visible_with_link_qr_draws_a_qr_code_of_the_link(client, caller, tmp_path):
    link = "https://arsip.contoh.go.id/surat/800-12-2026"
    data = signed(sign(client, caller, make_pdf(), tampilan="Visible", image="false", linkQR=link, page="1",
                       xAxis="300", yAxis="40", width="240", height="100"))
    assert first_widget_rect(data) == pytest.approx([300, 40, 540, 140], abs=0.1)
    assert read_qr(data, tmp_path) == link
    refused = sign(client, caller, make_pdf(), tampilan="visible", image="false", linkQR="javascript:alert(1)")
    assert refused.status_code == 400 and refused.get_json()["field"] == "linkQR"


def test_tag_koordinat_puts_the_stamp_over_the_anchor_and_a_missing_one_is_named(app, client, caller):
    document = example_pdf()
    with app.app_context():
        _page, x, y, _geometry = keys.find_text(document, "#ttd#")
    data = signed(sign(client, caller, document, tampilan="VISIBLE", image="false", tag_koordinat="#ttd#",
                       width="120", height="50", xAxis="null", yAxis="null"))
    left, bottom, right, top = first_widget_rect(data)
    assert (left, bottom, right - left, top - bottom) == pytest.approx((x, y, 120, 50), abs=0.1)
    missing = sign(client, caller, document, tampilan="VISIBLE", tag_koordinat="$tidak-ada$")
    assert missing.status_code == 422 and '"$tidak-ada$"' in missing.get_json()["error"]


def test_refusals_are_the_v2_errors(app, client, caller, make_caller):
    wrong = sign(client, caller, make_pdf(), passphrase="Salah#Sekali2026")
    body = wrong.get_json()
    assert wrong.status_code == 403 and body["status_code"] == 2042 and body["remaining"] == 4
    assert "Passphrase salah" in body["error"]
    stranger = make_caller()  # a subscriber of another agency: answered exactly like an unknown NIK
    outside = sign(client, caller, make_pdf(), nik=stranger.nik)
    unknown = sign(client, caller, make_pdf(), nik="3171000000000000")
    assert outside.status_code == unknown.status_code == 404 and outside.get_json() == unknown.get_json()
    assert sign(client, caller, b"%PDF-1.7 rusak").get_json()["error_code"] == "file_damaged"
    with app.app_context():
        account = db.session.get(Account, caller.subscriber.id)
        lifecycle.apply(account, "account", "suspend", Actor("test"))
        db.session.commit()
    suspended = sign(client, caller, make_pdf())
    assert suspended.status_code == 403 and suspended.get_json()["status_code"] == 2033
    assert client.post("/api/sign/pdf", data={"nik": caller.nik}).status_code == 401  # no credentials


def test_download_is_for_the_signing_client_and_only_within_the_retention(app, client, caller):
    response = sign(client, caller, make_pdf(), tampilan="invisible")
    document_id = response.headers["id_dokumen"]
    again = client.get(f"/api/sign/download/{document_id}", headers=caller.headers)
    assert again.status_code == 200 and again.mimetype == "application/pdf" and again.data == signed(response)
    assert again.headers["id_dokumen"] == document_id
    _name, colleague = make_client(app, [caller.subscriber.agency_id])  # another application of the same agency
    foreign = client.get(f"/api/sign/download/{document_id}", headers=colleague)
    unknown = client.get(f"/api/sign/download/{'0' * 32}", headers=caller.headers)
    assert foreign.status_code == unknown.status_code == 404 and foreign.get_json() == unknown.get_json()
    assert foreign.get_json()["status_code"] == 4701
    with app.app_context():
        record = db.session.execute(select(SignedDocument).where(SignedDocument.public_id == document_id)).scalar_one()
        kept_until, path = record.kept_until, Path(app.instance_path) / record.stored_path
        assert kept_until - utcnow() == pytest.approx(timedelta(hours=app.config["API_V1_RETENTION_HOURS"]),
                                                      abs=timedelta(minutes=5))
        record.kept_until = utcnow() - timedelta(seconds=1)  # the retention ran out; the sweep has not run yet
        db.session.commit()
    assert client.get(f"/api/sign/download/{document_id}", headers=caller.headers).status_code == 404
    with app.app_context():
        assert path.is_file()
        result = after_issuance.sweep()
        db.session.commit()
        assert result.documents >= 1 and not path.is_file()  # the certificate sweep deletes the file
        record = db.session.execute(select(SignedDocument).where(SignedDocument.public_id == document_id)).scalar_one()
        assert record.kept_until is None  # the record behind the stamp's QR code stays


def test_verify_answers_the_v1_shape(app, client, caller):
    data = signed(sign(client, caller, make_pdf(), tampilan="invisible", location="Denpasar"))
    response = client.post("/api/sign/verify", data={"signed_file": (io.BytesIO(data), "surat-ttd.pdf")},
                           headers=caller.headers, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["nama_dokumen"] == "surat-ttd.pdf" and body["jumlah_signature"] == 1 and body["summary"] == "VALID"
    assert isinstance(body["notes"], str) and " " in body["notes"]
    (detail,) = body["details"]
    with app.app_context():
        (report,) = validate(data)
        tsa = x509.Certificate.load(keys.context().hierarchy().tsa).subject.native["common_name"]
    assert detail["signature_field"] == report.field_name
    assert detail["info_signer"]["signer_name"] == report.signer_name
    assert re.fullmatch(VALIDITY, detail["info_signer"]["signer_cert_validity"])
    assert detail["info_tsa"]["name"] == tsa and re.fullmatch(VALIDITY, detail["info_tsa"]["tsa_cert_validity"])
    document = detail["signature_document"]
    assert document["document_integrity"] is True and document["location"] == "Denpasar"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", document["signed_in"])
    jakarta = ZoneInfo("Asia/Jakarta")
    moment = datetime.strptime(document["signed_in"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=jakarta)
    assert abs(datetime.now(jakarta) - moment) < timedelta(minutes=5)
    changed = data.replace(b"(Surat nomor 1)", b"(Surat nomor 9)")  # a signed byte changed
    tampered = client.post("/api/sign/verify", data={"signed_file": (io.BytesIO(changed), "ubah.pdf")},
                           headers=caller.headers, content_type="multipart/form-data").get_json()
    assert tampered["summary"] == "INVALID" and tampered["details"][0]["signature_document"]["document_integrity"] is False
    plain = client.post("/api/sign/verify", data={"signed_file": (io.BytesIO(make_pdf()), "polos.pdf")},
                        headers=caller.headers, content_type="multipart/form-data").get_json()
    assert (plain["jumlah_signature"], plain["summary"], plain["details"]) == (0, "NO_SIGNATURE", [])
    missing = client.post("/api/sign/verify", data={}, headers=caller.headers, content_type="multipart/form-data")
    assert missing.status_code == 400 and missing.get_json()["field"] == "signed_file"


def test_status_by_nik(client, caller, make_caller):
    response = client.get(f"/api/user/status/{caller.nik}", headers=caller.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status_code": 1111, "status": "ISSUE", "message": "Sertifikat aktif."}
    stranger = make_caller()
    outside = client.get(f"/api/user/status/{stranger.nik}", headers=caller.headers).get_json()
    assert (outside["status_code"], outside["status"]) == (2011, "NOT_REGISTERED")
    assert client.get(f"/api/user/status/{caller.nik}").status_code == 401


def test_pdfsig_accepts_a_v1_signed_pdf(client, caller, live_server, nss_db, tmp_path):
    path = tmp_path / "v1.pdf"
    path.write_bytes(signed(sign(client, caller, make_pdf(), tampilan="visible", image="false", page="1",
                                 xAxis="320", yAxis="60", width="240", height="90")))
    out = pdfsig(nss_db, path)
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out
