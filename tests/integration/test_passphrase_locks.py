"""Every path that takes a passphrase locks on the fifth wrong one, in the database; only a reset lifts the lock.

One test, parametrised over the portal's signing page, a workflow's signing step, the agency head's
form, the passphrase change (its old passphrase), the eSign API and CSC ``credentials/authorize``.
Each path is driven through its real HTTP endpoint; the counter and the lock are read from the
database after every try.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain import keys
from app.domain.accounts import tokens
from app.domain.accounts.passwords import hash_password
from app.domain.certificates import after_issuance, data_changes
from app.extensions import db
from app.models import Account, Agency, Role, SubscriberProfile
from app.platform.audit import Actor
from tests.api_helpers import b64, basic, make_client
from tests.auth_helpers import give_authenticator, totp_code
from tests.pdfs import make_pdf
from tests.subscribers import Subscriber, create_staff, create_subscriber, signed_in_client

pytestmark = pytest.mark.slow
NEW_PASSPHRASE = "Baru#Sesudah-Reset2026"
PORTAL_PASSWORD = "Kata-Sandi#Portal2026"


@dataclass
class Path:
    """A subscriber and one way to try a passphrase on their behalf; ``attempt`` returns the HTTP status."""

    person: Subscriber
    attempt: Callable[[str], int]


SIGN_FORM = {"mode": "invisible", "page": "0", "x": "300", "y": "40", "reason": "", "location": "",
             "acting_kind": "", "acting_position": ""}


def _upload_batch(client) -> str:
    """Upload one PDF to the signing portal; return the batch id."""
    uploaded = client.post("/tandatangan", data={"files": [(io.BytesIO(make_pdf()), "surat.pdf")]},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)
    return uploaded.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def _portal_signing(app) -> Path:
    person = create_subscriber(app)
    client = signed_in_client(app, person.user_id)
    batch_id = _upload_batch(client)
    return Path(person, lambda passphrase: client.post(f"/tandatangan/{batch_id}",
                                                       data={**SIGN_FORM, "passphrase": passphrase}).status_code)


def _workflow_signing(app) -> Path:
    owner = create_subscriber(app, name="Sri Wahyuni")
    person = create_subscriber(app, name="Agus Salim", agency_id=owner.agency_id)
    created = signed_in_client(app, owner.user_id).post(
        "/alur/baru", content_type="multipart/form-data",
        data={"title": "Nota Dinas", "file": (io.BytesIO(make_pdf()), "surat.pdf"), "signer": [str(person.id)],
              "page": [""], "slot": ["1-kiri"]})
    assert created.status_code == 302, created.get_data(as_text=True)
    public_id = created.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    client = signed_in_client(app, person.user_id)
    return Path(person, lambda passphrase: client.post(f"/alur/{public_id}/tandatangani",
                                                       data={"passphrase": passphrase}).status_code)


def _agency_head_form(app) -> Path:
    subscriber = create_subscriber(app)
    head = create_subscriber(app, name="Ketut Wedari", position="Kepala Dinas", agency_id=subscriber.agency_id)
    with app.app_context():
        db.session.get(Account, head.id).role = Role.AGENCY_HEAD
        code = "L" + secrets.token_hex(4).upper()
        target = Agency(code=code, name=f"Dinas Tujuan {code}", email_domain=f"{code.lower()}.go.id")
        db.session.add(target)
        db.session.commit()
        target_id, domain = target.id, target.email_domain
    verifier = signed_in_client(app, create_staff(app, Role.VERIFIER, subscriber.agency_id).user_id)
    moved = verifier.post(f"/verifikator/akun/{subscriber.id}/migrasi",
                          data={"agency": target_id, "email": f"pindah@{domain}", "position": "Kepala Balai",
                                "unit": "Balai Uji", "province": "DI Yogyakarta"})
    assert moved.status_code == 303, moved.get_data(as_text=True)
    with app.app_context():
        change_id = data_changes.open_request(db.session.get(Account, subscriber.id)).id
    client = signed_in_client(app, head.user_id)
    return Path(head, lambda passphrase: client.post(f"/pimpinan/formulir/{change_id}",
                                                     data={"passphrase": passphrase}).status_code)


def _passphrase_change(app) -> Path:
    person = create_subscriber(app)
    client = signed_in_client(app, person.user_id)
    replacement = "Ganti#Passphrase2026"
    return Path(person, lambda old: client.post("/sertifikat/ubah-passphrase", data={
        "old": old, "passphrase": replacement, "confirmation": replacement, "agreement": "setuju"}).status_code)


def _nik(app, person: Subscriber) -> str:
    with app.app_context():
        return db.session.execute(select(SubscriberProfile.nik).where(SubscriberProfile.account_id == person.id)).scalar_one()


def _esign_api(app) -> Path:
    person = create_subscriber(app)
    _name, headers = make_client(app, [person.agency_id])
    with app.app_context():
        nik = db.session.get(SubscriberProfile, person.id).nik
    nik, client = _nik(app, person), app.test_client()
    return Path(person, lambda passphrase: client.post("/api/v2/sign/pdf", headers=headers, json={
        "nik": nik, "passphrase": passphrase, "file": [b64(make_pdf())]}).status_code)


def _csc_authorize(app) -> Path:
    person = create_subscriber(app)
    with app.app_context():
        account = db.session.get(Account, person.id)
        account.password_hash = hash_password(PORTAL_PASSWORD)
        secret = give_authenticator(account)
        db.session.commit()
        username = account.username
    client = app.test_client()
    login = client.post("/csc/v2/auth/login", headers=basic(username, PORTAL_PASSWORD), json={"OTP": totp_code(secret)})
    assert login.status_code == 200, login.get_json()
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    digest = base64.b64encode(hashlib.sha256(b"dokumen").digest()).decode()

    known: list[str] = []

    def authorize(pin: str) -> int:
        listed = client.post("/csc/v2/credentials/list", json={}, headers=headers).get_json()["credentialIDs"]
        known[:] = listed or known  # a locked account lists none: try its last credential anyway
        body = {"credentialID": known[0], "numSignatures": 1, "hash": [digest], "PIN": pin}
        return client.post("/csc/v2/credentials/authorize", headers=headers, json=body).status_code

    return Path(person, authorize)


PATHS = {
    "portal-signing": _portal_signing,
    "workflow-signing": _workflow_signing,
    "agency-head-form": _agency_head_form,
    "passphrase-change": _passphrase_change,
    "esign-api-v2": _esign_api,
    "csc-authorize": _csc_authorize,
}


def _lock_state(app, account_id: int) -> tuple[int, bool]:
    with app.app_context():
        account = db.session.get(Account, account_id)
        return account.wrong_passphrases, account.signing_locked_at is not None


def _reset(app, account_id: int) -> None:
    """Reset the passphrase as the reset wizard's last step does: a new key and certificate, the lock lifted."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        raw = tokens.issue(account.id, after_issuance.PASSPHRASE_RESET, timedelta(hours=1))
        after_issuance.reset_passphrase(account, raw, NEW_PASSPHRASE, NEW_PASSPHRASE, True, Actor("test"))
        db.session.commit()


@pytest.mark.parametrize("name", list(PATHS))
def test_fifth_wrong_passphrase_locks_in_the_database_and_only_a_reset_lifts_it(app, name):
    path = PATHS[name](app)
    account_id = path.person.id
    for tries in range(1, 5):
        assert path.attempt(f"salah-{tries}-{path.person.passphrase}") >= 400
        assert _lock_state(app, account_id) == (tries, False)
    assert path.attempt("salah-5") >= 400
    assert _lock_state(app, account_id) == (5, True)
    assert path.attempt(path.person.passphrase) >= 400  # the right passphrase no longer opens the key
    assert _lock_state(app, account_id) == (5, True)
    _reset(app, account_id)
    assert _lock_state(app, account_id) == (0, False)
    assert path.attempt(NEW_PASSPHRASE) < 400


def test_parallel_wrong_passphrases_check_only_the_guesses_they_count(app, monkeypatch):
    """20 wrong passphrases at once on the portal's signing form: five keys checked, five counted, no 5xx."""
    person = create_subscriber(app)
    browser = signed_in_client(app, person.user_id)
    batch_id = _upload_batch(browser)
    cookie, csrf = browser.get_cookie("session").value, browser.environ_base["HTTP_X_CSRFTOKEN"]
    checked: list[str] = []
    unlocked = keys.unlocked

    def counting_unlock(certificate, passphrase):
        checked.append(passphrase)
        return unlocked(certificate, passphrase)

    monkeypatch.setattr(keys, "unlocked", counting_unlock)
    start = threading.Barrier(20)

    def attempt(number: int) -> int:
        client = app.test_client()  # one browser's session cookie, replayed by 20 tabs at once
        client.set_cookie("session", cookie)
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf
        start.wait()
        return client.post(f"/tandatangan/{batch_id}", data={**SIGN_FORM, "passphrase": f"salah-{number}"}).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(attempt, range(20)))

    assert all(400 <= status < 500 for status in statuses), statuses
    assert statuses.count(422) == 4, statuses  # four wrong with tries left; the fifth locks, the rest find it locked (409)
    assert len(checked) == 5 and _lock_state(app, person.id) == (5, True)


def test_parallel_right_passphrases_all_sign_and_one_wrong_among_them_does_not_lock(app, monkeypatch):
    """12 right passphrases and one wrong at once through the eSign API: 12 signed, one wrong counted, no lock."""
    person = create_subscriber(app)
    _name, headers = make_client(app, [person.agency_id])
    with app.app_context():
        nik = db.session.get(SubscriberProfile, person.id).nik
    document = b64(make_pdf())
    unlocked = keys.unlocked

    def slow_unlock(certificate, passphrase):  # every check overlaps the others
        threading.Event().wait(0.2)
        return unlocked(certificate, passphrase)

    monkeypatch.setattr(keys, "unlocked", slow_unlock)
    start = threading.Barrier(13)

    def attempt(passphrase: str) -> int:
        client = app.test_client()
        start.wait()
        return client.post("/api/v2/sign/pdf", headers=headers,
                           json={"nik": nik, "passphrase": passphrase, "file": [document]}).status_code

    with ThreadPoolExecutor(13) as pool:
        statuses = list(pool.map(attempt, [person.passphrase] * 12 + ["salah-sekali"]))

    assert statuses[:12] == [200] * 12 and statuses[12] == 403, statuses  # wrong, with tries left (locked: 423)
    wrong, locked = _lock_state(app, person.id)
    assert wrong <= 1 and not locked
