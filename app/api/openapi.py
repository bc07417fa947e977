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
EXAMPLE_SEAL = "SEAL-0123456789abcdef0123"
EXAMPLE_ACTIVATION_CODE = "12345678"
EXAMPLE_SEALING_CODE = "87654321"
EXAMPLE_DOCUMENT = "0123456789abcdef0123456789abcdef"

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
    examples = {key: {"status_code": ERRORS[key].code, "message": ERRORS[key].id, "error": ERRORS[key].id,
                      "error_code": key} for key in keys}
    return {"description": description, **_json(_ref("Error"), examples)}


UNAUTHORIZED = {
    "description": "Missing or wrong client credentials.",
    **_json(_ref("Unauthorized"), {"unauthorized": {"timestamp": "2026-11-26T01:02:03.456Z", "status": 401,
                                                    "error": "Unauthorized", "path": "/api/v2/sign/pdf"}}),
}


TOO_MANY = {**_error("Too many wrong credentials from this address or for this client id lately (or too many "
                     "verifications); the `Retry-After` header says how many seconds to wait.", "too_many_requests"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}}


def _multipart(schema: dict, examples: dict) -> dict:
    return {"content": {"multipart/form-data": {"schema": schema,
                                                "examples": {name: {"value": value} for name, value in examples.items()}}}}


def _pdf_answer(description: str) -> dict:
    return {"description": description, "headers": {"id_dokumen": {"schema": {"type": "string"},
                                                                   "description": "The signed document's id."}},
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _operation(summary: str, description: str, request: dict | None, responses: dict, tag: str) -> dict:
    operation = {"summary": summary, "description": description, "tags": [tag], "security": [{"basic": []}],
                 "responses": {**responses, "401": UNAUTHORIZED, "429": TOO_MANY}}
    if request is not None:
        operation["requestBody"] = {"required": True, **request}
    return operation


def _schemas() -> dict:
    string, boolean, integer = {"type": "string"}, {"type": "boolean"}, {"type": "integer"}
    return {
        "Error": {"type": "object", "required": ["status_code", "message", "error", "error_code"], "properties": {
            "status_code": integer, "message": string,
            "error": {"type": "string", "description": "The sentence to show the person (same as `message`)."},
            "error_code": {"type": "string", "enum": sorted(ERRORS)},
            "remaining": integer, "field": string, "index": integer, "tag": string}},
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
            "tag_koordinat": {"type": "string", "description": "Place the stamp over the first occurrence of this text "
                                                               "(a text the PDF lacks is 4206)."},
            "tag": {"type": "string", "description": "The same as `tag_koordinat`."}},
            "description": "The literal string `\"null\"` reads as an empty field."},
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
                "certificateTrusted", "modified", "signatureFormat", "ltv", "lastSignature", "timestampInfomation",
                "digestAlgorithm", "signatureAlgorithm", "certLevelCode", "certificateDetails"], "properties": {
                "id": {"type": "string", "pattern": "^S-"}, "fieldName": string, "signerName": string,
                "signatureDate": string, "integrityValid": boolean, "certificateTrusted": boolean, "modified": boolean,
                "signatureFormat": string, "ltv": boolean, "lastSignature": boolean,
                "isSeal": {"type": "boolean", "description": "An agency's electronic seal, not a person."},
                "timestampInfomation": {"type": "object", "required": ["id", "signerName", "timestampDate"],
                                        "properties": {"id": {"type": ["string", "null"]},
                                                       "signerName": {"type": ["string", "null"]},
                                                       "timestampDate": {"type": ["string", "null"]}}},
                "certificateDetails": {"type": "array", "description": "Leaf first.", "items": {
                    "type": "object", "required": ["id", "commonName", "issuerName", "serialNumber", "notBeforeDate",
                                                   "notAfterDate", "signatureAlgoritm", "keyUsages"],
                    "properties": {"id": {"type": "string", "pattern": "^C-"}, "commonName": string,
                                   "issuerName": string, "serialNumber": {"type": "string", "pattern": "^[0-9]+$"},
                                   "notBeforeDate": string, "notAfterDate": string, "signatureAlgoritm": string,
                                   "keyUsages": {"type": "array", "items": string}}}}}}}}},
        "RegisterRequest": {"type": "object", "required": ["nama", "email", "nik"], "properties": {
            "nama": string, "email": {"type": "string", "format": "email"},
            "nik": {"type": "string", "description": "16 digits; required by Paraf (the activation wizard needs it)."},
            "phone": string}},
        "SealActivationRequest": {"type": "object", "required": ["idSubscriber"], "properties": {
            "idSubscriber": string, "totp": {"type": "string", "description": "The current activation code: refresh."}}},
        "SealCodeRequest": {"type": "object", "required": ["idSubscriber", "totp"], "properties": {
            "idSubscriber": string, "totp": string,
            "data": {"type": ["integer", "string"], "description": "Documents the sealing code covers."}}},
        "SealRequest": {"type": "object", "required": ["idSubscriber", "totp", "file"], "properties": {
            "idSubscriber": string, "totp": {"type": "string", "description": "The sealing code (used up)."},
            "file": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
            "signatureProperties": {"type": "array", "items": _ref("SignatureProperties")}}},
        "SealAnswer": {"type": "object", "required": ["success", "status_code", "message", "idSubscriber"],
                       "properties": {"success": boolean, "status_code": integer, "message": string,
                                      "idSubscriber": string, "totp": string, "data": integer,
                                      "expiresAt": {"type": "string", "format": "date-time"}}},
        "V1SignRequest": {"type": "object", "required": ["file", "nik", "passphrase"], "properties": {
            "file": {"type": "string", "format": "binary"}, "nik": string, "passphrase": string,
            "tampilan": {"type": "string", "enum": ["visible", "invisible"]},
            "image": {"type": "string", "enum": ["true", "false"]},
            "imageTTD": {"type": "string", "format": "binary"}, "linkQR": string,
            "page": integer, "xAxis": {"type": "number"}, "yAxis": {"type": "number"},
            "width": {"type": "number"}, "height": {"type": "number"}, "tag_koordinat": string,
            "reason": string, "location": string, "text": string}},
        "V1VerifyResponse": {"type": "object", "required": ["nama_dokumen", "jumlah_signature", "notes", "summary",
                                                            "details"], "properties": {
            "nama_dokumen": string, "jumlah_signature": integer, "notes": string, "summary": string,
            "details": {"type": "array", "items": {"type": "object", "required": [
                "signature_field", "info_signer", "info_tsa", "signature_document"]}}}},
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
    seal_refusals = ("seal_not_usable", "seal_code_wrong", "seal_code_expired", "seal_code_used", "seal_not_activated")
    seal = {"idSubscriber": EXAMPLE_SEAL}
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
            {"200": {"description": "Sent.", **_json(None, {"sent": {"success": True, "status_code": 200,
                                                                     "message": "Kode dikirim lewat WhatsApp.",
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
        "/api/v2/user/register": {"post": _operation(
            "Register a user",
            "Registers the person in the client's agency that their e-mail's domain belongs to (the most specific "
            "domain wins) and sends the activation link; the person then completes the activation wizard.",
            _json(_ref("RegisterRequest"), {"register": {"nama": "Pegawai Baru", "email": "pegawai.baru@demo.go.id",
                                                         "nik": "3171010101900099", "phone": "081234567890"}}),
            {"200": {"description": "Registered.", **_json(None, {"registered": {
                "success": True, "status_code": 2012, "status": "WAITING_FOR_VERIFICATION",
                "message": "Pengguna didaftarkan di Instansi Demo; tautan aktivasi dikirim ke pegawai.baru@demo.go.id.",
                "email": "pegawai.baru@demo.go.id", "agency": "DEMO"}})},
             "400": _error("Bad request.", "malformed_json", "missing_field", "invalid_field"),
             "409": _error("Already registered, or the agency asks for a request letter.", "email_registered",
                           "nik_registered", "letter_required"),
             "422": _error("The e-mail's domain is none of the client's agencies'.", "domain_not_served")},
            "user")},
        "/api/v2/seal/get/activation": {"post": _operation(
            "Activate a seal (or refresh its activation code)",
            "With `idSubscriber` alone, sends each custodian of the agency's seal an activation code (e-mail or "
            "WhatsApp); the first code used starts an activation of `SEAL_ACTIVATION_HOURS`. With `totp` (the current "
            "activation code), answers a new activation code in its place (the old one dies; the activation is not "
            "extended). Wrong codes count: the fifth in a row locks the seal.",
            _json(_ref("SealActivationRequest"), {"activate": seal}),
            {"200": {"description": "Codes sent, or the new activation code.", **_json(_ref("SealAnswer"), {
                "sent": {"success": True, "status_code": 200, "message": "Kode aktivasi dikirim ke 2 pemegang segel.",
                         "idSubscriber": EXAMPLE_SEAL, "expiresAt": "2026-12-02T10:00:00Z"}})},
             "400": _error("Bad request.", "malformed_json", "missing_field"),
             "403": _error("The seal or the code cannot be used.", *seal_refusals),
             "404": _error("Unknown seal, or one the client may not use.", "seal_not_found"),
             "409": _error("No custodian can receive codes.", "seal_no_custodian"),
             "423": _error("Locked after wrong codes.", "seal_locked")},
            "seal")},
        "/api/v2/seal/get/totp": {"post": _operation(
            "Get a sealing code",
            "Answers a single-use sealing code covering `data` documents (at most `SEAL_MAX_DOCUMENTS_PER_CODE`), "
            "bought with the current activation code, valid `SEAL_CODE_MINUTES`.",
            _json(_ref("SealCodeRequest"), {"code": {**seal, "totp": EXAMPLE_ACTIVATION_CODE, "data": 2}}),
            {"200": {"description": "The sealing code.", **_json(_ref("SealAnswer"), {
                "code": {"success": True, "status_code": 200, "message": "Kode segel berlaku untuk 2 dokumen.",
                         "idSubscriber": EXAMPLE_SEAL, "totp": EXAMPLE_SEALING_CODE, "data": 2,
                         "expiresAt": "2026-12-02T02:10:00Z"}})},
             "400": _error("Bad request.", "malformed_json", "missing_field", "seal_documents"),
             "403": _error("The seal or the code cannot be used.", *seal_refusals),
             "404": _error("Unknown seal.", "seal_not_found"),
             "423": _error("Locked after wrong codes.", "seal_locked")},
            "seal")},
        "/api/v2/seal/pdf": {"post": _operation(
            "Seal PDFs",
            "Seals every file with the agency's seal (PAdES B-LT, an organisation certificate), all or none, with the "
            "same `file` and `signatureProperties` as the sign call; the sealing code is used up (a refused file "
            "leaves it usable).",
            _json(_ref("SealRequest"), {"seal": {**seal, "totp": EXAMPLE_SEALING_CODE, "file": [pdf, pdf],
                                                 "signatureProperties": [{"tampilan": "INVISIBLE", "reason": "Segel"}]}}),
            {"200": {"description": "Sealed PDFs in request order.",
                     **_json(_ref("SignResponse"), {"sealed": {"time": 380, "file": ["JVBERi0xLjcK..."]}})},
             "400": _error("Bad request.", *sign_errors[:-1]),
             "403": _error("The seal or the code cannot be used.", *seal_refusals, "seal_code_count"),
             "404": _error("Unknown seal.", "seal_not_found"),
             "413": _error("Too large, or over one of Paraf's bounds on a PDF.", "body_too_large", "file_too_large",
                           *LIMIT_ERRORS),
             "422": _error("Unusable file or tag.", "tag_not_found", "file_encrypted_sign"),
             "423": _error("Locked after wrong codes.", "seal_locked")},
            "seal")},
        "/api/v2/seal/revoke/activation": {"post": _operation(
            "End a seal's activation",
            "Ends the activation whose current activation code is `totp`; every code of it dies.",
            _json(_ref("SealActivationRequest"), {"end": {**seal, "totp": EXAMPLE_ACTIVATION_CODE}}),
            {"200": {"description": "Ended.", **_json(_ref("SealAnswer"), {"ended": {
                "success": True, "status_code": 200, "message": "Aktivasi segel diakhiri.", "idSubscriber": EXAMPLE_SEAL}})},
             "400": _error("Bad request.", "malformed_json", "missing_field"),
             "403": _error("The seal or the code cannot be used.", *seal_refusals),
             "404": _error("Unknown seal.", "seal_not_found"),
             "423": _error("Locked after wrong codes.", "seal_locked")},
            "seal")},
        "/api/sign/pdf": {"post": _operation(
            "Sign a PDF (version 1)",
            "Multipart form data. Answers the signed PDF itself with its id in the `id_dokumen` header, kept for "
            "`API_V1_RETENTION_HOURS` for the download call. `xAxis`/`yAxis` are the stamp's lower-left corner in "
            "points; `image=true` draws `imageTTD`, `image=false` a QR code of `linkQR`; `text` is accepted and not "
            "drawn. Errors are the JSON of the error table.",
            _multipart(_ref("V1SignRequest"), {"invisible": {"file": "<PDF>", "nik": EXAMPLE_NIK,
                                                             "passphrase": EXAMPLE_PASSPHRASE, "tampilan": "invisible"},
                                               "qr": {"file": "<PDF>", "nik": EXAMPLE_NIK,
                                                      "passphrase": EXAMPLE_PASSPHRASE, "tampilan": "visible",
                                                      "image": "false", "linkQR": "https://demo.go.id/surat/1",
                                                      "page": "1", "xAxis": "300", "yAxis": "40", "width": "240",
                                                      "height": "90"}}),
            {"200": _pdf_answer("The signed PDF."),
             "400": _error("Bad request.", "missing_field", "invalid_field", "file_not_base64", "bad_page", "bad_box"),
             "403": _error("The subscriber cannot sign now.", *forbidden),
             "404": _error("Unknown subscriber, or one outside the client's agencies.", "not_registered"),
             "422": _error("Unusable file or tag.", "tag_not_found", "file_damaged", "file_encrypted_sign"),
             "423": _error("Signing locked.", "signing_locked")},
            "version 1")},
        "/api/sign/download/{id_dokumen}": {"get": {
            **_operation("Download a signed PDF (version 1)",
                         "Only the client that signed it, while it is kept; otherwise 404 like an unknown id.", None,
                         {"200": _pdf_answer("The signed PDF."),
                          "404": _error("Unknown, another client's, or no longer kept.", "document_not_found")},
                         "version 1"),
            "parameters": [{"name": "id_dokumen", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": EXAMPLE_DOCUMENT}]}},
        "/api/sign/verify": {"post": _operation(
            "Verify a PDF (version 1)",
            "Multipart form data with `signed_file`. `summary` is the conclusion (`VALID`, `WARNING`, `INVALID`, "
            "`NO_SIGNATURE`) and `notes` its sentence; times are in WIB.",
            _multipart({"type": "object", "required": ["signed_file"],
                        "properties": {"signed_file": {"type": "string", "format": "binary"}}},
                       {"plain": {"signed_file": "<PDF>"}}),
            {"200": {"description": "The report.", **_json(_ref("V1VerifyResponse"), {"unsigned": {
                "nama_dokumen": "surat.pdf", "jumlah_signature": 0, "notes": "Dokumen tidak memiliki tanda tangan "
                "elektronik.", "summary": "NO_SIGNATURE", "details": []}})},
             "400": _error("Bad request.", "missing_field", "file_empty"),
             "415": _error("Not a PDF.", "file_not_pdf"),
             "422": _error("Unusable file.", "file_damaged", "file_encrypted")},
            "version 1")},
        "/api/user/status/{nik}": {"get": {
            **_operation("Subscriber status (version 1)", "As `POST /api/v2/user/check/status`.", None,
                         {"200": {"description": "The status.", **_json(_ref("StatusResponse"), {
                             "issue": {"status_code": 1111, "message": "Sertifikat aktif.", "status": "ISSUE"}})},
                          "400": _error("Bad request.", "invalid_field")}, "version 1"),
            "parameters": [{"name": "nik", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": EXAMPLE_NIK}]}},
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
                "Compatible with the national eSign client API (version 2, JSON, and version 1, multipart): same paths, fields and answers. Authenticate with "
                "HTTP Basic (client id and secret from `flask clients create NAME --agency CODE`). Errors are JSON "
                "`{status_code, message, error, error_code}`: `error` is the sentence to show, `error_code` the stable key and `status_code` its number (table below); messages are Indonesian unless "
                "`Accept-Language: en`. The CSC API v2 (remote signing for pyHanko and other CSC clients) is served "
                "under `/csc/v2/`."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "sign"}, {"name": "seal"}, {"name": "user"}, {"name": "verify"}, {"name": "version 1"}],
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
