"""CSC API v2: pyHanko's own CSC client signs a PDF through /csc/v2 and pdfsig trusts it; the refusals."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io

import aiohttp
import pytest
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

from app.domain.accounts import login
from app.domain.accounts.passwords import hash_password
from app.extensions import db
from app.models import Account, AuditEvent
from app.models.account import SignInFailure
from tests.api_helpers import basic
from tests.auth_helpers import give_authenticator, totp_code, wrong_code
from tests.pdfs import make_pdf
from tests.pki_helpers import pdfsig, validate

pytestmark = pytest.mark.slow
PASSWORD = "Kata-Sandi#Portal2026"


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
