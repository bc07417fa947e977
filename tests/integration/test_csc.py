"""CSC API v2: pyHanko's own CSC client signs a PDF through /csc/v2 and pdfsig trusts it; the refusals."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from urllib.parse import urlsplit

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)
from sqlalchemy import select

from app.csc import sad
from app.domain import keys
from app.domain.accounts import login
from app.domain.accounts.passwords import hash_password
from app.extensions import db
from app.models import Account, AuditEvent, Certificate
from app.models.account import SignInFailure
from app.platform import sealing
from signer import keys as signer_keys
from tests import key_blobs
from tests.api_helpers import basic
from tests.auth_helpers import give_authenticator, totp_code, wrong_code
from tests.pdfs import make_pdf
from tests.pki_helpers import pdfsig, validate

pytestmark = pytest.mark.slow
PASSWORD = "Kata-Sandi#Portal2026"
SHA256_OID, RSA_OID, SHA256_WITH_RSA_OID = "2.16.840.1.101.3.4.2.1", "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11"


class PassphraseAuthorization(CSCAuthorizationManager):
    """Ask credentials/authorize for a SAD bound to exactly the hashes to sign, with the passphrase as PIN."""

    def __init__(self, session: aiohttp.ClientSession, info: CSCServiceSessionInfo, credential, pin: str):
        super().__init__(info, credential)
        self.session, self.pin = session, pin

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        """Post the hashes and PIN; return the SAD."""
        body = self.format_csc_auth_request(pin=self.pin, hash_b64s=hash_b64s)
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.session.post(url, json=body, headers=self.auth_headers, raise_for_status=True) as response:
            return self.parse_csc_auth_response(await response.json())


@pytest.fixture()
def csc_subscriber(app, caller):
    """Give the caller's subscriber a portal password and authenticator; return the caller, username and TOTP secret."""
    with app.app_context():
        account = db.session.get(Account, caller.subscriber.id)
        account.password_hash = hash_password(PASSWORD)
        secret = give_authenticator(account)
        db.session.commit()
        username = account.username
    return caller, username, secret


async def _sign_through_csc(base_url: str, username: str, secret: str, passphrase: str, document: bytes) -> bytes:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base_url}/csc/v2/auth/login", headers=basic(username, PASSWORD),
                                json={"OTP": totp_code(secret)}) as response:
            assert response.status == 200, await response.text()
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with session.post(f"{base_url}/csc/v2/credentials/list", json={}, headers=headers) as response:
            (credential_id,) = (await response.json())["credentialIDs"]
        info = CSCServiceSessionInfo(service_url=base_url, credential_id=credential_id, oauth_token=token,
                                     api_ver="v2")
        credential = await fetch_certs_in_csc_credential(session, info)
        assert credential.hash_pinning_required
        signer = CSCSigner(session, PassphraseAuthorization(session, info, credential, passphrase))
        writer = IncrementalPdfFileWriter(io.BytesIO(document))
        meta = signers.PdfSignatureMetadata(field_name="CSC1", subfilter=fields.SigSeedSubFilter.PADES, reason="CSC")
        out = io.BytesIO()
        await signers.PdfSigner(meta, signer).async_sign_pdf(writer, output=out)
        return out.getvalue()


def test_pyhanko_csc_client_signs_and_pdfsig_trusts(app, live_server, nss_db, csc_subscriber, tmp_path):
    caller, username, secret = csc_subscriber
    signed = asyncio.run(_sign_through_csc(live_server.url, username, secret, caller.subscriber.passphrase, make_pdf()))
    path = tmp_path / "csc.pdf"
    path.write_bytes(signed)
    out = pdfsig(nss_db, path)
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out
    with app.app_context():
        (report,) = validate(signed)
    assert report.intact and report.valid and report.trusted and report.signer_name == caller.subscriber.name


def _login(client, username: str, secret: str) -> dict:
    response = client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD), json={"OTP": totp_code(secret)})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_csc_refusals(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    assert client.post("/csc/v2/info").get_json()["authType"] == ["basic"]
    bad_login = client.post("/csc/v2/auth/login", headers=basic(username, "salah"), json={"OTP": totp_code(secret)})
    assert bad_login.status_code == 401 and set(bad_login.get_json()) == {"error", "error_description"}
    assert client.post("/csc/v2/credentials/list", json={}).status_code == 401
    assert client.post("/csc/v2/credentials/list", json={}, headers={"Authorization": "Bearer nope"}).status_code == 401
    headers = _login(client, username, secret)
    (credential,) = client.post("/csc/v2/credentials/list", json={}, headers=headers).get_json()["credentialIDs"]
    info = client.post("/csc/v2/credentials/info", json={"credentialID": credential, "certificates": "chain", "certInfo": True},
                       headers=headers).get_json()
    assert info["authMode"] == "explicit" and info["PIN"]["presence"] == "true" and len(info["cert"]["certificates"]) == 3
    assert info["key"]["len"] == 2048 and info["cert"]["subjectDN"]

    digest = base64.b64encode(hashlib.sha256(b"dokumen").digest()).decode()
    other = base64.b64encode(hashlib.sha256(b"lain").digest()).decode()
    authorize = {"credentialID": credential, "numSignatures": 1, "hash": [digest]}
    assert client.post("/csc/v2/credentials/authorize", json=authorize, headers=headers).status_code == 400  # no PIN
    wrong = client.post("/csc/v2/credentials/authorize", json={**authorize, "PIN": "salah"}, headers=headers)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_pin" and "salah" not in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Account, caller.subscriber.id).wrong_passphrases == 1
    good = client.post("/csc/v2/credentials/authorize", json={**authorize, "PIN": caller.subscriber.passphrase}, headers=headers)
    assert good.status_code == 200, good.get_json()
    sad = good.get_json()["SAD"]
    assert caller.subscriber.passphrase not in sad
    sign = {"credentialID": credential, "SAD": sad, "hashAlgo": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.113549.1.1.11"}
    assert client.post("/csc/v2/signatures/signHash", json={**sign, "hash": [other]}, headers=headers).status_code == 400
    assert client.post("/csc/v2/signatures/signHash", json={**sign, "SAD": sad[:-4] + "AAAA", "hash": [digest]},
                       headers=headers).status_code == 400
    signed = client.post("/csc/v2/signatures/signHash", json={**sign, "hash": [digest]}, headers=headers)
    assert signed.status_code == 200 and len(base64.b64decode(signed.get_json()["signatures"][0])) == 256
    again = client.post("/csc/v2/signatures/signHash", json={**sign, "hash": [digest]}, headers=headers)
    assert again.status_code == 400 and "already used" in again.get_json()["error_description"]
    with app.app_context():
        assert db.session.get(Account, caller.subscriber.id).wrong_passphrases == 0


def test_wrong_passwords_count_toward_the_sign_in_block(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    for _ in range(10):
        assert client.post("/csc/v2/auth/login", headers=basic(username, "salah"), json={"OTP": "000000"}).status_code == 401
    refused = client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD), json={"OTP": totp_code(secret)})
    assert refused.status_code == 401 and refused.get_json()["error"] == "authentication_error"
    with app.app_context():
        assert db.session.get(SignInFailure, (caller.subscriber.id, "127.0.0.1")).blocked_until is not None


def test_login_needs_the_authenticator_code_as_second_factor(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    password_only = client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD))
    assert password_only.status_code == 400 and "access_token" not in password_only.get_json()
    wrong = client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD), json={"OTP": wrong_code(secret)})
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "authentication_error"
    with app.app_context():
        assert db.session.get(SignInFailure, (caller.subscriber.id, "127.0.0.1")).failures == 1  # counted as the portal's
        (failed,) = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "csc.login_failed", AuditEvent.subject_id == str(caller.subscriber.id))).scalars()
        assert failed.reason == "otp"
    code = totp_code(secret)
    assert client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD), json={"OTP": code}).status_code == 200
    with app.app_context():
        assert db.session.get(SignInFailure, (caller.subscriber.id, "127.0.0.1")) is None  # both factors: forgotten
    replayed = client.post("/csc/v2/auth/login", headers=basic(username, PASSWORD), json={"OTP": code})
    assert replayed.status_code == 401  # a code works once, here as in the portal


def test_a_token_ends_with_the_sessions_of_the_account(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    assert client.post("/csc/v2/credentials/list", json={}, headers=headers).status_code == 200
    with app.app_context():
        login.end_sessions(db.session.get(Account, caller.subscriber.id))  # what logout, password change, ... do
        db.session.commit()
    ended = client.post("/csc/v2/credentials/list", json={}, headers=headers)
    assert ended.status_code == 401 and ended.get_json()["error"] == "invalid_token"


def _digests(*documents: bytes) -> list[str]:
    return [base64.b64encode(hashlib.sha256(document).digest()).decode() for document in documents]


def _credential_id(client, headers: dict) -> str:
    (credential,) = client.post("/csc/v2/credentials/list", json={}, headers=headers).get_json()["credentialIDs"]
    return credential


def _authorize_v2(client, headers: dict, credential: str, passphrase: str, digests: list[str], *auth_data: dict):
    """Ask for a SAD with CSC v2 names only: ``hashes``, ``hashAlgorithmOID`` and the PIN in ``authData``."""
    return client.post("/csc/v2/credentials/authorize", headers=headers, json={
        "credentialID": credential, "numSignatures": len(digests), "hashes": digests, "hashAlgorithmOID": SHA256_OID,
        "authData": [{"id": "PIN", "value": passphrase}, *auth_data]})


def test_a_strict_csc_v2_client_signs_hashes_that_verify_against_the_certificate(client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    listed = client.post("/csc/v2/credentials/list", json={"credentialInfo": True, "onlyValid": True},
                         headers=headers).get_json()
    (credential,) = listed["credentialIDs"]
    assert listed["onlyValid"] is True and [item["credentialID"] for item in listed["credentialInfos"]] == [credential]
    info = client.post("/csc/v2/credentials/info", headers=headers, json={
        "credentialID": credential, "certificates": "chain", "certInfo": True, "authInfo": True}).get_json()
    assert info["auth"]["mode"] == "explicit" and [item["id"] for item in info["auth"]["objects"]] == ["PIN", "OTP"]
    assert {RSA_OID, SHA256_WITH_RSA_OID} <= set(info["key"]["algo"]) and info["multisign"] >= 2
    public_key = x509.load_der_x509_certificate(base64.b64decode(info["cert"]["certificates"][0])).public_key()

    documents = [b"surat pertama", b"surat kedua"]
    authorized = _authorize_v2(client, headers, credential, caller.subscriber.passphrase, _digests(*documents))
    assert authorized.status_code == 200, authorized.get_json()
    sign = {"credentialID": credential, "SAD": authorized.get_json()["SAD"], "hashes": _digests(*documents),
            "hashAlgorithmOID": SHA256_OID, "signAlgo": RSA_OID}
    signed = client.post("/csc/v2/signatures/signHash", json=sign, headers=headers)
    assert signed.status_code == 200, signed.get_json()
    for document, signature in zip(documents, signed.get_json()["signatures"], strict=True):
        public_key.verify(base64.b64decode(signature), document, padding.PKCS1v15(), SHA256())
    again = client.post("/csc/v2/signatures/signHash", json=sign, headers=headers)
    assert again.status_code == 400 and "already used" in again.get_json()["error_description"]

    # sha256WithRSAEncryption names its hash, so hashAlgorithmOID may be left out
    token = _authorize_v2(client, headers, credential, caller.subscriber.passphrase, _digests(b"surat")).get_json()["SAD"]
    implied = client.post("/csc/v2/signatures/signHash", headers=headers, json={
        "credentialID": credential, "SAD": token, "hashes": _digests(b"surat"), "signAlgo": SHA256_WITH_RSA_OID})
    assert implied.status_code == 200, implied.get_json()
    public_key.verify(base64.b64decode(implied.get_json()["signatures"][0]), b"surat", padding.PKCS1v15(), SHA256())


def test_csc_v2_refuses_what_it_cannot_sign_and_reads_the_otp_from_auth_data(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    credential = _credential_id(client, headers)
    passphrase, digests = caller.subscriber.passphrase, _digests(b"surat")
    no_otp = _authorize_v2(client, headers, credential, passphrase, digests, {"id": "OTP", "value": "000000"})
    assert no_otp.status_code == 400 and no_otp.get_json()["error"] == "invalid_otp"  # no code was sent to use
    malformed = client.post("/csc/v2/credentials/authorize", headers=headers, json={
        "credentialID": credential, "numSignatures": 1, "hashes": digests, "authData": [{"id": ["PIN"], "value": "x"}]})
    assert malformed.status_code == 400 and malformed.get_json()["error"] == "invalid_request"
    token = _authorize_v2(client, headers, credential, passphrase, digests).get_json()["SAD"]
    sign = {"credentialID": credential, "SAD": token, "hashes": digests, "signAlgo": RSA_OID}
    for refused in ({}, {"hashAlgorithmOID": "2.16.840.1.101.3.4.2.3"}, {"signAlgo": "1.2.840.113549.1.1.10"},
                    {"hashAlgorithmOID": SHA256_OID, "signAlgoParams": "MAA="},
                    {"hashAlgorithmOID": SHA256_OID, "operationMode": "A"}):
        answer = client.post("/csc/v2/signatures/signHash", json={**sign, **refused}, headers=headers)
        assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_request", (refused, answer.get_json())
    signed = client.post("/csc/v2/signatures/signHash", json={**sign, "hashAlgorithmOID": SHA256_OID}, headers=headers)
    assert signed.status_code == 200, signed.get_json()  # the refusals before did not spend the SAD


def test_the_sad_carries_the_kek_wrapped_key_never_the_passphrase(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    credential, passphrase = _credential_id(client, headers), caller.subscriber.passphrase
    token = _authorize_v2(client, headers, credential, passphrase, _digests(b"surat")).get_json()["SAD"]
    with app.app_context():
        blob = db.session.get(Certificate, int(credential)).key_blob
        plain = sealing.unseal(base64.urlsafe_b64decode(token), sad.SAD_INFO, str(caller.subscriber.id).encode())
        hsm = keys.context().hsm
        wrapped = signer_keys.open_sealed(hsm, blob, passphrase)
        derived = key_blobs.derived_keys(hsm, blob, passphrase)
    header = blob[: signer_keys.HEADER.size]
    assert AESGCM(derived[-1]).decrypt(header[-12:], blob[len(header):], header) == wrapped  # the real outer key
    payload = json.loads(plain)
    assert base64.b64decode(payload["w"]) == wrapped  # unwraps only inside the HSM, under its KEK
    text = plain.decode()
    assert passphrase not in text and passphrase.encode() not in wrapped
    for key in derived:
        assert key not in plain and key not in wrapped
        assert key.hex() not in text and base64.b64encode(key).decode() not in text
        assert base64.urlsafe_b64encode(key).decode().rstrip("=") not in text


def test_a_sad_ends_when_the_passphrase_changes(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    credential, digests = _credential_id(client, headers), _digests(b"surat")
    token = _authorize_v2(client, headers, credential, caller.subscriber.passphrase, digests).get_json()["SAD"]
    with app.app_context():
        keys.change_passphrase(db.session.get(Certificate, int(credential)), caller.subscriber.passphrase, "Baru#Sekali2026")
        db.session.commit()
    refused = client.post("/csc/v2/signatures/signHash", headers=headers, json={
        "credentialID": credential, "SAD": token, "hashes": digests, "signAlgo": SHA256_WITH_RSA_OID})
    assert refused.status_code == 400 and "passphrase changed" in refused.get_json()["error_description"]


def test_info_answers_every_field_csc_v2_requires_and_a_logo_that_loads(client):
    info = client.post("/csc/v2/info", json={"lang": "id"}).get_json()
    required = {"specs": str, "name": str, "logo": str, "region": str, "lang": str, "description": str,
                "authType": list, "methods": list, "signAlgorithms": dict, "signature_formats": dict}
    for name, kind in required.items():
        assert isinstance(info.get(name), kind) and info[name], name
    assert info["specs"] == "2.0.0.2" and len(info["description"]) <= 255 and info["authType"] == ["basic"]
    assert set(info["signAlgorithms"]["algos"]) == {RSA_OID, SHA256_WITH_RSA_OID}
    formats = info["signature_formats"]
    assert formats["formats"] and len(formats["envelope_properties"]) == len(formats["formats"])
    for method in info["methods"]:  # every method announced exists
        assert client.post(f"/csc/v2/{method}", json={}).status_code != 404, method
    logo = urlsplit(info["logo"])
    assert logo.scheme in ("http", "https") and logo.netloc
    with client.get(logo.path) as image:
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert Image.open(io.BytesIO(image.data)).size[0] >= 64


def test_a_sad_issued_while_upgrading_a_version_1_key_still_signs(app, client, csc_subscriber):
    caller, username, secret = csc_subscriber
    headers = _login(client, username, secret)
    credential, passphrase, digests = _credential_id(client, headers), caller.subscriber.passphrase, _digests(b"surat")
    with app.app_context():
        row, ctx = db.session.get(Certificate, int(credential)), keys.context()
        row.key_blob = key_blobs.v1_seal(signer_keys.open_sealed(ctx.hsm, row.key_blob, passphrase), passphrase, ctx.kdf)
        db.session.commit()
    token = _authorize_v2(client, headers, credential, passphrase, digests).get_json()["SAD"]
    with app.app_context():
        assert key_blobs.version(db.session.get(Certificate, int(credential)).key_blob) == 2
    signed = client.post("/csc/v2/signatures/signHash", headers=headers, json={
        "credentialID": credential, "SAD": token, "hashes": digests, "signAlgo": SHA256_WITH_RSA_OID})
    assert signed.status_code == 200, signed.get_json()  # bound to the upgraded blob, as stored
