"""The OpenAPI 3.1 document of ``/csc/v2``, kept by hand beside ``views.py`` (fuzzed against it by the suite)."""

from __future__ import annotations

from .views import MAX_HASHES, SHA256, SIGN_ALGOS

_STRING = {"type": "string"}
_FLAG = {"type": "boolean"}
_HASHES = {"type": "array", "minItems": 1, "maxItems": MAX_HASHES,
           "items": {"type": "string", "contentEncoding": "base64", "minLength": 44, "maxLength": 44,
                     "pattern": "^[A-Za-z0-9+/]{43}=$", "description": "A SHA-256 digest, Base64"}}
_HASH_ALGO = {"type": "string", "const": SHA256, "description": "SHA-256 only"}
_CREDENTIAL_ID = {"type": "string", "minLength": 1, "description": "From credentials/list"}
_AUTH_DATA = {"type": "array", "description": "CSC v2: the PIN (passphrase) and optional OTP",
              "items": {"type": "object", "required": ["id", "value"],
                        "properties": {"id": {"type": "string", "enum": ["PIN", "OTP"]}, "value": _STRING}}}
_ERROR = {"type": "object", "required": ["error", "error_description"],
          "properties": {"error": _STRING, "error_description": _STRING}}
_DESCRIPTION = {"type": "object", "required": ["key", "cert", "auth", "authMode", "SCAL", "multisign"],
                "properties": {"key": {"type": "object"}, "cert": {"type": "object"}, "auth": {"type": "object"},
                               "authMode": _STRING, "SCAL": _STRING, "PIN": {"type": "object"},
                               "OTP": {"type": "object"}, "multisign": {"type": "integer"}, "lang": _STRING}}
_DESCRIBE_OPTIONS = {"certificates": {"type": "string", "enum": ["none", "single", "chain"]},
                     "certInfo": _FLAG, "authInfo": _FLAG}
_REASONS = {400: "invalid_request (or invalid_pin, invalid_otp)", 401: "invalid_token: no valid bearer token",
            403: "access_denied (the credential cannot sign now) or locked (signing locked after wrong PINs)",
            413: "The request is too large", 429: "too_many_requests (with Retry-After)",
            503: "server_error: the key service failed; try again"}


def _errors(*statuses: int) -> dict:
    return {str(status): {"description": _REASONS[status], "content": {"application/json": {"schema": _ERROR}}}
            for status in statuses}


def _ok(schema: dict) -> dict:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _body(schema: dict, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": {"type": "object", **schema}}}}


def _operation(summary: str, body: dict, answer: dict, statuses: tuple[int, ...], security: str | None = "bearer") -> dict:
    operation = {"summary": summary, "requestBody": body, "responses": {**_ok(answer), **_errors(*statuses)}}
    operation["security"] = [{security: []}] if security else []
    return operation


def spec() -> dict:
    """Return the document."""
    signing = (400, 401, 403, 413, 429, 503)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Paraf CSC API", "version": "2.0.0.2",
                 "description": "Cloud Signature Consortium API v2 (signHash) of Paraf; v1 parameter names are read too."},
        "servers": [{"url": "/csc/v2"}],
        "components": {"securitySchemes": {
            "basic": {"type": "http", "scheme": "basic", "description": "Portal username (or e-mail) and password"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "access_token from auth/login"}}},
        "paths": {
            "/info": {"post": _operation(
                "Describe the service", _body({"properties": {"lang": _STRING}}, required=False),
                {"type": "object", "required": ["specs", "name", "logo", "region", "lang", "authType", "methods"],
                 "properties": {"specs": _STRING, "name": _STRING, "logo": _STRING, "region": _STRING,
                                "lang": _STRING, "description": _STRING,
                                "authType": {"type": "array", "items": _STRING},
                                "methods": {"type": "array", "items": _STRING}}},
                (400, 413, 429), security=None)},
            "/auth/login": {"post": _operation(
                "Exchange the portal password (HTTP Basic) and authenticator code for a bearer token",
                _body({"required": ["OTP"], "properties": {"OTP": {"type": "string", "minLength": 1}, "rememberMe": _FLAG}}),
                {"type": "object", "required": ["access_token", "expires_in"],
                 "properties": {"access_token": _STRING, "expires_in": {"type": "integer"}}},
                (400, 401, 413, 429), security="basic")},
            "/credentials/list": {"post": _operation(
                "List the signing credential", _body({"properties": {
                    "credentialInfo": _FLAG, "onlyValid": _FLAG, "lang": _STRING, **_DESCRIBE_OPTIONS}}, required=False),
                {"type": "object", "required": ["credentialIDs"],
                 "properties": {"credentialIDs": {"type": "array", "items": _STRING},
                                "credentialInfos": {"type": "array", "items": _DESCRIPTION},
                                "onlyValid": _FLAG}},
                (400, 401, 413, 429))},
            "/credentials/info": {"post": _operation(
                "Describe a credential", _body({"required": ["credentialID"], "properties": {
                    "credentialID": _CREDENTIAL_ID, "lang": _STRING, **_DESCRIBE_OPTIONS}}),
                _DESCRIPTION, (400, 401, 403, 413, 429))},
            "/credentials/authorize": {"post": _operation(
                "Check the PIN (passphrase) and optional OTP; return a SAD bound to the hashes",
                _body({"required": ["credentialID"],
                       "anyOf": [{"required": ["hashes"]}, {"required": ["hash"]}],
                       "properties": {"credentialID": _CREDENTIAL_ID, "hashes": _HASHES, "hash": _HASHES,
                                      "hashAlgorithmOID": _HASH_ALGO, "hashAlgo": _HASH_ALGO,
                                      "numSignatures": {"type": "integer", "minimum": 1, "maximum": MAX_HASHES},
                                      "authData": _AUTH_DATA, "PIN": {"type": "string", "minLength": 1},
                                      "OTP": _STRING, "description": _STRING, "clientData": _STRING}}),
                {"type": "object", "required": ["SAD", "expiresIn"],
                 "properties": {"SAD": _STRING, "expiresIn": {"type": "integer"}}},
                signing)},
            "/signatures/signHash": {"post": _operation(
                "Sign the hashes a SAD was issued for, once",
                _body({"required": ["credentialID", "SAD", "signAlgo"],
                       "anyOf": [{"required": ["hashes"]}, {"required": ["hash"]}],
                       "properties": {"credentialID": _CREDENTIAL_ID, "SAD": {"type": "string", "minLength": 1},
                                      "hashes": _HASHES, "hash": _HASHES,
                                      "hashAlgorithmOID": _HASH_ALGO, "hashAlgo": _HASH_ALGO,
                                      "signAlgo": {"type": "string", "enum": list(SIGN_ALGOS)},
                                      "signAlgoParams": {"type": "string", "enum": ["", "BQA="]},
                                      "operationMode": {"type": "string", "const": "S"}, "clientData": _STRING}}),
                {"type": "object", "required": ["signatures"],
                 "properties": {"signatures": {"type": "array", "items": _STRING}}},
                signing)},
        },
    }
