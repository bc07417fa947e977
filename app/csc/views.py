"""``/csc/v2``: info, auth/login, credentials/list|info|authorize and signatures/signHash (CSC API v2).

The subscriber logs in with their portal username (or e-mail) and password over HTTP Basic and the code of
their portal authenticator app as ``OTP`` in the JSON body (both factors, as the portal asks), and gets a
short-lived bearer token that ends with every session of the account. ``credentials/authorize`` takes the
passphrase as the PIN (and optionally the API signing code as the OTP), checks it against the key — a wrong one
counts toward the signing lock — and returns a SAD bound to the given hashes that carries the KEK-wrapped key,
never the passphrase (see ``sad.py``). ``signatures/signHash`` signs exactly those hashes with RSA PKCS#1 v1.5
once, unwrapping the key in the HSM. Both the CSC v2 parameter names (``hashes``, ``hashAlgorithmOID``,
``authData``) and the v1 ones (``hash``, ``hashAlgo``, ``PIN``/``OTP``) are read. Errors are
``{"error", "error_description"}`` with a 4xx status.
"""

from __future__ import annotations

import base64
import binascii
import logging

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from .. import throttle
from ..api import totp
from ..api.errors import ApiError
from ..domain import keys
from ..domain.accounts import authenticators, login
from ..domain.key_errors import KeyServiceUnavailable
from ..domain.signing import signatures
from ..extensions import csrf, db
from ..lifecycle import CertificateStatus
from ..models import Account, Certificate
from ..platform.audit import Actor, record
from ..urls import public_url
from ..web import settle
from . import sad
from .errors import CscError, invalid_request, response

log = logging.getLogger(__name__)
bp = Blueprint("csc", __name__, url_prefix="/csc/v2")
csrf.exempt(bp)
SHA256 = "2.16.840.1.101.3.4.2.1"
SHA256_WITH_RSA, RSA = "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.1"  # sha256WithRSAEncryption, rsaEncryption
SIGN_ALGOS = (SHA256_WITH_RSA, RSA)
NO_ALGO_PARAMS = (None, "", "BQA=")  # RSA PKCS#1 v1.5 has no parameters: absent, or DER NULL
MAX_HASHES = 20
PIN_DESCRIPTION = "Passphrase kunci tanda tangan"
OTP_DESCRIPTION = "Kode dari /api/v2/sign/get/totp (faktor kedua)"
OPEN = ("csc.info", "csc.login", "csc.openapi")


@bp.before_request
def bearer():
    """Bound the body, then require a valid bearer token except for info and login."""
    request.max_content_length = int(current_app.config["API_MAX_BODY_BYTES"])
    if request.endpoint in OPEN:
        return None
    header = request.headers.get("Authorization", "")
    claims = sad.read_token(header[7:].strip()) if header[:7].lower() == "bearer " else None
    account = db.session.get(Account, claims[0]) if claims else None
    if account is None or account.session_version != claims[1] or not login.can_sign_in(account):
        return response(CscError("invalid_token", "The access token is missing, invalid or expired.", 401))
    g.csc_account = account
    return None


@bp.errorhandler(CscError)
def csc_error(error: CscError):
    """Answer a CSC error, keeping only the changes that count wrong tries."""
    settle(keep=error.keep_changes)
    return response(error)


@bp.errorhandler(Exception)
def unexpected(error: Exception):
    """Answer an unexpected failure as a CSC error, never a stack trace."""
    log.exception("CSC call %s failed", request.path)
    settle(keep=False)
    return response(CscError("server_error", "The request failed on the server; try again.", 503))


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """Answer an oversized body."""
    return response(CscError("invalid_request", "The request is too large.", 413))


def _body(optional: bool = False) -> dict:
    if optional and not request.get_data():
        return {}
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object.")
    return data


def _actor() -> Actor:
    account = g.csc_account
    return Actor(f"csc:{account.username or account.email}", ip=request.remote_addr, agency_id=account.agency_id)


def _credential(data: dict) -> Certificate:
    """Return the signing certificate named by ``credentialID`` if it is the account's current one."""
    credential_id = data.get("credentialID")
    if not isinstance(credential_id, str) or not credential_id:
        raise invalid_request("Missing or invalid parameter credentialID.")
    try:
        certificate = signatures.signing_certificate(g.csc_account)
    except signatures.SigningRefused as exc:
        raise CscError("access_denied", "The credential cannot sign now: " + _reason(exc), 403) from None
    if str(certificate.id) != credential_id:
        raise invalid_request("Invalid parameter credentialID.")
    return certificate


def _reason(exc: Exception) -> str:
    if isinstance(exc, signatures.SigningLocked):
        return "signing is locked after repeated wrong passphrases."
    account = g.csc_account
    return f"account status {account.status}." if account.status else "no active certificate."


def _hashes(data: dict) -> list[str]:
    """Return the Base64 SHA-256 hashes given as ``hashes`` (CSC v2) or ``hash`` (v1)."""
    hashes = data.get("hashes", data.get("hash"))
    if not isinstance(hashes, list) or not hashes or len(hashes) > MAX_HASHES:
        raise invalid_request("Missing or invalid parameter hashes.")
    for item in hashes:
        try:
            if not isinstance(item, str) or len(base64.b64decode(item, validate=True)) != 32:
                raise ValueError
        except (binascii.Error, ValueError):
            raise invalid_request("Invalid Base64 hash string parameter.") from None
    return hashes


def _hash_algorithm(data: dict, required: bool) -> None:
    """Refuse a hash algorithm other than SHA-256 given as ``hashAlgorithmOID`` (CSC v2) or ``hashAlgo`` (v1)."""
    oid = data.get("hashAlgorithmOID", data.get("hashAlgo"))
    if oid != SHA256 and (required or oid is not None):
        raise invalid_request("Missing or unsupported parameter hashAlgorithmOID (SHA-256 only).")


def _auth_value(data: dict, name: str):
    """Return the ``PIN`` or ``OTP`` given in ``authData`` (CSC v2, ``[{"id", "value"}]``) or as the v1 parameter."""
    auth_data = data.get("authData", [])
    if not isinstance(auth_data, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str)
                                                  for item in auth_data):
        raise invalid_request("Invalid parameter authData.")
    return {item.get("id"): item.get("value") for item in auth_data}.get(name, data.get(name))


@bp.get("/openapi.json")
def openapi():
    """Serve the OpenAPI 3.1 document of this API."""
    from .openapi import spec  # it reads this module's limits

    return jsonify(spec())


@bp.post("/info")
def info():
    """Describe the service with every field CSC v2 requires."""
    if not isinstance(_body(optional=True).get("lang", ""), str):
        raise invalid_request("Invalid parameter lang.")
    return jsonify(specs="2.0.0.2", name="Paraf", logo=public_url("static", filename="logo.png"), region="ID",
                   lang="id",
                   description="Tanda tangan jarak jauh Paraf (CSC API v2, signHash). auth/login: username dan kata "
                               "sandi portal lewat HTTP Basic, kode aplikasi autentikator portal sebagai OTP di body.",
                   authType=["basic"],
                   methods=["auth/login", "credentials/list", "credentials/info", "credentials/authorize",
                            "signatures/signHash"],
                   asynchronousOperationMode=False,
                   signAlgorithms={"algos": list(SIGN_ALGOS)},
                   signature_formats={"formats": ["P"], "envelope_properties": [["Revision"]]})


@bp.post("/auth/login", endpoint="login")
@throttle.sign_in(throttle.basic_login)
def login_():
    """Exchange the portal username/e-mail and password (HTTP Basic) and the authenticator code (``OTP``) for a token."""
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return response(CscError("invalid_request", "HTTP Basic credentials are required.", 401))
    code = _body().get("OTP")
    if not isinstance(code, str) or not code:
        raise invalid_request("Missing parameter OTP (the code of the portal's authenticator app).")
    found, account = login.check_first_factor(auth.username or "", auth.password or "", request.remote_addr)
    reason = None
    if account is not None:
        try:
            authenticators.verify(account, code)
        except authenticators.InvalidCode:
            login.count_failure(account, request.remote_addr)
            account, reason = None, "otp"
    if account is None:
        record(Actor("csc:login", ip=request.remote_addr, agency_id=found.agency_id if found else None),
               "csc.login_failed", "account", found.id if found else None, reason=reason)
        # the failure counts toward the sign-in block
        raise CscError("authentication_error", "Wrong username, password or OTP.", 401, keep_changes=True)
    login.clear_failures(account, request.remote_addr)
    token, lifetime = sad.issue_token(account.id, account.session_version)
    record(Actor(f"csc:{account.username or account.email}", ip=request.remote_addr, agency_id=account.agency_id),
           "csc.login", "account", account.id)
    return jsonify(access_token=token, expires_in=lifetime)


@bp.post("/credentials/list")
def credentials_list():
    """List the account's signing credential (its current certificate), if it may sign; described if asked."""
    data = _body(optional=True)  # every parameter is optional, so is the body
    try:
        certificates = [signatures.signing_certificate(g.csc_account)]
    except signatures.SigningRefused:
        certificates = []
    answer = {"credentialIDs": [str(certificate.id) for certificate in certificates]}
    if data.get("credentialInfo"):
        answer["credentialInfos"] = [{"credentialID": str(certificate.id), **_describe(certificate, data)}
                                     for certificate in certificates]
    if data.get("onlyValid"):
        answer["onlyValid"] = True  # only a certificate that may sign now is ever listed
    return jsonify(answer)


@bp.post("/credentials/info")
def credentials_info():
    """Describe a credential: key, certificate chain, explicit authorization with PIN and optional OTP."""
    data = _body()
    return jsonify(_describe(_credential(data), data))


def _describe(certificate: Certificate, data: dict) -> dict:
    """Return a credential's description in the CSC v2 shape, with the v1 ``authMode``/``PIN``/``OTP`` kept."""
    from asn1crypto import x509

    cert = x509.Certificate.load(certificate.der)
    hierarchy = keys.context().hierarchy()
    wanted = data.get("certificates")
    chain = {"none": [], "chain": [certificate.der, hierarchy.issuing, hierarchy.root]}.get(
        wanted if isinstance(wanted, str) else "single", [certificate.der])
    answer = {
        "key": {"status": "enabled", "algo": list(SIGN_ALGOS), "len": cert.public_key.bit_size},
        "cert": {"status": "valid" if certificate.status == CertificateStatus.ISSUE else "revoked",
                 "certificates": [base64.b64encode(der).decode("ascii") for der in chain]},
        "auth": {"mode": "explicit", "expression": "PIN OR (PIN AND OTP)",
                 "objects": [{"type": "Password", "id": "PIN", "format": "A", "label": "Passphrase",
                              "description": PIN_DESCRIPTION},
                             {"type": "Password", "id": "OTP", "format": "N", "label": "OTP", "generator": "api-sign",
                              "description": OTP_DESCRIPTION}]},
        "authMode": "explicit",
        "SCAL": "2",
        "PIN": {"presence": "true", "format": "A", "label": "Passphrase", "description": PIN_DESCRIPTION},
        "OTP": {"presence": "optional", "type": "online", "format": "N", "label": "OTP", "ID": "api-sign",
                "description": OTP_DESCRIPTION},
        "multisign": MAX_HASHES,
        "lang": "id",
    }
    if data.get("certInfo"):
        answer["cert"].update(issuerDN=cert.issuer.human_friendly, serialNumber=format(cert.serial_number, "x"),
                              subjectDN=cert.subject.human_friendly,
                              validFrom=cert.not_valid_before.strftime("%Y%m%d%H%M%SZ"),
                              validTo=cert.not_valid_after.strftime("%Y%m%d%H%M%SZ"))
    return answer


@bp.post("/credentials/authorize")
def credentials_authorize():
    """Check the PIN (passphrase) and optional OTP; return a SAD with the wrapped key, bound to the hashes."""
    data = _body()
    certificate = _credential(data)
    hashes = _hashes(data)
    _hash_algorithm(data, required=False)
    count = data.get("numSignatures", len(hashes))
    if isinstance(count, bool) or not isinstance(count, int) or not len(hashes) <= count <= MAX_HASHES:
        raise invalid_request("Invalid parameter numSignatures.")
    pin, otp = _auth_value(data, "PIN"), _auth_value(data, "OTP")
    if not isinstance(pin, str) or not pin:
        raise invalid_request("Missing parameter PIN (the passphrase), in authData or on its own.")
    account, actor = g.csc_account, _actor()
    if otp is not None:
        try:
            totp.consume(account, otp, count)
        except ApiError as exc:
            raise CscError("invalid_otp", "Invalid OTP.", keep_changes=exc.keep_changes) from None
    try:
        wrapped = signatures.check_passphrase(account, certificate, pin, actor)
    except signatures.SigningLocked:
        raise CscError("locked", "Wrong PIN; signing is now locked. Reset the passphrase.", 403) from None
    except signatures.PassphraseWrong as exc:
        raise CscError("invalid_pin", f"Invalid PIN; {exc.remaining} tries left.") from None
    except KeyServiceUnavailable:
        log.exception("cannot open the key of certificate %s", certificate.id)
        raise CscError("server_error", "The key cannot be opened.", 503) from None
    token, lifetime = sad.issue_sad(account.id, str(certificate.id), wrapped, certificate.key_blob, hashes, count)
    record(actor, "csc.authorize", "account", account.id, details={"hashes": len(hashes), "certificate": certificate.serial})
    return jsonify(SAD=token, expiresIn=lifetime)


@bp.post("/signatures/signHash")
def sign_hash():
    """Sign the hashes a SAD was issued for, once."""
    data = _body()
    certificate = _credential(data)
    hashes = _hashes(data)
    sign_algo = data.get("signAlgo")
    if sign_algo not in SIGN_ALGOS:
        raise invalid_request("Missing or unsupported parameter signAlgo (sha256WithRSAEncryption or rsaEncryption).")
    _hash_algorithm(data, required=sign_algo == RSA)  # sha256WithRSAEncryption names its hash itself
    if data.get("signAlgoParams") not in NO_ALGO_PARAMS:
        raise invalid_request("Unsupported parameter signAlgoParams (RSA PKCS#1 v1.5 takes none).")
    if data.get("operationMode", "S") != "S":
        raise invalid_request("Unsupported parameter operationMode (synchronous S only).")
    token = data.get("SAD")
    account = g.csc_account
    activation = sad.open_sad(token, account.id) if isinstance(token, str) else None
    if activation is None or activation.credential_id != str(certificate.id):
        raise CscError("invalid_request", "Invalid or expired SAD.")
    if not set(hashes) <= activation.hashes or len(hashes) > activation.count:
        raise CscError("invalid_request", "The hashes are not those the SAD was issued for.")
    if not activation.issued_for(certificate.key_blob):
        raise CscError("invalid_request", "Invalid SAD: the passphrase changed since it was issued.")
    if not sad.spend(activation):
        raise CscError("invalid_request", "The SAD was already used.")
    try:
        signed = keys.sign_digests(certificate, activation.wrapped, [base64.b64decode(h) for h in hashes])
    except KeyServiceUnavailable:
        log.exception("signHash failed for certificate %s", certificate.id)
        raise CscError("server_error", "Signing failed; try again.", 503) from None
    record(_actor(), "csc.sign_hash", "account", account.id, details={"hashes": len(hashes), "certificate": certificate.serial})
    return jsonify(signatures=[base64.b64encode(s).decode("ascii") for s in signed])
