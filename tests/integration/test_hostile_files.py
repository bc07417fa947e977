"""Hostile files: each bomb of tests/bombs.py answers 4xx naming its bound within the deadline and the next request
is served; the sandbox's deadline, memory limit and isolation; thumbnails and evidence images within their pixels."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.domain import keys
from app.domain.accounts import evidence
from app.domain.key_errors import DocumentOverLimit
from app.domain.signing import signatures
from app.domain.signing.signatures import Details, Placement, Upload
from app.extensions import db
from app.models import Account
from app.platform.audit import Actor
from tests import bombs
from tests.api_helpers import b64
from tests.auth_helpers import send_csrf
from tests.pdfs import make_pdf
from tests.subscribers import signed_in_client

DEADLINE = 4  # PDF_CHECK_SECONDS in these tests
SLACK = 6  # seconds on top of the deadline for the request around the check (a busy shared machine)


@pytest.fixture()
def bounded(app, monkeypatch):
    """Return the app with a short sandbox deadline."""
    monkeypatch.setitem(app.config, "PDF_CHECK_SECONDS", DEADLINE)
    return app


@pytest.fixture(scope="module")
def deflate_bomb() -> bytes:
    """Return the 1 MB PDF whose content stream inflates to 1 GB."""
    return bombs.deflate_bomb()


def post_file(client, path: str, field: str, data: bytes):
    """POST one PDF as a multipart form encoded in memory (werkzeug would spool a large body into a file it never closes)."""
    boundary, body = encode_multipart(MultiDict({field: FileStorage(io.BytesIO(data), "bom.pdf", content_type="application/pdf")}))
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def verify_page(app, data: bytes):
    """Upload a PDF to the public verification page."""
    return post_file(send_csrf(app.test_client()), "/verify", "file", data)


def portal_upload(client, data: bytes):
    """Upload a PDF to sign in the portal."""
    return post_file(client, "/tandatangan", "files", data)


def api_sign(app, caller, data: bytes, visible: bool = True):
    """Ask the eSign API to sign a PDF, with a visible stamp on page 1 or invisibly."""
    props = {"tampilan": "VISIBLE", "page": 1, "originX": 10, "originY": 10} if visible else {"tampilan": "INVISIBLE"}
    return app.test_client().post("/api/v2/sign/pdf", headers=caller.headers, json={
        "nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": [b64(data)], "signatureProperties": [props]})


def api_verify(app, caller, data: bytes):
    """Ask the eSign API to verify a PDF."""
    return app.test_client().post("/api/v2/verify/pdf", headers=caller.headers, json={"file": b64(data)})


def timed(call, *args, **kwargs):
    """Return the response of ``call`` and the seconds it took."""
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


def assert_still_serving(app):
    """The next ordinary verification is answered."""
    response = verify_page(app, make_pdf())
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


# bomb -> (portal upload status and words, API sign status and code, verify page status and words)
CASES = {
    "many_pages": (bombs.many_pages, (422, "lebih dari 2000 halaman"), (413, 4109), (413, "lebih dari 2000 halaman")),
    "huge_page": (bombs.huge_page, (422, "14400 pt"), (413, 4112), (200, "tidak memuat tanda tangan")),
    "deep_nesting": (bombs.deep_nesting, (422, "rusak"), (422, 4104), (422, "rusak")),
    "huge_xref_size": (bombs.huge_xref_size, (422, "terlalu rumit"), (413, 4113), (413, "terlalu rumit")),
}


@pytest.mark.parametrize("name", CASES)
def test_bomb_answers_4xx_within_the_deadline_and_the_next_request_is_served(bounded, caller, name):
    app = bounded
    build, (portal_status, portal_words), (api_status, api_code), (verify_status, verify_words) = CASES[name]
    data = build()
    client = signed_in_client(app, caller.subscriber.user_id)
    for response, seconds, status, words in (
        (*timed(portal_upload, client, data), portal_status, portal_words),
        (*timed(verify_page, app, data), verify_status, verify_words),
    ):
        body = response.get_data(as_text=True)
        assert response.status_code == status and words in body, (response.status_code, body[-600:])
        assert seconds < DEADLINE + SLACK
    response, seconds = timed(api_sign, app, caller, data)
    assert (response.status_code, response.get_json()["status_code"]) == (api_status, api_code), response.get_json()
    assert seconds < DEADLINE + SLACK
    assert_still_serving(app)


def test_deflate_bomb_is_refused_by_the_decoded_bytes_bound(bounded, caller, deflate_bomb):
    app = bounded
    assert len(deflate_bomb) < 1.1 * bombs.MB
    client = signed_in_client(app, caller.subscriber.user_id)
    response, seconds = timed(portal_upload, client, deflate_bomb)
    assert response.status_code == 422 and "melebihi 200 MB" in response.get_data(as_text=True)
    assert seconds < DEADLINE + SLACK
    for visible in (True, False):
        response = api_sign(app, caller, deflate_bomb, visible)
        assert (response.status_code, response.get_json()["status_code"]) == (413, 4111)
    response = verify_page(app, deflate_bomb)  # verification does not decode page content: nothing to refuse
    assert response.status_code == 200 and "tidak memuat tanda tangan" in response.get_data(as_text=True)
    assert_still_serving(app)


def test_decoded_bytes_bound_is_the_configured_one(bounded, caller, monkeypatch):
    monkeypatch.setitem(bounded.config, "PDF_MAX_DECODED_MB", 50)
    response = api_sign(bounded, caller, bombs.deflate_bomb(64 * bombs.MB), visible=False)
    assert (response.status_code, response.get_json()["status_code"]) == (413, 4111)
    assert "50 MB" in response.get_json()["message"]


def test_deflate_bomb_in_pdfium_costs_only_its_child(bounded, deflate_bomb):
    with bounded.test_request_context():
        started = time.perf_counter()
        with pytest.raises(DocumentOverLimit) as refused:
            keys.page_geometry(deflate_bomb)  # PDFium inflates the content stream: past RLIMIT_AS, the child dies
        assert refused.value.limit == "check" and "terlalu rumit" in refused.value.message
        assert time.perf_counter() - started < DEADLINE + SLACK
        assert len(keys.page_geometry(make_pdf(2))) == 2  # a fresh child serves the next file


@pytest.fixture()
def fields_bomb(app, subscriber_with_certificate) -> bytes:
    """Return a signed PDF with 400 more signature fields holding its one signature (about 150 KB)."""
    person = subscriber_with_certificate
    with app.test_request_context("/"):
        account = db.session.get(Account, person.id)
        [(_document, data)] = signatures.sign_documents(
            account, person.passphrase, [Upload("surat.pdf", make_pdf())], Placement(), Details(), Actor("test"))
        db.session.commit()
    return bombs.fields_on_one_signature(data)


def test_400_fields_on_one_signature_are_refused_by_the_signature_bound(bounded, caller, fields_bomb):
    response, seconds = timed(verify_page, bounded, fields_bomb)
    assert response.status_code == 413 and "lebih dari 50 tanda tangan" in response.get_data(as_text=True)
    assert seconds < DEADLINE + SLACK
    response = api_verify(bounded, caller, fields_bomb)
    assert (response.status_code, response.get_json()["status_code"]) == (413, 4110)
    assert_still_serving(bounded)


def test_validation_past_the_deadline_is_killed(bounded, caller, fields_bomb, monkeypatch):
    monkeypatch.setitem(bounded.config, "PDF_MAX_SIGNATURES", 1000)  # only the deadline stands in the way now
    response, seconds = timed(verify_page, bounded, fields_bomb)
    assert response.status_code == 413 and "terlalu rumit" in response.get_data(as_text=True)
    assert DEADLINE <= seconds < DEADLINE + SLACK
    response = api_verify(bounded, caller, fields_bomb)
    assert (response.status_code, response.get_json()["status_code"]) == (413, 4113)
    assert_still_serving(bounded)


def test_tall_page_thumbnail_stays_within_the_pixel_budget(bounded, caller):
    client = signed_in_client(bounded, caller.subscriber.user_id)
    response = portal_upload(client, bombs.tall_page())
    assert response.status_code == 303
    thumbnail = client.get(response.headers["Location"] + "/halaman/0/0.png")
    assert thumbnail.status_code == 200
    image = Image.open(io.BytesIO(thumbnail.data))
    assert image.width * image.height <= bounded.config["THUMBNAIL_MAX_PIXELS"]
    assert image.height > 10 * image.width  # still the page's shape, only smaller


def test_sandbox_children_hold_no_hsm_session(bounded):
    with bounded.test_request_context():
        maps = bounded.extensions["paraf.sandbox"].run(bombs.mapped_files, seconds=DEADLINE)
    assert "softhsm" not in maps and "pdfium" in maps
    with open("/proc/self/maps") as own:
        assert "softhsm" in own.read()  # the worker itself has the HSM module loaded


def _png_header(width: int, height: int) -> bytes:
    """Return the start of a grayscale PNG of ``width`` x ``height`` (enough for any decoder to allocate it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IDAT\x35\xaf\x06\x1e"


def test_evidence_image_pixels_are_checked_before_decoding(app, monkeypatch):
    import cv2

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with app.test_request_context(), pytest.raises(evidence.EvidenceRefused, match="megapiksel"):
        evidence.check("foto.png", _png_header(30000, 30000))
