"""The eSign API v2 described once: pydantic models that validate each request and generate the OpenAPI document.

Pydantic rather than apiflask or flask-smorest: the API is plain Flask blueprints with its own error table and
once-committed answers (:mod:`.calls`), which those frameworks would replace. A schema violation is answered with
the error table's row: a missing field is ``missing_field``, a wrong one ``invalid_field`` naming it, and the
validators below raise the other rows (``no_files``, ``too_many_files``, ``file_not_base64``, ...) by their key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from flask import current_app
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..domain.enrolment.identity import TITLES
from ..settings import defaults, instance_path
from .errors import ERRORS, ApiError
from .subscribers import STATUSES

TEXT_LIMIT = 200
REF_TEMPLATE = "#/components/schemas/{model}"
BASE64 = {"type": "string", "contentEncoding": "base64", "minLength": 1}
PDF_BASE64 = {**BASE64, "format": "pdf-base64", "contentMediaType": "application/pdf"}
NIK = {"type": "string", "pattern": "^[0-9]{16}$", "description": "16 digits"}
EMAIL = {"type": "string", "format": "email", "maxLength": 254}
_DEFAULTS = defaults(instance_path())  # the bounds the document states; the app's configuration is enforced


def refuse(key: str, **values) -> PydanticCustomError:
    """Return the validation error answered with the table's ``key`` row."""
    return PydanticCustomError(key, key, values)


def blank(value: object) -> bool:
    """Return whether a field reads as absent: missing, empty or the literal ``"null"`` clients send for empty."""
    return value is None or value == "" or (isinstance(value, str) and value.strip().lower() == "null")


def _optional_text(value, handler):
    return None if blank(value) else handler(value).strip()


def _required_text(value, handler, info: ValidationInfo):
    if blank(value):
        raise refuse("missing_field", field=info.field_name)
    return handler(value).strip()


def Text(limit: int = TEXT_LIMIT, required: bool = False):
    """Return a trimmed string field of at most ``limit`` characters (see :func:`blank`)."""
    return Annotated[str, StringConstraints(max_length=limit),
                     WrapValidator(_required_text if required else _optional_text)]


def _integral(value):
    """Return a JSON number without a fraction (``2.0`` is the integer 2 in JSON Schema) as an int."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _number_as_text(value, handler):
    value = _integral(value)
    return handler(str(value) if isinstance(value, int) and not isinstance(value, bool) else value)


def Code(digits: int, required: bool = False):
    """Return a one-time code field of ``digits`` digits: a string, or a number read as its digits."""
    return Annotated[Text(required=required), WrapValidator(_number_as_text),
                     WithJsonSchema({"anyOf": [{"type": "string", "pattern": f"^[0-9]{{{digits}}}$"},
                                               {"type": "integer", "minimum": 10 ** (digits - 1),
                                                "maximum": 10 ** digits - 1}]})]


def _passphrase(value, handler, info: ValidationInfo):
    if not value:
        raise refuse("passphrase_required") if info.data.get("totp") else refuse("missing_field", field="passphrase")
    return handler(value)


Passphrase = Annotated[str, StringConstraints(min_length=1, max_length=1024), WrapValidator(_passphrase)]
BINARY_PDF = WithJsonSchema({"type": "string", "format": "binary", "contentMediaType": "application/pdf"})
BINARY_IMAGE = WithJsonSchema({"type": "string", "format": "binary", "description": "PNG or JPEG"})


def Form(schema: dict):
    """Return a form field read as trimmed text (see :func:`blank`) and documented as ``schema``; :mod:`.v1` parses it."""
    return Annotated[str, WrapValidator(_optional_text), WithJsonSchema(schema)]


def _files(value, handler, info: ValidationInfo):
    if value is None or value == []:
        raise refuse("no_files") if value == [] else refuse("missing_field", field="file")
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list):
        raise refuse("invalid_field", field="file")
    maximum = info.context["max_files"]
    if len(value) > maximum:
        raise refuse("too_many_files", max=maximum)
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise refuse("file_not_base64", index=number)
    return handler(value)


def _one_file(value, handler):
    value = value[0] if isinstance(value, list) and len(value) == 1 else value
    if value is None:
        raise refuse("missing_field", field="file")
    if not isinstance(value, str):
        raise refuse("file_not_base64", index=1)
    return handler(value)


def _properties(value) -> list[dict]:
    if value is None or value == []:
        return [{}]
    value = [value] if isinstance(value, dict) else value
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise refuse("invalid_field", field="signatureProperties")
    return value


def _count(key: str, limit: str):
    """Return the validator of a document count (a number or numeric string, 1 by default) refused with ``key``."""

    def check(value, handler, info: ValidationInfo):
        value = 1 if blank(value) else _integral(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        maximum = info.context[limit]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise refuse(key, **({"field": info.field_name} if key == "invalid_field" else {"max": maximum}))
        return handler(value)

    return check


Files = Annotated[list[str], WrapValidator(_files),
                  WithJsonSchema({"anyOf": [{"type": "array", "items": PDF_BASE64, "minItems": 1,
                                             "maxItems": _DEFAULTS["API_MAX_FILES"]}, PDF_BASE64],
                                  "description": "PDFs in base64 (at most `API_MAX_FILES`); one string is an array of one."})]


class SignatureProperties(BaseModel):
    """Where and how a file's stamp is drawn; the literal string `"null"` reads as an empty field."""

    # documents the properties; app/api/inputs.py checks them per file (the error names the file, a box only when VISIBLE)

    tampilan: Literal["VISIBLE", "INVISIBLE"] = "INVISIBLE"
    imageBase64: str | None = Field(None, description="PNG or JPEG drawn in the stamp")
    page: int = Field(1, ge=1)
    originX: float = 0
    originY: float = 0
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    location: Text() = None
    reason: Text() = None
    contactInfo: Text() = None
    tag_koordinat: Text() = Field(None, description="Place the stamp over the first occurrence of this text "
                                                     "(a text the PDF lacks is 4206).")
    tag: Text() = Field(None, description="The same as `tag_koordinat`.")


Properties = Annotated[list[dict], PlainValidator(
    _properties, json_schema_input_type=list[SignatureProperties] | SignatureProperties | None)]


def _count_schema(limit: str) -> WithJsonSchema:
    maximum = _DEFAULTS[limit]
    return WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1, "maximum": maximum},
                                     {"type": "string", "pattern": f"^({'|'.join(map(str, range(1, maximum + 1)))})$"}]})


def _schema(*required: str, identity: bool = False):
    """Return a ``json_schema_extra`` adding the fields the validators require although they have a default."""

    def extra(schema: dict) -> None:
        if required:
            schema["required"] = sorted({*schema.get("required", ()), *required})
        if identity:
            schema["anyOf"] = [{"required": ["nik"]}, {"required": ["email"]}]

    return extra


class Subscriber(BaseModel):
    """The subscriber of a call: `nik` or `email`."""

    model_config = ConfigDict(json_schema_extra=_schema(identity=True))

    nik: Text(32) = None
    email: Text(254) = None

    @model_validator(mode="after")
    def _identity(self):
        if not self.nik and not self.email:
            raise refuse("missing_field", field="nik/email")
        return self


class Signer(Subscriber):
    """A subscriber who signs: a registered one has a 16-digit `nik` and an e-mail address."""

    nik: Annotated[Text(32), WithJsonSchema(NIK)] = None
    email: Annotated[Text(254), WithJsonSchema(EMAIL)] = None


class SignRequest(Signer):
    """Sign PDFs for a subscriber."""

    model_config = ConfigDict(json_schema_extra=_schema("file", "passphrase", identity=True))

    totp: Code(6) = Field(None, description="The signing TOTP: a second factor, checked with the passphrase.")
    passphrase: Passphrase = Field(None, validate_default=True)
    file: Files = Field(None, validate_default=True)
    signatureProperties: Properties = Field(None, validate_default=True)


class TotpRequest(Signer):
    """Send a signing TOTP covering `data` documents."""

    data: Annotated[int, WrapValidator(_count("invalid_field", "max_files")), _count_schema("API_MAX_FILES")] = Field(
        None, validate_default=True, description="Documents the code covers (at most `API_MAX_FILES`).")


class VerifyRequest(BaseModel):
    """Verify a PDF (`password` opens an encrypted one)."""

    model_config = ConfigDict(json_schema_extra=_schema("file"))

    # the format also at the top: schemathesis puts no harvested constant in a field whose format it cannot check
    file: Annotated[str, WrapValidator(_one_file),
                    WithJsonSchema({"anyOf": [PDF_BASE64, {"type": "array", "items": PDF_BASE64, "minItems": 1,
                                              "maxItems": 1}], "format": "pdf-base64"})
                    ] = Field(None, validate_default=True)
    password: Text(1024) = None


def _name_pattern() -> str:
    """Return what :func:`app.domain.enrolment.identity.check_name` accepts: words of letters, none a title (any case)."""
    titles = "|".join("".join(f"[{c.upper()}{c}]" for c in title) for title in sorted(TITLES, key=len, reverse=True))
    word = rf"(?!(?:{titles})(?: |$))[A-Za-z]+"
    return rf"^{word}( {word})*$"


NAME = _name_pattern()
PHONE = r"^[ -]*(\+[ -]*6[ -]*2|6[ -]*2|0)[ -]*8([ -]*[0-9]){8,11}[ -]*$"
"""What :func:`app.domain.enrolment.identity.normalise_phone` accepts: spaces and dashes anywhere."""


class RegisterRequest(BaseModel):
    """Register a person in the client's agency."""

    nama: Annotated[Text(required=True), WithJsonSchema({
        "type": "string", "minLength": 2, "maxLength": 100, "pattern": NAME,
        "description": "The full name: letters and single spaces, without titles (`Dr`, `S.Kom`, ...)."})]
    email: Annotated[Text(254, required=True), WithJsonSchema(EMAIL)]
    nik: Annotated[Text(32, required=True), WithJsonSchema(NIK)] = Field(
        description="16 digits; required by Paraf (the activation wizard needs it).")
    phone: Annotated[Text(32), WithJsonSchema({
        "type": "string", "maxLength": 32, "pattern": PHONE,
        "description": "An Indonesian mobile number, e.g. `0812 3456 7890` or `+62 812 3456 7890`."})] = None


class SealActivationRequest(BaseModel):
    """Activate a seal, or with `totp` refresh its activation code."""

    idSubscriber: Annotated[Text(32, required=True), WithJsonSchema({"type": "string", "pattern": "^SEAL-[0-9A-F]{20}$"})]
    totp: Code(8) = Field(None, description="The current activation code.")


class SealEndRequest(SealActivationRequest):
    """End the activation whose current activation code is `totp`."""

    totp: Code(8, required=True) = Field(description="The current activation code.")


class SealCodeRequest(SealEndRequest):
    """Buy a sealing code covering `data` documents with the current activation code."""

    data: Annotated[int, WrapValidator(_count("seal_documents", "max_seal_documents")),
                    _count_schema("SEAL_MAX_DOCUMENTS_PER_CODE")] = Field(
        None, validate_default=True, description="Documents the sealing code covers (at most `SEAL_MAX_DOCUMENTS_PER_CODE`).")


class SealRequest(SealEndRequest):
    """Seal PDFs with the agency's seal."""

    model_config = ConfigDict(json_schema_extra=_schema("file"))

    totp: Code(8, required=True) = Field(description="The sealing code (used up).")
    file: Files = Field(None, validate_default=True)
    signatureProperties: Properties = Field(None, validate_default=True)


Base64 = Annotated[str, Field(json_schema_extra={"contentEncoding": "base64"})]


class Error(BaseModel):
    """An error of the table: `error` is the sentence to show, `error_code` the stable key."""

    status_code: int
    message: str
    error: str = Field(description="The sentence to show the person (same as `message`).")
    error_code: Literal[tuple(sorted(ERRORS))]
    remaining: int | None = None
    field: str | None = None
    index: int | None = None
    tag: str | None = None


class Unauthorized(BaseModel):
    """Missing or wrong client credentials."""

    timestamp: str
    status: int
    error: str
    path: str


class SignAnswer(BaseModel):
    """Signed (or sealed) PDFs in request order."""

    time: int = Field(description="milliseconds")
    file: list[Base64]


class TotpAnswer(BaseModel):
    """A signing TOTP was sent."""

    success: bool
    status_code: int
    message: str
    channel: Literal["whatsapp", "email"]
    data: int


class StatusAnswer(BaseModel):
    """The subscriber's status."""

    status_code: int
    message: str
    status: Literal[tuple(STATUSES)]


class RegisterAnswer(BaseModel):
    """The registered person's status."""

    success: bool
    status_code: int
    status: Literal[tuple(STATUSES)]
    message: str
    email: str
    agency: str


class ChainAnswer(BaseModel):
    """The certificate chain, base64 DER, leaf first."""

    success: bool
    data: list[Base64]


class TimestampInfo(BaseModel):
    """The signature's timestamp."""

    id: str | None
    signerName: str | None
    timestampDate: str | None


class CertificateDetail(BaseModel):
    """One certificate of a signer's chain."""

    id: str = Field(pattern="^C-")
    commonName: str
    issuerName: str
    serialNumber: str = Field(pattern="^[0-9]+$")
    notBeforeDate: str
    notAfterDate: str
    signatureAlgoritm: str
    keyUsages: list[str]


class SignatureInformation(BaseModel):
    """One signature of a verified PDF."""

    id: str = Field(pattern="^S-")
    fieldName: str
    signerName: str
    signatureDate: str
    reason: str
    location: str
    integrityValid: bool
    certificateTrusted: bool
    modified: bool
    signatureFormat: str
    ltv: bool
    lastSignature: bool
    isSeal: bool | None = Field(None, description="An agency's electronic seal, not a person.")
    timestampInfomation: TimestampInfo
    digestAlgorithm: str
    signatureAlgorithm: str
    certLevelCode: int | str
    certificateDetails: list[CertificateDetail] = Field(description="Leaf first.")


class VerifyAnswer(BaseModel):
    """The verification report."""

    signatureCount: int
    description: str
    conclusion: Literal["VALID", "WARNING", "INVALID", "NO_SIGNATURE"]
    signatureInformations: list[SignatureInformation]


class SealAnswer(BaseModel):
    """A seal call's answer."""

    success: bool
    status_code: int
    message: str
    idSubscriber: str
    totp: str | None = None
    data: int | None = None
    expiresAt: str | None = Field(None, json_schema_extra={"format": "date-time"})


class V1SignForm(BaseModel):
    """Sign a PDF (version 1): multipart form data; the stamp's fields count only when `tampilan` is `visible`."""

    model_config = ConfigDict(json_schema_extra=_schema("file", "passphrase"))

    file: Annotated[object, BINARY_PDF] = None
    nik: Annotated[Text(32, required=True), WithJsonSchema(NIK)]
    passphrase: Passphrase = Field(None, validate_default=True)
    tampilan: Form({"type": "string", "enum": ["visible", "invisible"]}) = None
    image: Form({"type": "string", "enum": ["true", "false"],
                 "description": "`true` draws `imageTTD`, `false` a QR code of `linkQR`."}) = None
    imageTTD: Annotated[object, BINARY_IMAGE] = None
    linkQR: Form({"type": "string", "maxLength": 500, "pattern": "^https?://"}) = None
    page: Form({"type": "string", "pattern": "^[0-9]+$"}) = None
    xAxis: Form({"type": "string", "description": "A number: the stamp's left edge in points."}) = None
    yAxis: Form({"type": "string", "description": "A number: the stamp's lower edge in points."}) = None
    width: Form({"type": "string", "description": "A positive number of points."}) = None
    height: Form({"type": "string", "description": "A positive number of points."}) = None
    tag_koordinat: Form({"type": "string", "maxLength": TEXT_LIMIT}) = None
    reason: Text() = None
    location: Text() = None
    text: Form({"type": "string", "description": "Accepted and not drawn: Paraf's stamp wording is fixed."}) = None


class V1VerifyForm(BaseModel):
    """Verify a PDF (version 1): multipart form data."""

    model_config = ConfigDict(json_schema_extra=_schema("signed_file"))

    signed_file: Annotated[object, BINARY_PDF] = None


class V1Detail(BaseModel):
    """One signature of a version 1 report."""

    signature_field: dict
    info_signer: dict
    info_tsa: dict
    signature_document: dict


class V1VerifyAnswer(BaseModel):
    """The version 1 verification report."""

    nama_dokumen: str
    jumlah_signature: int
    notes: str
    summary: Literal["VALID", "WARNING", "INVALID", "NO_SIGNATURE"]
    details: list[V1Detail]


@dataclass(frozen=True)
class Operation:
    """One call of the API: its request and answer models and, per HTTP status, the errors it can answer."""

    method: str
    path: str
    request: type[BaseModel] | None
    answer: type[BaseModel] | None  # None: the signed PDF itself
    errors: dict[int, tuple[str, tuple[str, ...]]]
    form: bool = False  # multipart form data (version 1) rather than JSON


LIMIT_ERRORS = ("body_too_large", "file_too_large", "file_too_many_pages", "file_too_many_signatures",
                "file_too_much_data", "file_page_too_large", "file_too_complex")
FILE_ERRORS = ("malformed_json", "missing_field", "invalid_field", "no_files", "too_many_files", "file_empty",
               "file_not_base64", "properties_count", "bad_tampilan", "bad_page", "bad_box", "bad_image")
SIGNING_REFUSALS = ("wrong_passphrase", "not_verified", "no_certificate", "certificate_new", "certificate_expired",
                    "certificate_revoked", "account_suspended", "update_pending")
SEAL_REFUSALS = ("seal_not_usable", "seal_code_wrong", "seal_code_expired", "seal_code_used", "seal_not_activated")
BAD_REQUEST = ("malformed_json", "missing_field", "invalid_field")
FILE_UNUSABLE = (422, ("Unusable file or tag.", ("tag_not_found", "file_damaged", "file_encrypted_sign")))
FILE_NOT_PDF = (415, ("Not a PDF.", ("file_not_pdf",)))
TOO_LARGE = (413, ("Too large, or over one of Paraf's bounds on a PDF.", LIMIT_ERRORS))
SEAL_COMMON = {404: ("Unknown seal, or one the client may not use.", ("seal_not_found",)),
               423: ("Locked after wrong codes.", ("seal_locked",))}

OPERATIONS = (
    Operation("post", "/api/v2/sign/pdf", SignRequest, SignAnswer, {
        400: ("Bad request.", (*FILE_ERRORS, "passphrase_required")),
        403: ("The subscriber cannot sign now.", (*SIGNING_REFUSALS, "totp_wrong", "totp_expired", "totp_missing",
                                                  "totp_locked", "totp_count")),
        404: ("Unknown subscriber, or one outside the client's agencies.", ("not_registered",)),
        **dict((TOO_LARGE, FILE_NOT_PDF, FILE_UNUSABLE)),
        423: ("Signing locked.", ("signing_locked",)),
        503: ("Signing failed on the server; try again.", ("signing_failed", "server_error"))}),
    Operation("post", "/api/v2/sign/get/totp", TotpRequest, TotpAnswer, {
        400: ("Bad request.", BAD_REQUEST),
        403: ("The subscriber cannot sign now.", SIGNING_REFUSALS[1:]),
        404: ("Unknown subscriber.", ("not_registered",)),
        429: ("Asked too soon.", ("totp_throttled",))}),
    Operation("post", "/api/v2/user/check/status", Subscriber, StatusAnswer, {
        400: ("Bad request.", BAD_REQUEST)}),
    Operation("get", "/api/v2/user/certificate/chain/{id}", None, ChainAnswer, {
        400: ("Bad request.", ("invalid_field",)),
        403: ("The subscriber has no certificate.", ("no_certificate",)),
        404: ("Unknown subscriber.", ("not_registered",))}),
    Operation("post", "/api/v2/verify/pdf", VerifyRequest, VerifyAnswer, {
        400: ("Bad request.", (*BAD_REQUEST, "file_empty", "file_not_base64")),
        **dict((TOO_LARGE, FILE_NOT_PDF)),
        422: ("Unusable file.", ("file_damaged", "file_encrypted", "file_wrong_password"))}),
    Operation("post", "/api/v2/user/register", RegisterRequest, RegisterAnswer, {
        400: ("Bad request.", BAD_REQUEST),
        409: ("Already registered, or the agency asks for a request letter.", ("email_registered", "nik_registered",
                                                                                "letter_required")),
        422: ("The e-mail's domain is none of the client's agencies'.", ("domain_not_served",))}),
    Operation("post", "/api/v2/seal/get/activation", SealActivationRequest, SealAnswer, {
        400: ("Bad request.", BAD_REQUEST),
        403: ("The seal or the code cannot be used.", SEAL_REFUSALS),
        409: ("No custodian can receive codes.", ("seal_no_custodian",)),
        429: ("Asked too soon.", ("seal_activation_throttled",)), **SEAL_COMMON}),
    Operation("post", "/api/v2/seal/get/totp", SealCodeRequest, SealAnswer, {
        400: ("Bad request.", (*BAD_REQUEST, "seal_documents")),
        403: ("The seal or the code cannot be used.", SEAL_REFUSALS), **SEAL_COMMON}),
    Operation("post", "/api/v2/seal/pdf", SealRequest, SignAnswer, {
        400: ("Bad request.", FILE_ERRORS),
        403: ("The seal or the code cannot be used.", (*SEAL_REFUSALS, "seal_code_count")),
        **dict((TOO_LARGE, FILE_NOT_PDF, FILE_UNUSABLE)), **SEAL_COMMON,
        503: ("Sealing failed on the server; try again.", ("signing_failed", "server_error"))}),
    Operation("post", "/api/v2/seal/revoke/activation", SealEndRequest, SealAnswer, {
        400: ("Bad request.", BAD_REQUEST),
        403: ("The seal or the code cannot be used.", SEAL_REFUSALS), **SEAL_COMMON}),
    Operation("post", "/api/sign/pdf", V1SignForm, None, {
        400: ("Bad request.", ("missing_field", "invalid_field", "file_empty", "file_not_base64", "bad_tampilan",
                               "bad_page", "bad_box")),
        403: ("The subscriber cannot sign now.", SIGNING_REFUSALS),
        404: ("Unknown subscriber, or one outside the client's agencies.", ("not_registered",)),
        **dict((TOO_LARGE, FILE_NOT_PDF, FILE_UNUSABLE)),
        423: ("Signing locked.", ("signing_locked",)),
        503: ("Signing failed on the server; try again.", ("signing_failed",))}, form=True),
    Operation("get", "/api/sign/download/{id_dokumen}", None, None, {
        404: ("Unknown, another client's, or no longer kept.", ("document_not_found",))}),
    Operation("post", "/api/sign/verify", V1VerifyForm, V1VerifyAnswer, {
        400: ("Bad request.", ("missing_field", "file_empty")),
        **dict((TOO_LARGE, FILE_NOT_PDF)),
        422: ("Unusable file.", ("file_damaged", "file_encrypted"))}, form=True),
    Operation("get", "/api/user/status/{nik}", None, StatusAnswer, {
        400: ("Bad request.", ("invalid_field",))}),
)


def _api_error(error: dict) -> ApiError:
    """Return the table's error of the first violation."""
    kind, loc = error["type"], error["loc"]
    if kind in ERRORS:
        return ApiError(kind, **error.get("ctx", {}))
    return ApiError("missing_field" if kind == "missing" else "invalid_field", field=str(loc[0]) if loc else "?")


def validate(model: type[BaseModel], data: dict) -> Any:
    """Return the request body ``data`` read by ``model``, or raise the table's error of its first violation."""
    config = current_app.config
    context = {"max_files": int(config["API_MAX_FILES"]),
               "max_seal_documents": int(config["SEAL_MAX_DOCUMENTS_PER_CODE"])}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise _api_error(exc.errors()[0]) from None
