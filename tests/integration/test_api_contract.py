"""eSign API v2 answers checked against the shapes of the contract (docs/esign-api-v2.md): verify keys, text anchors,
``"null"`` strings and error sentences."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from app.api.openapi import example_pdf
from app.domain import keys
from tests.api_helpers import b64
from tests.pdfs import make_pdf

pytestmark = pytest.mark.slow

HEX_ID = r"[0-9A-F]{64}"


def post(client, caller, path, body, **headers):
    """POST JSON with the caller's client credentials."""
    return client.post(path, json=body, headers={**caller.headers, **headers})


def sign(client, caller, data: bytes, headers: dict | None = None, **fields):
    """Sign one PDF through the API; return the response."""
    body = {"nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": [b64(data)], **fields}
    return post(client, caller, "/api/v2/sign/pdf", body, **(headers or {}))


def signed(response) -> bytes:
    """Return the one signed PDF of a 200 signing answer."""
    assert response.status_code == 200, response.get_json()
    (item,) = response.get_json()["file"]
    return base64.b64decode(item)


def iso(value) -> datetime:
    """Parse an ISO 8601 time that must carry its offset."""
    assert isinstance(value, str), value
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value
    return moment


def leaf_certificate(client, caller) -> x509.Certificate:
    """Return the caller's certificate from the chain call."""
    chain = client.get(f"/api/v2/user/certificate/chain/{caller.nik}", headers=caller.headers).get_json()["data"]
    return x509.Certificate.load(base64.b64decode(chain[0]))


def test_verify_answer_has_every_contract_key_typed(app, client, caller):
    with app.app_context():
        tsa = x509.Certificate.load(keys.published_certificate("tsa")).subject.native["common_name"]
    data = signed(sign(client, caller, make_pdf()))
    data = signed(sign(client, caller, data))
    response = post(client, caller, "/api/v2/verify/pdf", {"file": [b64(data)]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["signatureCount"] == 2 and body["conclusion"] == "VALID"
    assert isinstance(body["description"], str) and body["description"]
    infos = body["signatureInformations"]
    assert len(infos) == 2
    leaf = leaf_certificate(client, caller)
    for number, info in enumerate(infos, start=1):
        assert re.fullmatch(f"S-{HEX_ID}", info["id"]), info["id"]
        assert isinstance(info["fieldName"], str) and info["fieldName"]
        assert info["signerName"] == caller.subscriber.name
        iso(info["signatureDate"])
        for key in ("reason", "location"):
            assert key in info and (info[key] is None or isinstance(info[key], str))
        assert info["integrityValid"] is True and info["certificateTrusted"] is True and info["modified"] is False
        assert info["signatureFormat"] == "PAdES-BASELINE-LT" and info["ltv"] is True
        assert info["lastSignature"] is (number == 2)
        assert info["digestAlgorithm"] == "SHA-256" and info["signatureAlgorithm"] == "SHA256withRSA"
        assert isinstance(info["certLevelCode"], int) and not isinstance(info["certLevelCode"], bool)

        stamp = info["timestampInfomation"]
        assert re.fullmatch(f"T-{HEX_ID}", stamp["id"]), stamp
        assert stamp["signerName"] == tsa
        assert abs((iso(stamp["timestampDate"]) - iso(info["signatureDate"])).total_seconds()) < 60

        details = info["certificateDetails"]
        assert len(details) >= 2
        first = details[0]  # the leaf first, then its issuer
        assert first["id"] == "C-" + hashlib.sha256(leaf.dump()).hexdigest().upper()
        assert first["commonName"] == caller.subscriber.name
        assert first["serialNumber"] == str(leaf.serial_number) and first["serialNumber"].isdigit()
        assert first["issuerName"].startswith("C=ID,") and first["issuerName"].endswith(f",CN={details[1]['commonName']}")
        assert "O=" in first["issuerName"]
        assert iso(first["notBeforeDate"]) < iso(first["notAfterDate"])
        assert first["signatureAlgoritm"] == "RSA with SHA256"
        assert {"digitalSignature", "nonRepudiation"} <= set(first["keyUsages"])
        assert "keyCertSign" in details[1]["keyUsages"]
        for detail in details:
            assert re.fullmatch(f"C-{HEX_ID}", detail["id"]) and isinstance(detail["keyUsages"], list)
    assert infos[0]["id"] != infos[1]["id"] and infos[0]["timestampInfomation"]["id"] != infos[1]["timestampInfomation"]["id"]
    again = post(client, caller, "/api/v2/verify/pdf", {"file": b64(data)}).get_json()
    assert [info["id"] for info in again["signatureInformations"]] == [info["id"] for info in infos]  # stable ids


def widget_rect(data: bytes) -> list[float]:
    """Return the /Rect of the first page's only signature widget."""
    page = PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Kids"][0].get_object()
    (widget,) = [annot.get_object() for annot in page["/Annots"]]
    return [float(value) for value in widget["/Rect"]]


@pytest.mark.parametrize("name", ["tag_koordinat", "tag"])
def test_text_anchor_places_the_stamp_over_the_text(app, client, caller, name):
    document = example_pdf()
    with app.app_context():
        page, x, y, _geometry = keys.find_text(document, "#ttd#")
    assert page == 0 and x > 100  # "Contoh surat #ttd#" starts at x = 72: the anchor is further right
    response = sign(client, caller, document, signatureProperties=[
        {"tampilan": "VISIBLE", name: "#ttd#", "width": 120, "height": 50, "originX": "null", "originY": "null"}])
    left, bottom, right, top = widget_rect(signed(response))
    assert (left, bottom) == pytest.approx((x, y), abs=0.1)  # the stamp starts on the anchor and covers it
    assert (right - left, top - bottom) == pytest.approx((120, 50), abs=0.1)


def test_missing_anchor_is_a_4xx_naming_the_text(app, client, caller):
    for headers, words in (({}, "tidak ditemukan"), ({"Accept-Language": "en"}, "not found")):
        response = sign(client, caller, example_pdf(),
                        headers, signatureProperties=[{"tampilan": "VISIBLE", "tag_koordinat": "$tidak-ada$"}])
        assert response.status_code == 422
        body = response.get_json()
        assert body["status_code"] == 4206 and body["error_code"] == "tag_not_found" and body["tag"] == "$tidak-ada$"
        assert '"$tidak-ada$"' in body["error"] and words in body["error"]


def sig_object(data: bytes) -> dict:
    """Return the signature dictionary of the PDF's last signature."""
    return PdfFileReader(io.BytesIO(data)).embedded_signatures[-1].sig_object


def test_null_strings_are_read_as_empty(client, caller):
    nulls = {"reason": "null", "location": "null", "contactInfo": "NULL", "imageBase64": "null", "page": "null"}
    document = signed(sign(client, caller, make_pdf(), totp="null", signatureProperties=[
        {"tampilan": "VISIBLE", "originX": 50, "originY": 50, "width": 100, "height": 40, **nulls}]))
    declared = sig_object(document)
    for key in ("/Reason", "/Location", "/ContactInfo"):
        assert key not in declared, (key, declared.get(key))
    with_text = signed(sign(client, caller, make_pdf(), signatureProperties=[{"reason": "Setuju", "location": "Bandung"}]))
    assert (str(sig_object(with_text)["/Reason"]), str(sig_object(with_text)["/Location"])) == ("Setuju", "Bandung")


def test_error_is_a_sentence_in_the_request_language(client, caller):
    wrong = {"nik": caller.nik, "passphrase": "Salah#Sekali1", "file": [b64(make_pdf())]}
    cases = [("/api/v2/sign/pdf", wrong, 403, "wrong_passphrase"),
             ("/api/v2/user/check/status", {}, 400, "missing_field"),
             ("/api/v2/verify/pdf", {"file": b64(b"hello")}, 415, "file_not_pdf")]
    for path, body, status, key in cases:
        sentences = []
        for headers in ({}, {"Accept-Language": "en"}):  # Indonesian unless the client prefers English
            response = post(client, caller, path, body, **headers)
            assert response.status_code == status
            answer = response.get_json()
            assert answer["error_code"] == key and isinstance(answer["status_code"], int)
            sentence = answer["error"]
            assert " " in sentence and sentence.endswith(".") and sentence != key and sentence == answer["message"]
            sentences.append(sentence)
        indonesian, english = sentences
        assert indonesian != english, sentences
    assert indonesian == "Berkas ke-1 bukan PDF." and english == "File 1 is not a PDF."


def test_totp_request_answers_success(client, caller):
    response = post(client, caller, "/api/v2/sign/get/totp", {"nik": caller.nik, "data": "1"})
    assert response.status_code == 200 and response.get_json()["success"] is True
