"""The OpenAPI 3.1 document of ``/api/v2``, built as a dict: operations, examples and the error table."""

from __future__ import annotations

import base64
import functools
import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from .errors import ERRORS
from .subscribers import STATUSES

EXAMPLE_NIK = "3171010101900001"
EXAMPLE_EMAIL = "pengguna.demo@demo.go.id"
EXAMPLE_PASSPHRASE = "Rahasia#2026"

def example_pdf() -> bytes:
    """Return a one-page A4 PDF reading "Contoh surat #ttd#" (the tag of the examples)."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject({pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
                                     pdf_name("/BaseFont"): pdf_name("/Helvetica")})
    resources = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})})
    text = generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 770 Td (Contoh surat #ttd#) Tj ET")
    writer.insert_page(PageObject(contents=writer.add_object(text), media_box=(0, 0, 595, 842), resources=resources))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _json(schema: dict | None = None, examples: dict | None = None) -> dict:
    content: dict = {}
    if schema:
        content["schema"] = schema
    if examples:
        content["examples"] = {name: {"value": value} for name, value in examples.items()}
    return {"content": {"application/json": content}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, *keys: str) -> dict:
    examples = {key: {"status_code": ERRORS[key].code, "message": ERRORS[key].id, "error": key} for key in keys}
    return {"description": description, **_json(_ref("Error"), examples)}


UNAUTHORIZED = {
    "description": "Missing or wrong client credentials.",
    **_json(_ref("Unauthorized"), {"unauthorized": {"timestamp": "2026-11-26T01:02:03.456Z", "status": 401,
                                                    "error": "Unauthorized", "path": "/api/v2/sign/pdf"}}),
}


TOO_MANY = {**_error("Too many wrong credentials from this address or for this client id lately (or too many "
                     "verifications); the `Retry-After` header says how many seconds to wait.", "too_many_requests"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}}


def _operation(summary: str, description: str, request: dict | None, responses: dict, tag: str) -> dict:
    operation = {"summary": summary, "description": description, "tags": [tag], "security": [{"basic": []}],
                 "responses": {**responses, "401": UNAUTHORIZED, "429": TOO_MANY}}
    if request is not None:
        operation["requestBody"] = {"required": True, **request}
    return operation


def _schemas() -> dict:
    string, boolean, integer = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
    return {
        "Error": {"type": "object", "required": ["status_code", "message", "error"], "properties": {
            "status_code": integer, "message": string, "error": {"type": "string", "enum": sorted(ERRORS)},
            "remaining": integer, "field": string, "index": integer}},
        "Unauthorized": {"type": "object", "required": ["timestamp", "status", "error", "path"], "properties": {
            "timestamp": string, "status": integer, "error": string, "path": string}},
        "Subscriber": {"type": "object", "properties": {"nik": string, "email": string},
                       "description": "Give `nik` or `email`."},
        "SignatureProperties": {"type": "object", "properties": {
            "tampilan": {"type": "string", "enum": ["VISIBLE", "INVISIBLE"]},
            "imageBase64": {"type": "string", "description": "PNG or JPEG drawn in the stamp"},
            "page": {"type": "integer", "minimum": 1},
            "originX": {"type": "number"}, "originY": {"type": "number"},
            "width": {"type": "number", "exclusiveMinimum": 0}, "height": {"type": "number", "exclusiveMinimum": 0},
            "location": string, "reason": string, "contactInfo": string,
            "tag": {"type": "string", "description": "Place the stamp at the first occurrence of this text."}}},
        "SignRequest": {"allOf": [_ref("Subscriber"), {"type": "object", "required": ["passphrase", "file"], "properties": {
            "passphrase": string, "totp": string,
            "file": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
            "signatureProperties": {"type": "array", "items": _ref("SignatureProperties")}}}]},
        "SignResponse": {"type": "object", "required": ["time", "file"], "properties": {
            "time": {"type": "integer", "description": "milliseconds"},
            "file": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}}},
        "StatusResponse": {"type": "object", "required": ["status_code", "message", "status"], "properties": {
            "status_code": integer, "message": string, "status": {"type": "string", "enum": list(STATUSES)}}},
        "ChainResponse": {"type": "object", "required": ["success", "data"], "properties": {
            "success": boolean, "data": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}}}},
        "VerifyResponse": {"type": "object", "required": ["signatureCount", "description", "conclusion",
                                                          "signatureInformations"], "properties": {
            "signatureCount": integer, "description": string,
            "conclusion": {"type": "string", "enum": ["VALID", "WARNING", "INVALID", "NO_SIGNATURE"]},
            "signatureInformations": {"type": "array", "items": {"type": "object", "required": [
                "id", "fieldName", "signerName", "signatureDate", "reason", "location", "integrityValid",
                "certificateTrusted", "signatureFormat", "ltv", "lastSignature", "timestampInfomation",
                "digestAlgorithm", "signatureAlgorithm", "certLevelCode", "certificateDetails"]}}}},
    }


LIMIT_ERRORS = ("file_too_many_pages", "file_too_many_signatures", "file_too_much_data", "file_page_too_large",
                "file_too_complex")


def _paths(pdf: str) -> dict:
    who = {"nik": EXAMPLE_NIK}
    sign_examples = {
        "invisible": {**who, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf],
                      "signatureProperties": [{"tampilan": "INVISIBLE", "reason": "Persetujuan", "location": "Jakarta"}]},
        "visible": {"email": EXAMPLE_EMAIL, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf, pdf],
                    "signatureProperties": [{"tampilan": "VISIBLE", "page": 1, "originX": 300, "originY": 40,
                                             "width": 240, "height": 90, "reason": "Persetujuan", "location": "Jakarta",
                                             "contactInfo": "tu@demo.go.id"}]},
        "tag": {**who, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf],
                "signatureProperties": [{"tampilan": "VISIBLE", "tag": "#ttd#", "width": 200, "height": 80}]},
    }
    sign_errors = ("malformed_json", "missing_field", "no_files", "too_many_files", "file_not_base64", "file_not_pdf",
                   "file_damaged", "file_encrypted_sign", "properties_count", "bad_tampilan", "bad_page", "bad_box",
                   "bad_image", "passphrase_required")
    forbidden = ("wrong_passphrase", "not_verified", "no_certificate", "certificate_expired", "certificate_revoked",
                 "account_suspended", "update_pending", "totp_wrong", "totp_count")
    return {
        "/api/v2/sign/pdf": {"post": _operation(
            "Sign PDFs",
            "Signs every file with one unlock of the subscriber's key (PAdES B-LT), all or none; `file` in the answer "
            "is in request order. **TOTP:** Paraf keys open only with the passphrase, so `totp` is a second factor "
            "checked together with `passphrase` (single use, covering at most the `data` documents it was asked for); "
            "`totp` without `passphrase` is refused with 4007.",
            _json(_ref("SignRequest"), sign_examples),
            {"200": {"description": "Signed PDFs in request order.",
                     **_json(_ref("SignResponse"), {"signed": {"time": 412, "file": ["JVBERi0xLjcK..."]}})},
             "400": _error("Bad request.", *sign_errors),
             "403": _error("The subscriber cannot sign now.", *forbidden),
             "404": _error("Unknown subscriber, or one outside the client's agencies.", "not_registered"),
             "413": _error("Too large, or over one of Paraf's bounds on a PDF.", "body_too_large", "file_too_large",
                           *LIMIT_ERRORS),
             "422": _error("Unusable file or tag.", "tag_not_found", "file_encrypted_sign"),
             "423": _error("Signing locked.", "signing_locked")},
            "sign")},
        "/api/v2/sign/get/totp": {"post": _operation(
            "Send a signing TOTP",
            "Sends a 6-digit code to the subscriber (WhatsApp when the phone is verified, else e-mail) covering `data` "
            "documents. The code is a second factor only; see the sign call.",
            _json({"allOf": [_ref("Subscriber"), {"type": "object", "properties": {"data": {"type": "integer"}}}]},
                  {"by_nik": {**who, "data": 2}}),
            {"200": {"description": "Sent.", **_json(None, {"sent": {"status_code": 200, "message": "Kode dikirim lewat WhatsApp.",
                                                                     "channel": "whatsapp", "data": 2}})},
             "400": _error("Bad request.", "malformed_json", "missing_field", "invalid_field"),
             "404": _error("Unknown subscriber.", "not_registered"),
             "429": _error("Asked too soon.", "totp_throttled")},
            "sign")},
        "/api/v2/user/check/status": {"post": _operation(
            "Subscriber status",
            "Statuses and their codes: " + ", ".join(f"`{s.name}` {s.code}" for s in STATUSES.values())
            + ". A subscriber outside the client's agencies is `NOT_REGISTERED`.",
            _json(_ref("Subscriber"), {"by_nik": who, "by_email": {"email": EXAMPLE_EMAIL}}),
            {"200": {"description": "The status.", **_json(_ref("StatusResponse"), {
                "issue": {"status_code": 1111, "message": "Sertifikat aktif.", "status": "ISSUE"},
                "unknown": {"status_code": 2011, "message": "Pengguna tidak terdaftar.", "status": "NOT_REGISTERED"}})},
             "400": _error("Bad request.", "malformed_json", "missing_field")},
            "user")},
        "/api/v2/user/certificate/chain/{id}": {"get": {
            **_operation("Certificate chain", "The subscriber's certificate, the issuing CA and the root, base64 DER, leaf first.",
                         None, {"200": {"description": "The chain.", **_json(_ref("ChainResponse"), {
                             "chain": {"success": True, "data": ["MIIE...", "MIIF...", "MIIF..."]}})},
                                "404": _error("Unknown subscriber.", "not_registered")}, "user"),
            "parameters": [{"name": "id", "in": "path", "required": True, "description": "NIK or e-mail",
                            "schema": {"type": "string"}, "example": EXAMPLE_NIK}]}},
        "/api/v2/verify/pdf": {"post": _operation(
            "Verify a PDF",
            "Validates every signature against Paraf's root with current CRLs and the document's embedded revocation data. "
            "`lastSignature` is true only on the last signature; `timestampInfomation` keeps the real service's spelling.",
            _json({"type": "object", "required": ["file"], "properties": {"file": {"type": "string"}, "password": {"type": "string"}}},
                  {"plain": {"file": pdf}}),
            {"200": {"description": "The report.", **_json(_ref("VerifyResponse"), {"unsigned": {
                "signatureCount": 0, "description": "Dokumen tidak memiliki tanda tangan elektronik.",
                "conclusion": "NO_SIGNATURE", "signatureInformations": []}})},
             "400": _error("Bad request.", "malformed_json", "missing_field", "file_empty", "file_not_base64"),
             "413": _error("Too large, or over one of Paraf's bounds on a PDF.", "body_too_large", "file_too_large",
                           *LIMIT_ERRORS),
             "415": _error("Not a PDF.", "file_not_pdf"),
             "422": _error("Unusable file.", "file_damaged", "file_encrypted", "file_wrong_password")},
            "verify")},
    }


@functools.cache
def spec() -> dict:
    """Return the OpenAPI 3.1 document (built once)."""
    pdf = base64.b64encode(example_pdf()).decode("ascii")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Paraf eSign API v2",
            "version": "2.0.0",
            "description": (
                "Compatible with the national eSign client API v2: same paths, fields and answers. Authenticate with "
                "HTTP Basic (client id and secret from `flask clients create NAME --agency CODE`). Errors are JSON "
                "`{status_code, message, error}` with a stable code (table below); messages are Indonesian unless "
                "`Accept-Language: en`. The CSC API v2 (remote signing for pyHanko and other CSC clients) is served "
                "under `/csc/v2/`."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "sign"}, {"name": "user"}, {"name": "verify"}],
        "paths": _paths(pdf),
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": _schemas(),
        },
        "x-error-table": [
            {"error": key, "http": problem.http, "status_code": problem.code, "message_id": problem.id,
             "message_en": problem.en}
            for key, problem in ERRORS.items()
        ],
        "x-status-table": [{"status": s.name, "status_code": s.code, "message_id": s.id, "message_en": s.en}
                           for s in STATUSES.values()],
    }
