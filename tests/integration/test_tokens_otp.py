"""Link tokens (hashed, expiring, single use) and WhatsApp OTP codes (argon2, throttled, counted)."""

from __future__ import annotations

import re
import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, select

from app.domain.accounts import tokens
from app.domain.enrolment import otp
from app.extensions import db
from app.models import Account, Agency, LinkToken, OtpCode, Role
from app.models.types import utcnow
from app.platform import notifications

DAY = timedelta(hours=24)


@pytest.fixture()
def account(app_ctx) -> Account:
    """Return a committed subscriber account of a fresh agency."""
    tag = secrets.token_hex(4)
    agency = Agency(code=f"tok-{tag}", name=f"Dinas Uji {tag}", email_domain="uji.go.id")
    db.session.add(agency)
    db.session.flush()
    row = Account(role=Role.SUBSCRIBER, email=f"token-{tag}@uji.go.id", agency_id=agency.id, name="Sari Wulandari")
    db.session.add(row)
    db.session.commit()
    return row


def phone_number() -> tuple[str, str]:
    """Return a fresh local phone number and its ``+62`` form."""
    digits = f"8{secrets.randbelow(10**10):010d}"
    return "0" + digits, "+62" + digits


def code_from(message: dict) -> str:
    """Return the six-digit code in a WhatsApp message."""
    return re.search(r"\b(\d{6})\b", message["message"]).group(1)


# --- link tokens ---------------------------------------------------------------------------------------------------


def test_issue_stores_only_the_hash_and_consume_is_single_use(account):
    raw = tokens.issue(account.id, "activation", DAY)
    db.session.commit()

    assert len(raw) >= 43  # 32 random bytes, URL-safe base64
    row = db.session.execute(select(LinkToken).where(LinkToken.account_id == account.id)).scalar_one()
    assert row.token_hash == tokens.hash_token(raw) != raw
    assert raw not in row.token_hash

    assert tokens.verify(raw, "activation").id == row.id
    assert tokens.verify(raw, "activation").used_at is None  # verify does not use it
    used = tokens.consume(raw, "activation")
    db.session.commit()
    assert used.id == row.id and used.used_at is not None

    with pytest.raises(tokens.TokenInvalid, match="sudah digunakan"):
        tokens.consume(raw, "activation")
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(raw, "activation")


def test_expired_token(account):
    start = utcnow()
    raw = tokens.issue(account.id, "set_passphrase", DAY, now=start)
    db.session.commit()

    assert tokens.verify(raw, "set_passphrase", now=start + DAY - timedelta(seconds=1))
    with pytest.raises(tokens.TokenExpired) as caught:
        tokens.consume(raw, "set_passphrase", now=start + DAY + timedelta(minutes=1))
    assert str(caught.value) == "Tautan sudah kedaluwarsa (berlaku 24 jam). Minta tautan baru kepada verifikator."
    assert isinstance(caught.value, tokens.TokenError)


def test_wrong_purpose_and_unknown_token_are_invalid(account):
    raw = tokens.issue(account.id, "activation", DAY)
    db.session.commit()

    with pytest.raises(tokens.TokenInvalid) as caught:
        tokens.verify(raw, "reset_passphrase")
    assert str(caught.value) == "Tautan tidak valid atau sudah digunakan. Minta tautan baru kepada verifikator."
    with pytest.raises(tokens.TokenInvalid):
        tokens.consume(secrets.token_urlsafe(32), "activation")
    with pytest.raises(tokens.TokenInvalid):
        tokens.consume("", "activation")
    assert tokens.consume(raw, "activation")  # still usable for its own purpose


def test_resend_kills_the_old_link_but_not_other_purposes(account):
    first = tokens.issue(account.id, "activation", DAY)
    other = tokens.issue(account.id, "data_change", DAY)
    second = tokens.issue(account.id, "activation", DAY)
    db.session.commit()

    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(first, "activation")
    revoked = db.session.execute(select(LinkToken).where(LinkToken.token_hash == tokens.hash_token(first))).scalar_one()
    assert revoked.revoked_at is not None
    assert tokens.verify(other, "data_change")
    assert tokens.consume(second, "activation")


def test_two_concurrent_consumes_succeed_once(app, account):
    raw = tokens.issue(account.id, "password_reset", DAY)
    db.session.commit()
    outcomes, barrier = [], threading.Barrier(2)

    def use():
        with app.app_context():
            barrier.wait()
            try:
                tokens.consume(raw, "password_reset")
                db.session.commit()
                outcomes.append("ok")
            except tokens.TokenError:
                db.session.rollback()
                outcomes.append("invalid")
            except Exception as exc:  # noqa: BLE001  (SQLite may refuse the loser's write: not a second use)
                db.session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("ok") == 1, outcomes
    db.session.expire_all()
    assert db.session.execute(select(LinkToken.used_at).where(LinkToken.token_hash == tokens.hash_token(raw))).scalar()


# --- OTP -----------------------------------------------------------------------------------------------------------


def test_otp_is_sent_by_whatsapp_and_accepted_once(account, whatsapp_gateway):
    local, number = phone_number()
    otp.send(account.id, local)
    db.session.commit()

    message = whatsapp_gateway.wait_for(number)
    code = code_from(message)
    assert "15 menit" in message["message"]

    row = otp.check(account.id, code)
    db.session.commit()
    assert row.used_at is not None
    with pytest.raises(otp.OtpMissing):
        otp.check(account.id, code)


def test_wrong_code_counts_down_then_locks(account, whatsapp_gateway):
    local, number = phone_number()
    otp.send(account.id, local)
    db.session.commit()
    code = code_from(whatsapp_gateway.wait_for(number))
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    for remaining in (4, 3, 2, 1):
        with pytest.raises(otp.OtpWrong) as caught:
            otp.check(account.id, wrong)
        db.session.commit()  # views commit after a wrong code so the count survives
        assert caught.value.remaining == remaining
        assert str(caught.value) == f"Kode OTP salah. Sisa percobaan: {remaining}."
    with pytest.raises(otp.OtpLocked) as caught:
        otp.check(account.id, wrong)
    db.session.commit()
    assert str(caught.value) == "Kode OTP salah 5 kali. Minta kode baru."
    with pytest.raises(otp.OtpLocked):
        otp.check(account.id, code)  # even the right code, once locked
    assert isinstance(caught.value, otp.OtpError)


def test_code_expires_after_fifteen_minutes(account, whatsapp_gateway):
    local, number = phone_number()
    start = utcnow()
    otp.send(account.id, local, now=start)
    db.session.commit()
    code = code_from(whatsapp_gateway.wait_for(number))

    with pytest.raises(otp.OtpExpired) as caught:
        otp.check(account.id, code, now=start + timedelta(minutes=15, seconds=1))
    assert str(caught.value) == "Kode OTP sudah kedaluwarsa (15 menit). Minta kode baru."
    assert otp.check(account.id, code, now=start + timedelta(minutes=14)).used_at is not None


def test_resend_is_throttled_and_invalidates_the_previous_code(account, whatsapp_gateway):
    local, number = phone_number()
    start = utcnow()
    otp.send(account.id, local, now=start)
    db.session.commit()
    first = code_from(whatsapp_gateway.wait_for(number))

    with pytest.raises(otp.OtpThrottled) as caught:
        otp.send(account.id, local, now=start + timedelta(seconds=20))
    assert caught.value.seconds_to_wait == 40
    assert str(caught.value) == "Tunggu 40 detik sebelum meminta kode baru."

    for n in range(1, 5):  # five sends in the hour are allowed, one minute apart
        otp.send(account.id, local, now=start + timedelta(seconds=61 * n))
        db.session.commit()
    latest = code_from(whatsapp_gateway.wait_for(number, count=5))
    with pytest.raises(otp.OtpThrottled) as caught:
        otp.send(account.id, local, now=start + timedelta(seconds=61 * 5))
    assert caught.value.seconds_to_wait == 3600 - 61 * 5
    assert otp.send(account.id, local, now=start + timedelta(hours=1, seconds=1))  # the window moved on
    db.session.commit()
    newest = code_from(whatsapp_gateway.wait_for(number, count=6))

    now = start + timedelta(hours=1, seconds=2)
    for old in {first, latest} - {newest}:
        with pytest.raises(otp.OtpWrong):
            otp.check(account.id, old, now=now)
    assert otp.check(account.id, newest, now=now)
    db.session.commit()


def test_failed_send_does_not_count_against_the_resend_limit(account, whatsapp_gateway):
    local, number = phone_number()
    whatsapp_gateway.fail_with(503)
    try:
        with pytest.raises(notifications.NotificationError, match="WhatsApp"):
            otp.send(account.id, local)
    finally:
        whatsapp_gateway.recover()
    db.session.commit()
    assert db.session.execute(select(OtpCode).where(OtpCode.account_id == account.id)).first() is None
    otp.send(account.id, local)  # not throttled
    db.session.commit()
    assert whatsapp_gateway.wait_for(number)


def test_code_is_never_stored_in_plaintext(account, whatsapp_gateway):
    local, number = phone_number()
    otp.send(account.id, local)
    db.session.commit()
    code = code_from(whatsapp_gateway.wait_for(number))

    row = db.session.execute(select(OtpCode).where(OtpCode.account_id == account.id)).scalar_one()
    assert row.code_hash != code and row.code_hash.startswith("$argon2")
    metadata = MetaData()
    metadata.reflect(db.engine)
    for table in metadata.sorted_tables:
        for values in db.session.execute(select(table)).all():
            for value in values:
                if isinstance(value, str):
                    assert code not in value, f"the OTP code appears in {table.name}"
                elif isinstance(value, bytes):
                    assert code.encode() not in value, f"the OTP code appears in {table.name}"
