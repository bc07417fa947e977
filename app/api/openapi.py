"""The OpenAPI 3.1 document of ``/api/v2``, built as a dict: operations, examples and the error table."""

from __future__ import annotations

import base64
import functools
import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from .errors import ERRORS
from .schemas import OPERATIONS, REF_TEMPLATE, Error, Operation, Unauthorized
from .subscribers import STATUSES

EXAMPLE_NIK = "3171010101900001"
EXAMPLE_EMAIL = "pegawai.contoh@contoh.go.id"  # no demo account: a wrong passphrase locks nobody
EXAMPLE_PASSPHRASE = "Rahasia#2026"
EXAMPLE_SEAL = "SEAL-0123456789ABCDEF0123"
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


def _pdf_answer(description: str) -> dict:
    return {"description": description, "headers": {"id_dokumen": {"schema": {"type": "string"},
                                                                   "description": "The signed document's id."}},
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _clean(schema):
    """Return a generated JSON schema without pydantic's titles and ``null`` defaults."""
    if isinstance(schema, list):
        return [_clean(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned = {}
    for key, value in schema.items():
        if key == "properties":
            cleaned[key] = {name: _clean(item) for name, item in value.items()}
        elif key != "title" and not (key == "default" and value is None):
            cleaned[key] = _clean(value)
    return cleaned


def _schemas() -> dict:
    """Return the components generated from the models of :mod:`.schemas`."""
    generated: dict = {}
    for model in (Error, Unauthorized, *(model for op in OPERATIONS for model in (op.request, op.answer) if model)):
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        generated.update(schema.pop("$defs", {}))
        generated[model.__name__] = schema
    return {name: _clean(schema) for name, schema in generated.items()}


# Answers every call can give besides its own: merged into each operation's list
GENERIC = {413: ("The request is too large.", ("body_too_large",)),
           429: (TOO_MANY["description"], ("too_many_requests",)),
           503: ("The request failed on the server; try again.", ("server_error",))}


def _responses(operation: Operation, answers: dict) -> dict:
    """Return an operation's answers: 200 with its model, 401, then each status with its error keys."""
    answer = operation.answer
    responses = {"200": _pdf_answer("The signed PDF.") if answer is None else {
        "description": answer.__doc__, **_json(_ref(answer.__name__), answers)}, "401": UNAUTHORIZED}
    for status in sorted({*operation.errors, *GENERIC}):
        description, keys = operation.errors.get(status) or GENERIC[status]
        keys = dict.fromkeys((*keys, *GENERIC.get(status, ("", ()))[1]))
        responses[str(status)] = _error(description, *keys)
        if status == 429:
            responses["429"]["headers"] = TOO_MANY["headers"]
    return responses


def _texts(pdf: str) -> dict[str, dict]:
    """Return, by path, each operation's tag, summary, description and example requests and answers."""
    who = {"nik": EXAMPLE_NIK}
    seal = {"idSubscriber": EXAMPLE_SEAL}
    return {
        "/api/v2/sign/pdf": {
            "tag": "sign", "summary": "Sign PDFs",
            "description": "Signs every file with one unlock of the subscriber's key (PAdES B-LT), all or none; `file` "
            "in the answer is in request order. **TOTP:** Paraf keys open only with the passphrase, so `totp` is a "
            "second factor checked together with `passphrase` (single use, covering at most the `data` documents it "
            "was asked for); `totp` without `passphrase` is refused with 4007.",
            "examples": {
                "invisible": {**who, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf], "signatureProperties": [
                    {"tampilan": "INVISIBLE", "reason": "Persetujuan", "location": "Jakarta"}]},
                "visible": {"email": EXAMPLE_EMAIL, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf, pdf],
                            "signatureProperties": [{"tampilan": "VISIBLE", "page": 1, "originX": 300, "originY": 40,
                                                     "width": 240, "height": 90, "reason": "Persetujuan",
                                                     "location": "Jakarta", "contactInfo": "tu@demo.go.id"}]},
                "tag": {**who, "passphrase": EXAMPLE_PASSPHRASE, "file": [pdf],
                        "signatureProperties": [{"tampilan": "VISIBLE", "tag": "#ttd#", "width": 200, "height": 80}]}},
            "answers": {"signed": {"time": 412, "file": ["JVBERi0xLjcK..."]}}},
        "/api/v2/sign/get/totp": {
            "tag": "sign", "summary": "Send a signing TOTP",
            "description": "Sends a 6-digit code to the subscriber (WhatsApp when the phone is verified, else e-mail) "
            "covering `data` documents. The code is a second factor only; see the sign call.",
            "examples": {"by_nik": {**who, "data": 2}},
            "answers": {"sent": {"success": True, "status_code": 200, "message": "Kode dikirim lewat WhatsApp.",
                                 "channel": "whatsapp", "data": 2}}},
        "/api/v2/user/check/status": {
            "tag": "user", "summary": "Subscriber status",
            "description": "Statuses and their codes: " + ", ".join(f"`{s.name}` {s.code}" for s in STATUSES.values())
            + ". A subscriber outside the client's agencies is `NOT_REGISTERED`.",
            "examples": {"by_nik": who, "by_email": {"email": EXAMPLE_EMAIL}},
            "answers": {"issue": {"status_code": 1111, "message": "Sertifikat aktif.", "status": "ISSUE"},
                        "unknown": {"status_code": 2011, "message": "Pengguna tidak terdaftar.",
                                    "status": "NOT_REGISTERED"}}},
        "/api/v2/user/certificate/chain/{id}": {
            "tag": "user", "summary": "Certificate chain",
            "description": "The subscriber's certificate, the issuing CA and the root, base64 DER, leaf first.",
            "parameters": [{"name": "id", "in": "path", "required": True, "description": "NIK or e-mail",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 254}, "example": EXAMPLE_NIK}],
            "answers": {"chain": {"success": True, "data": ["MIIE...", "MIIF...", "MIIF..."]}}},
        "/api/v2/verify/pdf": {
            "tag": "verify", "summary": "Verify a PDF",
            "description": "Validates every signature against Paraf's root with current CRLs and the document's "
            "embedded revocation data. `lastSignature` is true only on the last signature; `timestampInfomation` "
            "keeps the real service's spelling.",
            "examples": {"plain": {"file": pdf}},
            "answers": {"unsigned": {"signatureCount": 0, "description": "Dokumen tidak memiliki tanda tangan elektronik.",
                                     "conclusion": "NO_SIGNATURE", "signatureInformations": []}}},
        "/api/v2/user/register": {
            "tag": "user", "summary": "Register a user",
            "description": "Registers the person in the client's agency that their e-mail's domain belongs to (the "
            "most specific domain wins) and sends the activation link; the person then completes the activation wizard.",
            "examples": {"register": {"nama": "Pegawai Baru", "email": "pegawai.baru@demo.go.id",
                                      "nik": "3171010101900099", "phone": "081234567890"}},
            "answers": {"registered": {
                "success": True, "status_code": 2012, "status": "WAITING_FOR_VERIFICATION",
                "message": "Pengguna didaftarkan di Instansi Demo; tautan aktivasi dikirim ke pegawai.baru@demo.go.id.",
                "email": "pegawai.baru@demo.go.id", "agency": "DEMO"}}},
        "/api/v2/seal/get/activation": {
            "tag": "seal", "summary": "Activate a seal (or refresh its activation code)",
            "description": "With `idSubscriber` alone, sends each custodian of the agency's seal an activation code "
            "(e-mail or WhatsApp); the first code used starts an activation of `SEAL_ACTIVATION_HOURS`. With `totp` "
            "(the current activation code), answers a new activation code in its place (the old one dies; the "
            "activation is not extended). Wrong codes count: the fifth in a row locks the seal.",
            "examples": {"activate": seal},
            "answers": {"sent": {"success": True, "status_code": 200, "message": "Kode aktivasi dikirim ke 2 pemegang segel.",
                                 "idSubscriber": EXAMPLE_SEAL, "expiresAt": "2026-12-02T10:00:00Z"}}},
        "/api/v2/seal/get/totp": {
            "tag": "seal", "summary": "Get a sealing code",
            "description": "Answers a single-use sealing code covering `data` documents (at most "
            "`SEAL_MAX_DOCUMENTS_PER_CODE`), bought with the current activation code, valid `SEAL_CODE_MINUTES`.",
            "examples": {"code": {**seal, "totp": EXAMPLE_ACTIVATION_CODE, "data": 2}},
            "answers": {"code": {"success": True, "status_code": 200, "message": "Kode segel berlaku untuk 2 dokumen.",
                                 "idSubscriber": EXAMPLE_SEAL, "totp": EXAMPLE_SEALING_CODE, "data": 2,
                                 "expiresAt": "2026-12-02T02:10:00Z"}}},
        "/api/v2/seal/pdf": {
            "tag": "seal", "summary": "Seal PDFs",
            "description": "Seals every file with the agency's seal (PAdES B-LT, an organisation certificate), all or "
            "none, with the same `file` and `signatureProperties` as the sign call; the sealing code is used up (a "
            "refused file leaves it usable).",
            "examples": {"seal": {**seal, "totp": EXAMPLE_SEALING_CODE, "file": [pdf, pdf],
                                  "signatureProperties": [{"tampilan": "INVISIBLE", "reason": "Segel"}]}},
            "answers": {"sealed": {"time": 380, "file": ["JVBERi0xLjcK..."]}}},
        "/api/v2/seal/revoke/activation": {
            "tag": "seal", "summary": "End a seal's activation",
            "description": "Ends the activation whose current activation code is `totp`; every code of it dies.",
            "examples": {"end": {**seal, "totp": EXAMPLE_ACTIVATION_CODE}},
            "answers": {"ended": {"success": True, "status_code": 200, "message": "Aktivasi segel diakhiri.",
                                  "idSubscriber": EXAMPLE_SEAL}}},
        "/api/sign/pdf": {
            "tag": "version 1", "summary": "Sign a PDF (version 1)",
            "description": "Multipart form data. Answers the signed PDF itself with its id in the `id_dokumen` header, "
            "kept for `API_V1_RETENTION_HOURS` for the download call. `xAxis`/`yAxis` are the stamp's lower-left "
            "corner in points; `image=true` draws `imageTTD`, `image=false` a QR code of `linkQR`; `text` is accepted "
            "and not drawn. Errors are the JSON of the error table.",
            "examples": {"invisible": {"file": "<PDF>", "nik": EXAMPLE_NIK, "passphrase": EXAMPLE_PASSPHRASE,
                                       "tampilan": "invisible"},
                         "qr": {"file": "<PDF>", "nik": EXAMPLE_NIK, "passphrase": EXAMPLE_PASSPHRASE,
                                "tampilan": "visible", "image": "false", "linkQR": "https://demo.go.id/surat/1",
                                "page": "1", "xAxis": "300", "yAxis": "40", "width": "240", "height": "90"}}},
        "/api/sign/download/{id_dokumen}": {
            "tag": "version 1", "summary": "Download a signed PDF (version 1)",
            "description": "Only the client that signed it, while it is kept; otherwise 404 like an unknown id.",
            "parameters": [{"name": "id_dokumen", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": EXAMPLE_DOCUMENT}]},
        "/api/sign/verify": {
            "tag": "version 1", "summary": "Verify a PDF (version 1)",
            "description": "Multipart form data with `signed_file`. `summary` is the conclusion (`VALID`, `WARNING`, "
            "`INVALID`, `NO_SIGNATURE`) and `notes` its sentence; times are in WIB.",
            "examples": {"plain": {"signed_file": "<PDF>"}},
            "answers": {"unsigned": {"nama_dokumen": "surat.pdf", "jumlah_signature": 0, "notes": "Dokumen tidak "
                                     "memiliki tanda tangan elektronik.", "summary": "NO_SIGNATURE", "details": []}}},
        "/api/user/status/{nik}": {
            "tag": "version 1", "summary": "Subscriber status (version 1)",
            "description": "As `POST /api/v2/user/check/status`.",
            "parameters": [{"name": "nik", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 32},
                            "example": EXAMPLE_NIK}],
            "answers": {"issue": {"status_code": 1111, "message": "Sertifikat aktif.", "status": "ISSUE"}}},
    }


def _encoding(form: type) -> dict:
    """Return the ``encoding`` of a multipart form: each file part's media type (a PDF's is application/pdf)."""
    properties = form.model_json_schema()["properties"]
    return {name: {"contentType": schema["contentMediaType"]}
            for name, schema in properties.items() if "contentMediaType" in schema}


def _paths(pdf: str) -> dict:
    """Return the paths of the operations of :data:`.schemas.OPERATIONS` with their texts and examples."""
    texts, paths = _texts(pdf), {}
    for operation in OPERATIONS:
        text = texts[operation.path]
        item = {"summary": text["summary"], "description": text["description"], "tags": [text["tag"]],
                "security": [{"basic": []}], "responses": _responses(operation, text.get("answers"))}
        if operation.request is not None:
            body = _json(_ref(operation.request.__name__), text["examples"])
            kind = "multipart/form-data" if operation.form else "application/json"
            item["requestBody"] = {"required": True, "content": {kind: body["content"]["application/json"]}}
            if operation.form:
                item["requestBody"]["content"][kind]["encoding"] = _encoding(operation.request)
        if "parameters" in text:
            item["parameters"] = text["parameters"]
        paths[operation.path] = {operation.method: item}
    return paths


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
