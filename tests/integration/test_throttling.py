"""Throttling by address (429 with Retry-After on every surface), lockouts per (account, address), forgot-password."""

from __future__ import annotations

import base64
import re
import secrets
import statistics
import time

import pytest
from sqlalchemy import select

from app.extensions import db, limiter
from app.models import AuditEvent, Role
from tests.api_helpers import basic
from tests.auth_helpers import totp_code
from tests.conftest import browser_like_client
from tests.subscribers import create_agency, create_staff

FAILURE = "Nama pengguna, kata sandi, atau kode autentikator salah."
CSRF_TOKEN = re.compile(r'"X-CSRFToken": "[^"]+"')


@pytest.fixture()
def throttled(app, monkeypatch):
    """Turn the limits on (the rest of the suite runs without them), with no count left from another test.

    Return a function that changes settings for this test only: ``throttled(THROTTLE_OTP="2 per hour")``.
    """
    monkeypatch.setitem(app.config, "THROTTLE_ENABLED", True)
    limiter.reset()
    yield lambda **settings: [monkeypatch.setitem(app.config, name, value) for name, value in settings.items()]
    limiter.reset()


@pytest.fixture()
def staff(app):
    """Return a verifier with a password and an authenticator (staff can be locked out as anyone else)."""
    return create_staff(app, Role.VERIFIER, create_agency(app, "H", "Dinas").id, authenticator=True)


def from_address(app, address: str):
    """Return a browser-like test client whose requests come from ``address``."""
    client = browser_like_client(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def password_step(client, username: str, password: str):
    """Post the sign-in form."""
    return client.post("/login", data={"username": username, "password": password})


def audit(app, action: str) -> list[AuditEvent]:
    """Return the audit events of ``action``, oldest first."""
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return db.session.execute(query).scalars().all()


def client_id_of(headers: dict) -> str:
    """Return the client id of Basic ``headers``."""
    return base64.b64decode(headers["Authorization"][6:]).decode().partition(":")[0]


def test_thirty_wrong_api_logins_get_429_while_the_right_secret_works_from_another_address(app, caller, throttled):
    client_id = client_id_of(caller.headers)
    before = len(audit(app, "api.login_failed"))
    attacker = from_address(app, "203.0.113.7")
    body = {"nik": caller.nik}
    answers = [attacker.post("/api/v2/user/check/status", json=body, headers=basic(client_id, f"tebakan-{n}"))
               for n in range(30)]
    assert [a.status_code for a in answers] == [401] * 20 + [429] * 10
    last = answers[-1]
    assert 0 < int(last.headers["Retry-After"]) <= 600
    wait = last.headers["Retry-After"]
    sentence = f"Terlalu banyak permintaan; coba lagi dalam {wait} detik."
    assert last.get_json() == {"status_code": 4010, "error_code": "too_many_requests", "error": sentence, "message": sentence}
    assert attacker.post("/api/v2/user/check/status", json=body, headers=caller.headers).status_code == 429

    owner = from_address(app, "198.51.100.20")
    assert owner.post("/api/v2/user/check/status", json=body, headers=caller.headers).status_code == 200

    failed = audit(app, "api.login_failed")[before:]
    assert len(failed) == 20 and {e.ip for e in failed} == {"203.0.113.7"}
    assert all(client_id in e.details and "tebakan" not in e.details for e in failed)  # the id tried, never the secret


def test_a_wrong_password_storm_from_one_address_does_not_lock_the_owner_out_from_another(app, staff, throttled):
    attacker = from_address(app, "203.0.113.8")
    storm = [password_step(attacker, staff.username, f"salah-{n}") for n in range(31)]
    assert [a.status_code for a in storm] == [401] * 30 + [429]  # 10 counted, then blocked from there, then throttled
    assert FAILURE in storm[0].get_data(as_text=True)
    assert 0 < int(storm[-1].headers["Retry-After"]) <= 600
    assert "Terlalu banyak percobaan" in storm[-1].get_data(as_text=True)
    (blocked,) = [e for e in audit(app, "auth.sign_in_blocked") if e.subject_id == str(staff.id)]
    assert blocked.ip == "203.0.113.8"

    owner = from_address(app, "198.51.100.21")
    first = password_step(owner, staff.username, staff.password)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/kode")
    code = owner.post("/login/kode", data={"code": totp_code(staff.secret)})
    assert code.status_code == 302 and code.headers["Location"].endswith("/verifikator/")

    limiter.reset()  # the address limit gone, the lockout of the attacker's address remains
    refused = password_step(from_address(app, "203.0.113.8"), staff.username, staff.password)
    assert refused.status_code == 401 and FAILURE in refused.get_data(as_text=True)


def test_failed_sign_ins_for_one_account_are_limited_from_every_address(app, staff, throttled):
    throttled(THROTTLE_SIGN_IN_ACCOUNT_FAILURES="4 per hour")
    for n in range(4):
        assert password_step(from_address(app, f"203.0.113.{20 + n}"), staff.username, "salah").status_code == 401
    assert password_step(from_address(app, "203.0.113.30"), staff.username, "salah").status_code == 429
    assert password_step(from_address(app, "203.0.113.30"), "orang-lain", "salah").status_code == 401


def test_csc_login_failures_answer_429_in_the_csc_shape_and_are_audited(app, throttled):
    throttled(THROTTLE_SIGN_IN_FAILURES="3 per 10 minutes")
    client = from_address(app, "203.0.113.9")
    name = f"tidak-ada-{secrets.token_hex(3)}"
    before = len(audit(app, "csc.login_failed"))
    answers = [client.post("/csc/v2/auth/login", headers=basic(name, "salah"), json={"OTP": "123456"})
               for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].get_json()["error"] == "too_many_requests" and int(answers[-1].headers["Retry-After"]) > 0
    failed = audit(app, "csc.login_failed")[before:]
    assert len(failed) == 3 and {e.ip for e in failed} == {"203.0.113.9"}
    assert all("salah" not in e.details for e in failed)


def test_forgot_password_gives_the_same_answer_in_the_same_time_for_an_account_or_nobody(app, staff):
    visitor = from_address(app, "203.0.113.10")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    bodies = set()
    for n in range(10):
        for kind, login in (("known", staff.username), ("unknown", f"tidak-ada-{n}-{secrets.token_hex(3)}")):
            started = time.perf_counter()
            answer = visitor.post("/lupa-sandi", data={"login": login})
            timings[kind].append(time.perf_counter() - started)
            assert answer.status_code == 200
            bodies.add(CSRF_TOKEN.sub("", answer.get_data(as_text=True)))  # the token carries the second it was made
    assert len(bodies) == 1
    known, unknown = statistics.median(timings["known"]), statistics.median(timings["unknown"])
    floor = app.config["FORGOT_PASSWORD_ANSWER_SECONDS"]
    assert known >= floor and unknown >= floor and abs(known - unknown) < 0.05, (known, unknown)


def test_forgot_password_is_limited_per_address_and_per_login(app, staff, throttled):
    throttled(FORGOT_PASSWORD_ANSWER_SECONDS=0)
    for n in range(3):  # per login name typed, whoever asks
        asker = from_address(app, f"203.0.113.{40 + n}")
        assert asker.post("/lupa-sandi", data={"login": staff.username}).status_code == 200
    assert from_address(app, "203.0.113.50").post("/lupa-sandi", data={"login": staff.username}).status_code == 429

    visitor = from_address(app, "203.0.113.51")  # per address, whatever is typed
    answers = [visitor.post("/lupa-sandi", data={"login": f"orang-{n}@contoh.go.id"}).status_code for n in range(6)]
    assert answers == [200] * 5 + [429]


def test_otp_requests_and_verify_uploads_are_limited_per_address_or_client(app, caller, throttled):
    throttled(THROTTLE_OTP="2 per hour", THROTTLE_VERIFY="2 per minute", THROTTLE_API_VERIFY="3 per minute")
    visitor = from_address(app, "203.0.113.60")
    assert [visitor.post("/aktivasi/telepon/kirim", data={"phone": "081234567890"}).status_code
            for _ in range(3)] == [403, 403, 429]  # without a wizard session, but each request counts
    assert [visitor.post("/verify").status_code for _ in range(2)] == [422, 422]
    page = visitor.post("/verify")
    assert page.status_code == 429 and "Terlalu banyak percobaan" in page.get_data(as_text=True)
    api = [visitor.post("/api/v2/verify/pdf", json={}, headers=caller.headers) for _ in range(4)]
    assert [answer.status_code for answer in api[:3]] == [400] * 3  # the API counts per client, not with the page
    api = from_address(app, "203.0.113.61").post("/api/v2/verify/pdf", json={}, headers=caller.headers)
    assert api.status_code == 429 and api.get_json()["error_code"] == "too_many_requests" and "Retry-After" in api.headers
