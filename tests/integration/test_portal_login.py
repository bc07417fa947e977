"""Portal sign-in (F5) through the real pages: password + TOTP, authenticator set-up and devices, passwords, sessions."""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from app import settings
from app.domain.accounts import authenticators
from app.domain.accounts.passwords import check_password, hash_password
from app.domain.enrolment import registration
from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, AuditEvent, AuthenticatorDevice, OutboxMessage, Role
from app.models.account import SignInFailure
from app.platform import notifications, sealing
from tests.auth_helpers import CLOCK, csrf_token, give_authenticator, mark_used, sign_in, totp_code, wrong_code
from tests.conftest import browser_like_client
from tests.subscribers import create_agency

FAILURE = "Nama pengguna, kata sandi, atau kode autentikator salah."
LOOPBACK = "127.0.0.1"  # the address of every test client's requests
SECRET_ON_PAGE = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7]+)<')


@pytest.fixture()
def make_account(app):
    """Return a factory of portal accounts: dict(id, username, email, password, secret or None)."""
    agency = create_agency(app, "L", "Dinas")
    agency_id, domain = agency.id, agency.domain

    def make(device: bool = True, role: Role = Role.VERIFIER, **fields):
        with app.app_context():
            username = "u-" + secrets.token_hex(5)
            password = "Sandi#" + secrets.token_hex(6)
            account = Account(role=role, agency_id=agency_id, email=f"{username}@{domain}", username=username,
                              password_hash=hash_password(password), name="Pegawai Uji", **fields)
            db.session.add(account)
            db.session.flush()
            secret = give_authenticator(account) if device else None
            db.session.commit()
            return {"id": account.id, "username": username, "email": account.email, "password": password, "secret": secret}

    return make


def text(response) -> str:
    """Return a response's body as text."""
    return response.get_data(as_text=True)


def without_csrf(response) -> str:
    """Return a response's body with its CSRF token (which carries the time) blanked out."""
    return re.sub(r"[\w-]{20,}\.[\w-]{6}\.[\w-]{20,}", "", text(response))


def alert(response) -> str:
    """Return the text of the page's error message."""
    match = re.search(r'<p class="error" role="alert">([^<]*)</p>', text(response))
    return match.group(1) if match else ""


def signed_in(client) -> bool:
    """Return whether the client's session is signed in (a signed-in-only page opens)."""
    return client.get("/akun/perangkat").status_code == 200


def post(client, path: str, **form):
    """Post a form with the session's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client), **form})


def events(app, account_id: int, action: str) -> list[AuditEvent]:
    """Return the audit events of one account and action."""
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.subject_id == str(account_id),
                                                           AuditEvent.action == action)
                                 .order_by(AuditEvent.id)).scalars().all()
        db.session.expunge_all()
        return rows


def all_audit_text(app) -> str:
    """Return every audit event's reason and details, to search for leaked secrets."""
    with app.app_context():
        return json.dumps([[e.actor, e.reason, e.details] for e in db.session.execute(select(AuditEvent)).scalars()])


def device_rows(app, account_id: int) -> list[tuple[str, bool]]:
    """Return (name, confirmed) of an account's devices."""
    with app.app_context():
        rows = db.session.execute(select(AuthenticatorDevice).where(AuthenticatorDevice.account_id == account_id)
                                  .order_by(AuthenticatorDevice.id)).scalars()
        return [(row.name, row.confirmed_at is not None) for row in rows]


# ---------------------------------------------------------------------------------------------- one message


def test_wrong_password_unknown_user_and_wrong_code_get_the_same_message(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    unknown = sign_in(client, "tidak-ada-" + secrets.token_hex(3), "apa saja")
    wrong = sign_in(client, person["username"], "salah-" + person["password"])
    assert unknown.status_code == wrong.status_code == 401
    assert alert(unknown) == alert(wrong) == FAILURE

    assert sign_in(client, person["email"], person["password"]).headers["Location"].endswith("/login/kode")  # e-mail works too
    bad_code = post(client, "/login/kode", code=wrong_code(person["secret"]))
    assert bad_code.status_code == 401 and alert(bad_code) == FAILURE
    assert not signed_in(client)
    failed = events(app, person["id"], "auth.totp_failed")
    assert len(failed) == 1 and failed[0].actor == "anonymous"

    good = post(client, "/login/kode", code=totp_code(person["secret"]))  # the pending sign-in survives one wrong code
    assert good.status_code == 302 and good.headers["Location"].endswith("/verifikator/")
    assert signed_in(client)
    assert events(app, person["id"], "auth.login")[-1].actor == person["username"]


def test_the_password_step_alone_does_not_sign_in(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    assert sign_in(client, person["username"], person["password"]).status_code == 302
    with client.session_transaction() as session:
        assert "_user_id" not in session and session["login_pending"]["account"] == person["id"]
    assert client.get("/verifikator/").status_code == 302
    assert not signed_in(client)


def test_a_totp_code_works_once(app, make_account):
    person = make_account()
    code = totp_code(person["secret"])
    first, second = browser_like_client(app), browser_like_client(app)
    assert sign_in(first, person["username"], person["password"]).status_code == 302
    assert post(first, "/login/kode", code=code).status_code == 302
    assert sign_in(second, person["username"], person["password"]).status_code == 302
    replay = post(second, "/login/kode", code=code)
    assert replay.status_code == 401 and alert(replay) == FAILURE
    assert not signed_in(second)
    assert post(second, "/login/kode", code=totp_code(person["secret"])).status_code == 302  # a newer code works


def test_pending_sign_in_expires_and_wrong_codes_are_limited(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    sign_in(client, person["username"], person["password"])
    with client.session_transaction() as session:
        pending = session["login_pending"]
        session["login_pending"] = {**pending, "since": pending["since"] - 6 * 60}
    stale = post(client, "/login/kode", code=totp_code(person["secret"]))
    assert stale.status_code == 302 and stale.headers["Location"].endswith("/login")

    sign_in(client, person["username"], person["password"])
    wrong = wrong_code(person["secret"])
    answers = [post(client, "/login/kode", code=wrong) for _ in range(5)]
    assert all(answer.status_code == 401 and alert(answer) == FAILURE for answer in answers)
    assert "Masuk ke Paraf" in text(answers[-1])  # back to the password step
    assert post(client, "/login/kode", code=totp_code(person["secret"])).status_code == 302
    assert not signed_in(client)


def test_failures_in_a_row_block_sign_in_for_a_while_even_with_the_right_password(app, make_account):
    person = make_account()
    wrong = wrong_code(person["secret"])
    for _ in range(7):  # wrong passwords, each from a fresh browser: the count lives on the server
        assert sign_in(browser_like_client(app), person["username"], "salah-" + person["password"]).status_code == 401
    for _ in range(3):  # wrong authenticator codes count too
        client = browser_like_client(app)
        sign_in(client, person["username"], person["password"])
        assert post(client, "/login/kode", code=wrong).status_code == 401
    assert len(events(app, person["id"], "auth.sign_in_blocked")) == 1

    blocked = browser_like_client(app)
    refused = sign_in(blocked, person["username"], person["password"])
    assert refused.status_code == 401 and alert(refused) == FAILURE  # the same message: nothing to learn
    assert "15 menit" in text(refused)
    assert not signed_in(blocked)

    with app.app_context():
        failures = db.session.get(SignInFailure, (person["id"], LOOPBACK))
        failures.blocked_until -= timedelta(minutes=16)
        db.session.commit()
    assert sign_in(blocked, person["username"], person["password"]).status_code == 302
    assert post(blocked, "/login/kode", code=totp_code(person["secret"])).status_code == 302
    with app.app_context():
        assert db.session.get(SignInFailure, (person["id"], LOOPBACK)) is None  # forgotten once signed in


def test_an_old_failure_is_forgotten(app, make_account):
    person = make_account()
    for _ in range(9):
        sign_in(browser_like_client(app), person["username"], "salah")
    with app.app_context():
        failures = db.session.get(SignInFailure, (person["id"], LOOPBACK))
        failures.last_failed_at -= timedelta(minutes=20)
        db.session.commit()
    sign_in(browser_like_client(app), person["username"], "salah")
    with app.app_context():
        failures = db.session.get(SignInFailure, (person["id"], LOOPBACK))
        assert failures.failures == 1 and failures.blocked_until is None


# ---------------------------------------------------------------------------------------------- set-up and devices


def test_first_login_forces_authenticator_setup(app, make_account):
    person = make_account(device=False)
    client = browser_like_client(app)
    response = sign_in(client, person["username"], person["password"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/perangkat")
    assert post(client, "/login/kode", code="123456").headers["Location"].endswith("/login/perangkat")

    setup = client.get("/login/perangkat")
    page = text(setup)
    assert setup.headers["Cache-Control"] == "no-store" and 'src="data:image/png;base64,' in page
    secret = SECRET_ON_PAGE.search(page).group(1)
    assert SECRET_ON_PAGE.search(text(client.get("/login/perangkat"))).group(1) == secret  # a reload keeps the QR code
    assert not signed_in(client)

    wrong = post(client, "/login/perangkat", device_name="HP dinas", code=wrong_code(secret))
    assert wrong.status_code == 422 and "Kode autentikator salah" in text(wrong)
    assert device_rows(app, person["id"]) == [("Perangkat 1", False)]
    unnamed = post(client, "/login/perangkat", device_name="  ", code=totp_code(secret))
    assert unnamed.status_code == 422 and "Beri nama perangkat" in text(unnamed)

    done = post(client, "/login/perangkat", device_name="HP dinas", code=totp_code(secret))
    assert done.status_code == 302 and done.headers["Location"].endswith("/verifikator/")
    assert signed_in(client)
    assert device_rows(app, person["id"]) == [("HP dinas", True)]
    with app.app_context():
        device = db.session.execute(select(AuthenticatorDevice).where(AuthenticatorDevice.account_id == person["id"])).scalar_one()
        assert secret.encode() not in device.sealed_secret and authenticators.secret_of(device) == secret
    added = events(app, person["id"], "auth.device_added")
    assert len(added) == 1 and json.loads(added[0].details) == {"device": "HP dinas"}
    assert secret not in all_audit_text(app)

    again = browser_like_client(app)  # the next sign-in asks for a code
    assert sign_in(again, person["username"], person["password"]).headers["Location"].endswith("/login/kode")
    assert post(again, "/login/kode", code=totp_code(secret)).status_code == 302


def test_second_device_and_removal_with_the_other_devices_code(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    assert sign_in(client, person["username"], person["password"], person["secret"]).status_code == 302

    page = text(client.get("/akun/perangkat/tambah"))
    tablet = SECRET_ON_PAGE.search(page).group(1)
    wrong = wrong_code(person["secret"])
    unproven = post(client, "/akun/perangkat/tambah", device_name="Tablet", code=totp_code(tablet), current_code=wrong)
    assert unproven.status_code == 422 and "perangkat yang sudah terpasang salah" in text(unproven)
    assert len(events(app, person["id"], "auth.device_add_refused")) == 1  # audited although the answer is a 422
    assert [confirmed for _name, confirmed in device_rows(app, person["id"])] == [True, False]
    taken = post(client, "/akun/perangkat/tambah", device_name="HP uji", code=totp_code(tablet),
                 current_code=totp_code(person["secret"]))
    assert taken.status_code == 422 and "sudah dipakai" in text(taken)
    added = post(client, "/akun/perangkat/tambah", device_name="Tablet", code=totp_code(tablet),
                 current_code=totp_code(person["secret"]))
    assert added.status_code == 302 and added.headers["Location"].endswith("/akun/perangkat")
    assert device_rows(app, person["id"]) == [("HP uji", True), ("Tablet", True)]
    listing = text(client.get("/akun/perangkat"))
    assert "HP uji" in listing and "Tablet" in listing

    with app.app_context():
        first_id, tablet_id = [d.id for d in db.session.execute(
            select(AuthenticatorDevice).where(AuthenticatorDevice.account_id == person["id"]).order_by(AuthenticatorDevice.id)
        ).scalars()]
    own_code = post(client, f"/akun/perangkat/{first_id}/hapus", code=totp_code(person["secret"]))
    assert own_code.status_code == 422 and "perangkat LAIN" in text(own_code)
    assert json.loads(events(app, person["id"], "auth.totp_failed")[-1].details) == {"purpose": "remove_device"}
    assert len(device_rows(app, person["id"])) == 2

    removed = post(client, f"/akun/perangkat/{first_id}/hapus", code=totp_code(tablet))
    assert removed.status_code == 302
    assert device_rows(app, person["id"]) == [("Tablet", True)]
    assert json.loads(events(app, person["id"], "auth.device_removed")[0].details) == {"device": "HP uji"}

    last = post(client, f"/akun/perangkat/{tablet_id}/hapus", code="000000")  # refused before any code is checked
    assert last.status_code == 422 and "Perangkat terakhir" in text(last)
    assert device_rows(app, person["id"]) == [("Tablet", True)]

    other = make_account()  # someone else's device is not found
    with app.app_context():
        foreign = db.session.execute(select(AuthenticatorDevice.id).where(AuthenticatorDevice.account_id == other["id"])).scalar_one()
    assert post(client, f"/akun/perangkat/{foreign}/hapus", code="000000").status_code == 404
    assert len(device_rows(app, other["id"])) == 1

    fresh = browser_like_client(app)  # the removed device's codes no longer sign in
    sign_in(fresh, person["username"], person["password"])
    assert post(fresh, "/login/kode", code=totp_code(person["secret"])).status_code == 401
    assert tablet not in all_audit_text(app) and person["secret"] not in all_audit_text(app)


def test_codes_are_accepted_once_with_one_step_of_drift(app_ctx, make_account):
    person = make_account()
    account = db.session.get(Account, person["id"])
    totp, now = pyotp.TOTP(person["secret"]), time.time()
    with pytest.raises(authenticators.InvalidCode):
        authenticators.verify(account, totp.at(now, counter_offset=-2), now=now)
    with pytest.raises(authenticators.InvalidCode):
        authenticators.verify(account, totp.at(now, counter_offset=2), now=now)
    assert authenticators.verify(account, totp.at(now, counter_offset=-1), now=now)
    assert authenticators.verify(account, totp.at(now, counter_offset=1), now=now)
    for offset in (-1, 0, 1):  # at or before the accepted step: refused
        with pytest.raises(authenticators.InvalidCode):
            authenticators.verify(account, totp.at(now, counter_offset=offset), now=now)
    assert authenticators.verify(account, totp.at(now + 60), now=now + 60)
    with pytest.raises(authenticators.InvalidCode):
        authenticators.verify(account, "12a456", now=now)
    db.session.rollback()


def test_sealed_secrets_are_bound_to_their_purpose_and_row(app_ctx):
    blob = sealing.seal(b"rahasia", b"purpose one", b"row:1")
    assert b"rahasia" not in blob and sealing.unseal(blob, b"purpose one", b"row:1") == b"rahasia"
    for info, aad in ((b"purpose two", b"row:1"), (b"purpose one", b"row:2")):
        with pytest.raises(sealing.SealError):
            sealing.unseal(blob, info, aad)
    with pytest.raises(sealing.SealError):
        sealing.unseal(blob[:-1] + bytes([blob[-1] ^ 1]), b"purpose one", b"row:1")
    message = notifications.queue_email("x@contoh.go.id", "S", "Buka {link}", {"link": "https://contoh/t/abc"})
    assert sealing.unseal(message.sealed_links, notifications.SEAL_INFO, b"paraf-outbox:%d" % message.id) == b'{"link": "https://contoh/t/abc"}'
    db.session.rollback()


# ---------------------------------------------------------------------------------------------- passwords


def test_forgot_password_looks_the_same_then_resets_password_and_authenticators(app, make_account, smtp_server):
    person = make_account()
    old_session = browser_like_client(app)
    assert sign_in(old_session, person["username"], person["password"], person["secret"]).status_code == 302

    visitor = browser_like_client(app)
    assert "Lupa kata sandi" in text(visitor.get("/lupa-sandi"))
    with app.app_context():
        before = db.session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())).scalars().first() or 0
    unknown = post(visitor, "/lupa-sandi", login=f"tidak-ada-{secrets.token_hex(3)}@contoh.go.id")
    known = post(visitor, "/lupa-sandi", login=person["email"].upper())
    assert unknown.status_code == known.status_code == 200
    assert without_csrf(unknown) == without_csrf(known) and "Periksa e-mail Anda" in text(known)
    with app.app_context():
        queued = db.session.execute(select(OutboxMessage).where(OutboxMessage.id > before)).scalars().all()
        assert [m.recipient for m in queued] == [person["email"]]
        assert "/lupa-sandi/" not in queued[0].body  # the link is sealed
        notifications.work()
    link = smtp_server.wait_for(person["email"], subject="Atur ulang").link(r"/lupa-sandi/")
    path = urlsplit(link).path

    reset = browser_like_client(app)
    form = reset.get(path)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    short = post(reset, path, password="pendek", confirmation="pendek")
    assert short.status_code == 422 and "minimal 10" in text(short)
    same = post(reset, path, password=person["password"], confirmation=person["password"])
    assert same.status_code == 422 and "berbeda" in text(same)
    mismatch = post(reset, path, password="Baru#sekali-2026", confirmation="Baru#sekali-2027")
    assert mismatch.status_code == 422 and "Konfirmasi" in text(mismatch)
    done = post(reset, path, password="Baru#sekali-2026", confirmation="Baru#sekali-2026")
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert post(reset, path, password="Lain#sekali-2026", confirmation="Lain#sekali-2026").status_code == 410  # single use

    assert not signed_in(old_session)  # every session is signed out
    assert device_rows(app, person["id"]) == []  # every authenticator is gone
    assert sign_in(browser_like_client(app), person["username"], person["password"]).status_code == 401
    again = browser_like_client(app)
    assert sign_in(again, person["username"], "Baru#sekali-2026").headers["Location"].endswith("/login/perangkat")
    reset_event = events(app, person["id"], "auth.password_reset")
    assert len(reset_event) == 1 and json.loads(reset_event[0].details) == {"devices_removed": 1}
    assert "Baru#sekali-2026" not in all_audit_text(app) and path.rsplit("/", 1)[1] not in all_audit_text(app)


def test_expired_reset_link_is_refused(app, make_account):
    from app.domain.accounts import login, tokens
    from app.models import LinkToken

    person = make_account()
    with app.app_context():
        raw = tokens.issue(person["id"], login.PASSWORD_RESET, login.PASSWORD_RESET_TTL)
        token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == tokens.hash_token(raw))).scalar_one()
        token.expires_at -= timedelta(hours=2)
        db.session.commit()
    response = browser_like_client(app).get(f"/lupa-sandi/{raw}")
    assert response.status_code == 410 and "kedaluwarsa" in text(response)
    assert browser_like_client(app).get("/lupa-sandi/bukan-token").status_code == 410


def test_password_change_signs_out_other_sessions(app, make_account):
    person = make_account()
    here, elsewhere = browser_like_client(app), browser_like_client(app)
    for client in (here, elsewhere):
        assert sign_in(client, person["username"], person["password"], person["secret"]).status_code == 302
    new = "Sandi-baru#2026"
    for form, message in (
        ({"old": "salah", "password": new, "confirmation": new}, "Kata sandi lama salah"),
        ({"old": person["password"], "password": "pendek", "confirmation": "pendek"}, "minimal 10"),
        ({"old": person["password"], "password": person["password"], "confirmation": person["password"]}, "berbeda"),
        ({"old": person["password"], "password": new, "confirmation": new + "x"}, "Konfirmasi"),
    ):
        refused = post(here, "/akun/sandi", **form)
        assert refused.status_code == 422 and message in text(refused), message
    changed = post(here, "/akun/sandi", old=person["password"], password=new, confirmation=new)
    assert changed.status_code == 302
    assert signed_in(here) and not signed_in(elsewhere)
    with app.app_context():
        account = db.session.get(Account, person["id"])
        assert account.session_version == 2 and check_password(account.password_hash, new)
    assert len(events(app, person["id"], "auth.password_changed")) == 1
    assert new not in all_audit_text(app) and person["password"] not in all_audit_text(app)
    assert sign_in(browser_like_client(app), person["username"], new, person["secret"]).status_code == 302


def test_must_change_password_comes_first(app, make_account):
    person = make_account(must_change_password=True)
    client = browser_like_client(app)
    response = sign_in(client, person["username"], person["password"], person["secret"])
    assert response.status_code == 302 and response.headers["Location"].endswith("/akun/sandi")
    for path in ("/verifikator/", "/akun/perangkat", "/status"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/akun/sandi"), path
    assert "kata sandi sekali pakai" in text(client.get("/akun/sandi"))
    same = post(client, "/akun/sandi", old=person["password"], password=person["password"], confirmation=person["password"])
    assert same.status_code == 422
    new = "Pilihan-sendiri-2026"
    assert post(client, "/akun/sandi", old=person["password"], password=new, confirmation=new).status_code == 302
    assert client.get("/verifikator/").status_code == 200
    with app.app_context():
        assert db.session.get(Account, person["id"]).must_change_password is False


def test_approval_gives_a_one_time_password_that_must_be_changed(app_ctx):
    account = Account(role=Role.SUBSCRIBER, email=f"baru-{secrets.token_hex(3)}@contoh.go.id")
    db.session.add(account)
    db.session.flush()
    password = registration._give_portal_account(account)
    assert password and account.must_change_password is True and check_password(account.password_hash, password)
    db.session.rollback()


# ---------------------------------------------------------------------------------------------- sessions


def test_idle_session_is_signed_out(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    response = sign_in(client, person["username"], person["password"], person["secret"])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert signed_in(client)
    with client.session_transaction() as session:
        session["last_seen"] -= 29 * 60
    assert signed_in(client)  # active again: the clock restarts
    with client.session_transaction() as session:
        session["last_seen"] -= 31 * 60
    page = client.get("/akun/perangkat", follow_redirects=True)
    assert "lama tidak aktif" in text(page) and "Masuk ke Paraf" in text(page)
    assert not signed_in(client)


def test_a_copied_cookie_is_refused_after_logout_and_every_session_ends(app, make_account):
    person = make_account()
    browser, elsewhere = browser_like_client(app), browser_like_client(app)
    for client in (browser, elsewhere):
        assert sign_in(client, person["username"], person["password"], person["secret"]).status_code == 302
    copied = browser.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert signed_in(thief)  # a copy works while the session lasts
    out = post(browser, "/logout")
    assert out.status_code == 302 and out.headers["Location"].endswith("/login")
    replayed = app.test_client()
    replayed.set_cookie("session", copied)
    refused = replayed.get("/akun/perangkat")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert not signed_in(thief) and not signed_in(elsewhere) and not signed_in(browser)
    assert len(events(app, person["id"], "auth.logout")) == 1
    assert sign_in(browser_like_client(app), person["username"], person["password"], person["secret"]).status_code == 302


def test_a_session_ends_after_its_longest_lifetime_however_active(app, make_account):
    person = make_account()
    client = browser_like_client(app)
    assert sign_in(client, person["username"], person["password"], person["secret"]).status_code == 302
    with client.session_transaction() as session:
        session["signed_in_at"] -= 11 * 3600
    assert signed_in(client)
    with client.session_transaction() as session:
        session["signed_in_at"] -= 2 * 3600
    page = client.get("/akun/perangkat", follow_redirects=True)
    assert "Sesi Anda sudah berakhir" in text(page) and "Masuk ke Paraf" in text(page)
    assert not signed_in(client)


def test_session_settings(tmp_path):
    plain = Flask("plain", instance_path=str(tmp_path))
    settings.configure(plain, {"PUBLIC_BASE_URL": "http://127.0.0.1:5000"})
    assert plain.config["SESSION_COOKIE_SECURE"] is False and plain.config["SESSION_COOKIE_HTTPONLY"] is True
    assert plain.config["SESSION_COOKIE_SAMESITE"] == "Lax" and plain.config["SESSION_REFRESH_EACH_REQUEST"] is True
    assert plain.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30) and plain.config["SESSION_MAX_HOURS"] == 12
    public = Flask("public", instance_path=str(tmp_path))
    settings.configure(public, {"PUBLIC_BASE_URL": "https://paraf.contoh.go.id", "SESSION_IDLE_MINUTES": 15})
    assert public.config["SESSION_COOKIE_SECURE"] is True
    assert public.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)


def test_injected_sessions_follow_the_session_version(app, make_account):
    person = make_account()
    with app.app_context():
        account = db.session.get(Account, person["id"])
        current, stale = account.get_id(), f"{account.id}:{account.session_version - 1}"
    client = app.test_client()
    for user_id, expected in ((current, True), (stale, False), (str(person["id"]), False)):
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = user_id, True
        assert signed_in(client) is expected, user_id


def test_suspended_account_cannot_sign_in(app, make_account):
    person = make_account()
    halfway = browser_like_client(app)
    assert sign_in(halfway, person["username"], person["password"]).status_code == 302  # password passed, code pending
    with app.app_context():
        db.session.get(Account, person["id"]).status = AccountStatus.SUSPENDED
        db.session.commit()
    stopped = post(halfway, "/login/kode", code=totp_code(person["secret"]))
    assert stopped.status_code == 302 and stopped.headers["Location"].endswith("/login") and not signed_in(halfway)
    refused = sign_in(browser_like_client(app), person["username"], person["password"])
    assert refused.status_code == 401 and "ditangguhkan" in alert(refused)  # only the right password learns why
    wrong = sign_in(browser_like_client(app), person["username"], "salah-" + person["password"])
    assert wrong.status_code == 401 and alert(wrong) == FAILURE
    assert [e.reason for e in events(app, person["id"], "auth.login_failed")][-2:] == ["suspended", "suspended"]


def test_demo_style_code_spent_outside_the_helper(app, make_account):
    person = make_account()
    code = pyotp.TOTP(person["secret"]).at(CLOCK())
    mark_used(person["secret"], code)
    client = browser_like_client(app)
    sign_in(client, person["username"], person["password"])
    assert post(client, "/login/kode", code=code).status_code == 302
    assert sign_in(browser_like_client(app), person["username"], person["password"], person["secret"]).status_code == 302
