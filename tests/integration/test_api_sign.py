"""eSign API v2 signing: shapes, order, all-or-nothing, placement, and the refusals with their codes."""

from __future__ import annotations

import base64

import pypdfium2 as pdfium
import pytest
from sqlalchemy import func, select

from app import lifecycle
from app.domain import keys
from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, Certificate, SignedDocument
from app.platform.audit import Actor
from signer.validate import validate_pdf
from tests.api_helpers import b64
from tests.pdfs import make_pdf

pytestmark = pytest.mark.slow


def sign(client, who, files, **fields):
    """POST a signing request for ``who`` (an ApiCaller)."""
    body = {"nik": who.nik, "passphrase": who.subscriber.passphrase, "file": [b64(f) for f in files], **fields}
    return client.post("/api/v2/sign/pdf", json=body, headers=who.headers)


def page_count(data: bytes) -> int:
    """Return the pages of a PDF."""
    document = pdfium.PdfDocument(data)
    try:
        return len(document)
    finally:
        document.close()


def reports(data: bytes):
    """Validate with Paraf's root and current CRLs."""
    hierarchy = keys.context().hierarchy()
    return validate_pdf(data, hierarchy.root, [hierarchy.issuing], crls=[keys.latest_crl(i).der for i in keys.CRL_ISSUERS])


def count_documents(app, account_id: int) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(SignedDocument.id)).where(SignedDocument.account_id == account_id)).scalar()


def test_three_files_signed_in_request_order(app, client, caller):
    files = [make_pdf(pages) for pages in (1, 2, 3)]
    response = sign(client, caller, files, signatureProperties=[
        {"tampilan": "INVISIBLE", "reason": "Satu"},
        {"tampilan": "VISIBLE", "page": 2, "originX": 100, "originY": 100, "width": 200, "height": 80, "location": "Bandung"},
        {"tampilan": "VISIBLE", "page": 3, "originX": 50, "originY": 50, "width": 150, "height": 60, "contactInfo": "tu@x.go.id"},
    ])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"time", "file"} and isinstance(body["time"], int)
    signed = [base64.b64decode(item) for item in body["file"]]
    assert [page_count(item) for item in signed] == [1, 2, 3]
    for original, result in zip(files, signed):
        assert result.startswith(original)  # an incremental update of that very input
    with app.app_context():
        for result in signed:
            (report,) = reports(result)
            assert report.ok and report.pades_level == "B-LT"
    assert count_documents(app, caller.subscriber.id) == 3


def test_one_properties_element_applies_to_all_and_tag_places_stamp(client, caller):
    from app.api.openapi import example_pdf

    response = sign(client, caller, [example_pdf(), example_pdf()],
                    signatureProperties=[{"tampilan": "VISIBLE", "tag": "#ttd#", "width": 120, "height": 50}])
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["file"]) == 2


def test_all_or_nothing_when_one_file_is_bad(app, client, caller):
    response = sign(client, caller, [make_pdf(), b"not a pdf at all"])
    assert response.status_code == 415
    assert response.get_json() == {"status_code": 4103, "message": "Berkas ke-2 bukan PDF.", "error": "Berkas ke-2 bukan PDF.",
                                   "error_code": "file_not_pdf", "index": 2}
    assert count_documents(app, caller.subscriber.id) == 0


@pytest.mark.parametrize(("files", "props", "status", "code"), [
    ([], None, 400, 4006),
    (["!!!"], None, 400, 4102),
    ([""], None, 400, 4101),
    ([b64(b"%PDF-1.7\ngarbage")], None, 422, 4104),
    ([b64(make_pdf(encrypt="rahasia"))], None, 422, 4108),
    ([b64(make_pdf())], [{}, {}], 400, 4201),
    ([b64(make_pdf())], [{"tampilan": "SOMETIMES"}], 400, 4202),
    ([b64(make_pdf())], [{"tampilan": "VISIBLE", "page": 5}], 400, 4203),
    ([b64(make_pdf())], [{"tampilan": "VISIBLE", "width": -1}], 400, 4204),
    ([b64(make_pdf())], [{"tampilan": "VISIBLE", "originX": "kiri"}], 400, 4204),
    ([b64(make_pdf())], [{"tampilan": "VISIBLE", "imageBase64": b64(b"not an image")}], 400, 4205),
    ([b64(make_pdf())], [{"tampilan": "VISIBLE", "tag": "#tidak-ada#"}], 422, 4206),
    ([b64(make_pdf())], "VISIBLE", 400, 4003),
])
def test_bad_input_is_a_4xx_with_its_code(client, caller, files, props, status, code):
    body = {"nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": files}
    if props is not None:
        body["signatureProperties"] = props
    response = client.post("/api/v2/sign/pdf", json=body, headers=caller.headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["status_code"] == code


def test_request_errors(app, client, caller):
    post = lambda body, **kw: client.post("/api/v2/sign/pdf", headers=caller.headers, **body, **kw)
    assert post({"data": b"{not json"}, content_type="application/json").get_json()["status_code"] == 4001
    assert post({"json": [1, 2]}).get_json()["status_code"] == 4001
    assert post({"json": {"nik": caller.nik, "file": []}}).get_json()["status_code"] == 4002
    missing = post({"json": {"passphrase": "x", "file": [b64(make_pdf())]}}).get_json()
    assert missing["status_code"] == 4002 and missing["field"] == "nik/email"
    totp_only = post({"json": {"nik": caller.nik, "totp": "123456", "file": [b64(make_pdf())]}})
    assert totp_only.status_code == 400 and totp_only.get_json()["status_code"] == 4007
    assert "passphrase" in totp_only.get_json()["message"]
    app.config["API_MAX_FILES"] = 2
    try:
        many = post({"json": {"nik": caller.nik, "passphrase": "x", "file": [b64(make_pdf())] * 3}})
        assert many.status_code == 400 and many.get_json()["status_code"] == 4005
    finally:
        app.config["API_MAX_FILES"] = 10


def test_body_too_large_is_413_json(app, client, caller):
    app.config["API_MAX_BODY_BYTES"] = 10_000
    try:
        response = sign(client, caller, [make_pdf()] * 1, padding="x" * 20_000)
    finally:
        app.config["API_MAX_BODY_BYTES"] = 50 * 1024 * 1024
    assert response.status_code == 413 and response.get_json()["status_code"] == 4004


def test_file_too_large_is_413_json(app, client, caller):
    app.config["MAX_PDF_BYTES"] = 1000
    try:
        response = sign(client, caller, [make_pdf(5)])
    finally:
        app.config["MAX_PDF_BYTES"] = 20 * 1024 * 1024
    assert response.status_code == 413 and response.get_json()["status_code"] == 4107


def test_wrong_passphrase_counts_then_locks(app, client, caller):
    wrong = {"passphrase": "salah"}
    first = client.post("/api/v2/sign/pdf", headers=caller.headers,
                        json={"nik": caller.nik, "file": [b64(make_pdf())], **wrong})
    assert first.status_code == 403
    sentence = "Passphrase salah. Sisa 4 percobaan sebelum penandatanganan dikunci."
    assert first.get_json() == {"status_code": 2042, "error_code": "wrong_passphrase", "remaining": 4,
                                "error": sentence, "message": sentence}
    english = client.post("/api/v2/sign/pdf", headers={**caller.headers, "Accept-Language": "en-US,en;q=0.9"},
                          json={"nik": caller.nik, "file": [b64(make_pdf())], **wrong})
    assert english.get_json()["message"] == "Wrong passphrase. 3 tries left before signing locks."
    for _ in range(3):
        last = client.post("/api/v2/sign/pdf", headers=caller.headers, json={"nik": caller.nik, "file": [b64(make_pdf())], **wrong})
    assert last.status_code == 423 and last.get_json()["status_code"] == 2041
    locked = sign(client, caller, [make_pdf()])
    assert locked.status_code == 423 and locked.get_json()["status_code"] == 2041


@pytest.mark.parametrize(("change", "code"), [
    ("suspended", 2033), ("update", 2034), ("revoked", 2032), ("expired", 2031), ("activated", 2012),
])
def test_subscribers_who_cannot_sign_are_refused(app, client, caller, change, code):
    from datetime import timedelta

    from app.models.types import utcnow

    with app.app_context():
        account = db.session.get(Account, caller.subscriber.id)
        certificate = db.session.get(Certificate, caller.subscriber.certificate_id)
        if change == "suspended":
            lifecycle.apply(account, "account", "suspend", Actor("ra-test"), reason="akun diambil alih")
        elif change == "update":
            lifecycle.apply(account, "account", "request_update", Actor("verifier-test"))
        elif change == "activated":
            account.status = AccountStatus.ACTIVATED
        elif change == "revoked":
            keys.revoke(certificate, "unspecified", Actor("test"))
        else:
            certificate.not_after = utcnow() - timedelta(days=1)
        db.session.commit()
    response = sign(client, caller, [make_pdf()])
    assert response.status_code == 403 and response.get_json()["status_code"] == code


def test_unknown_and_out_of_scope_subscribers_look_the_same(app, client, caller, make_caller):
    other = make_caller()
    unknown = client.post("/api/v2/sign/pdf", headers=caller.headers,
                          json={"nik": "9999999999999999", "passphrase": "x", "file": [b64(make_pdf())]})
    foreign = client.post("/api/v2/sign/pdf", headers=caller.headers,
                          json={"nik": other.nik, "passphrase": other.subscriber.passphrase, "file": [b64(make_pdf())]})
    assert unknown.status_code == foreign.status_code == 404
    assert unknown.get_json() == foreign.get_json()
    assert foreign.get_json()["status_code"] == 2011
    assert count_documents(app, other.subscriber.id) == 0


def test_authentication(app, client, caller):
    for headers in ({}, {"Authorization": "Basic bm9ib2R5Ondyb25n"}, {"Authorization": "Bearer x"},
                    {**caller.headers, "Authorization": caller.headers["Authorization"][:-4] + "AAAA"}):
        response = client.post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=headers)
        assert response.status_code == 401
        body = response.get_json()
        assert set(body) == {"timestamp", "status", "error", "path"}
        assert body["status"] == 401 and body["error"] == "Unauthorized" and body["path"] == "/api/v2/user/check/status"
    from app.domain.accounts import api_clients
    from app.platform.audit import Actor

    with app.app_context():
        api_clients.disable(api_clients.by_name(caller.client_name), Actor("test"))
        db.session.commit()
    assert client.post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=caller.headers).status_code == 401


def rotated_pdf(rotation: int) -> bytes:
    """Return a one-page A4 PDF shown rotated by ``rotation`` degrees."""
    import io

    from pyhanko.pdf_utils.generic import NumberObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = NumberObject(rotation)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def widget_rect(data: bytes) -> list[float]:
    """Return the /Rect of the (only) signature widget."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Kids"][0].get_object()
    (widget,) = [annot.get_object() for annot in page["/Annots"]]
    return [round(float(v), 1) for v in widget["/Rect"]]


def test_coordinates_follow_the_shown_page_and_an_image_is_drawn(client, caller):
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (60, 30), (200, 30, 30)).save(png, format="PNG")
    props = {"tampilan": "VISIBLE", "page": 1, "originX": 10, "originY": 20, "width": 100, "height": 50,
             "imageBase64": b64(png.getvalue())}
    response = sign(client, caller, [make_pdf(), rotated_pdf(90)], signatureProperties=[props])
    assert response.status_code == 200, response.get_json()
    plain, rotated = (base64.b64decode(item) for item in response.get_json()["file"])
    assert widget_rect(plain) == [10.0, 20.0, 110.0, 70.0]
    assert widget_rect(rotated) == [525.0, 10.0, 575.0, 110.0]  # 90°: x from the right edge of user space
