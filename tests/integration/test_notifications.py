"""The outbox: queued in the caller's transaction, delivered by ``work()`` to a real SMTP server and a fake gateway."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.types import utcnow
from app.outbox_cli import outbox_cli
from app.platform import heartbeats, notifications
from app.platform.mailer import SmtpTransport, TransportError
from tests.conftest import free_port

LATER = timedelta(hours=2)  # past any backoff, so earlier tests' retries are due too


def address() -> str:
    """Return a fresh recipient address."""
    return f"penerima-{secrets.token_hex(5)}@uji.go.id"


def phone_number() -> tuple[str, str]:
    """Return a fresh local phone number and its ``+62`` form."""
    digits = f"8{secrets.randbelow(10**10):010d}"
    return "0" + digits, "+62" + digits


def reload(message: OutboxMessage) -> OutboxMessage:
    """Return the message as the database has it now."""
    return db.session.get(OutboxMessage, message.id, populate_existing=True)


def queue_activation(to: str, expires_at=None) -> tuple[OutboxMessage, str]:
    """Queue and commit an activation e-mail with a token link (expiring at ``expires_at``); return it and the link."""
    link = f"http://paraf.test/aktivasi/{secrets.token_urlsafe(32)}"
    message = notifications.queue_email(
        to, "Aktivasi akun", "Yth. Bapak/Ibu,\n\nBuka tautan ini dalam 24 jam:\n{activation}\n", {"activation": link},
        links_expire_at=expires_at,
    )
    db.session.commit()
    return message, link


def test_email_is_queued_then_delivered_with_its_link_and_the_link_wiped(app_ctx, smtp_server):
    to = address()
    message, link = queue_activation(to)

    stored = reload(message)
    assert stored.status == "pending" and stored.sealed_links
    assert link.encode() not in stored.sealed_links and link not in stored.body
    assert notifications.links_of(stored) == {"activation": link}
    assert smtp_server.messages_to(to) == []

    result = notifications.work(limit=1000)
    assert result.sent >= 1

    received = smtp_server.wait_for(to)
    assert received["Subject"] == "Aktivasi akun"
    assert received["From"] == app_ctx.config["MAIL_FROM"]
    assert smtp_server.links_in(received) == [link]
    assert "{activation}" not in smtp_server.text_of(received)
    sent = reload(message)
    assert sent.status == "sent" and sent.sent_at is not None and sent.sealed_links is None
    assert notifications.links_of(sent) == {}


def test_queued_message_is_part_of_the_callers_transaction(app_ctx, smtp_server):
    to = address()
    message, _ = queue_activation(to)
    rolled_back = notifications.queue_email(to, "Tidak jadi", "Dibatalkan.")
    rolled_back_id = rolled_back.id
    db.session.rollback()

    notifications.work(limit=1000)
    assert smtp_server.wait_for(to)["Subject"] == "Aktivasi akun"
    assert db.session.get(OutboxMessage, rolled_back_id) is None
    assert len(smtp_server.messages_to(to)) == 1
    assert reload(message).status == "sent"


def test_a_link_without_a_placeholder_is_refused(app_ctx):
    with pytest.raises(ValueError, match="placeholder"):
        notifications.queue_email(address(), "Subjek", "Tanpa tautan.", {"activation": "http://x/t"})


def test_whatsapp_goes_through_the_gateway(app_ctx, whatsapp_gateway):
    local, number = phone_number()
    link = f"http://paraf.test/passphrase/{secrets.token_urlsafe(32)}"
    message = notifications.queue_whatsapp(local, "Buat passphrase Anda: {set_passphrase}", {"set_passphrase": link})
    db.session.commit()
    assert message.recipient == number

    notifications.work(limit=1000)
    posted = whatsapp_gateway.wait_for(number)
    assert posted == {"to": number, "message": f"Buat passphrase Anda: {link}"}
    assert whatsapp_gateway.unauthorized == 0
    assert reload(message).status == "sent" and reload(message).sealed_links is None


def test_whatsapp_waits_while_no_gateway_is_configured(app_ctx, whatsapp_gateway, monkeypatch, caplog):
    local, number = phone_number()
    message = notifications.queue_whatsapp(local, "Pesan uji.")
    db.session.commit()
    monkeypatch.setitem(app_ctx.config, "WHATSAPP_GATEWAY_URL", "")
    monkeypatch.setattr(notifications, "_warned_no_gateway", False)

    with caplog.at_level(logging.WARNING, logger=notifications.__name__):
        notifications.work(limit=1000)
        notifications.work(limit=1000)
    warnings = [r for r in caplog.records if "WHATSAPP_GATEWAY_URL" in r.getMessage()]
    assert len(warnings) == 1
    waiting = reload(message)
    assert waiting.status == "pending" and waiting.attempts == 0

    monkeypatch.undo()
    notifications.work(limit=1000)
    assert whatsapp_gateway.wait_for(number)["message"] == "Pesan uji."


def test_nothing_is_lost_while_the_mail_server_is_down(app_ctx, smtp_server, monkeypatch):
    to = address()
    message, link = queue_activation(to)
    start = utcnow()

    monkeypatch.setitem(app_ctx.config, "MAIL_PORT", free_port())  # nothing listens there
    result = notifications.work(now=start, limit=1000)
    assert result.retried >= 1
    waiting = reload(message)
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.next_attempt_at > start
    assert waiting.last_error and "SMTP" in waiting.last_error
    assert link not in waiting.last_error
    assert notifications.links_of(waiting) == {"activation": link}  # still sealed, still there

    monkeypatch.undo()  # the server is back
    notifications.work(now=start + timedelta(seconds=1), limit=1000)
    assert reload(message).status == "pending"  # not due yet: the backoff holds
    notifications.work(now=start + LATER, limit=1000)
    assert smtp_server.links_in(smtp_server.wait_for(to)) == [link]
    delivered = reload(message)
    assert delivered.status == "sent" and delivered.attempts == 2 and delivered.sealed_links is None


def give_up_on(app_ctx, monkeypatch, message: OutboxMessage, now) -> None:
    """Fail every try of ``message`` (3 allowed) while the mail server is down, starting at ``now``."""
    with monkeypatch.context() as down:
        down.setitem(app_ctx.config, "MAIL_PORT", free_port())
        down.setitem(app_ctx.config, "OUTBOX_MAX_ATTEMPTS", 3)
        for _ in range(3):
            notifications.work(now=now, limit=1000)
            now += LATER
    assert reload(message).status == "failed"


def test_a_message_given_up_on_keeps_its_links_and_is_delivered_after_outbox_retry(app_ctx, runner, smtp_server,
                                                                                    monkeypatch):
    to = address()
    message, link = queue_activation(to, expires_at=utcnow() + timedelta(days=2))
    give_up_on(app_ctx, monkeypatch, message, utcnow())
    given_up = reload(message)
    assert given_up.attempts == 3 and notifications.links_of(given_up) == {"activation": link}
    notifications.work(limit=1000)  # a pass before the links expire keeps them
    assert notifications.links_of(reload(message)) == {"activation": link}

    listed = runner.invoke(args=["outbox", "list", "--failed"])
    assert listed.exit_code == 0, listed.output
    assert f"{message.id}\tfailed\temail\t{to}\ttries 3\tlinks until" in listed.output
    assert link not in listed.output and "Yth." not in listed.output

    retried = runner.invoke(args=["outbox", "retry", "--id", str(message.id)])
    assert retried.exit_code == 0, retried.output
    assert f"message {message.id}: requeued" in retried.output
    requeued = reload(message)
    assert requeued.status == "pending" and requeued.attempts == 0 and requeued.last_error is None

    notifications.work(limit=1000)
    assert smtp_server.links_in(smtp_server.wait_for(to)) == [link]
    assert reload(message).status == "sent" and reload(message).sealed_links is None


def test_retry_refuses_a_message_whose_links_expired_and_the_worker_wiped_them(app_ctx, runner, smtp_server,
                                                                               monkeypatch):
    message, _ = queue_activation(address(), expires_at=utcnow() + timedelta(hours=3))
    start = utcnow()
    give_up_on(app_ctx, monkeypatch, message, start)
    assert reload(message).sealed_links  # kept until the links expire ...
    notifications.work(now=start + timedelta(hours=7), limit=1000)
    assert reload(message).sealed_links is None  # ... then wiped by the next pass

    retried = runner.invoke(args=["outbox", "retry", "--all-failed"])
    assert retried.exit_code == 1
    assert f"message {message.id}: not requeued, its links have expired" in retried.output
    assert reload(message).status == "failed"
    assert runner.invoke(args=["outbox", "retry"]).exit_code == 2  # neither --id nor --all-failed


def test_default_tries_span_more_than_a_day_of_outage(app_ctx, monkeypatch):
    monkeypatch.setattr(notifications.random, "uniform", lambda low, high: low)  # the shortest jitter
    config = app_ctx.config
    tries = int(config["OUTBOX_MAX_ATTEMPTS"])
    waits = sum((notifications.backoff(n, float(config["OUTBOX_BACKOFF_CAP_SECONDS"])) for n in range(1, tries)),
                timedelta())
    assert waits > timedelta(hours=24)


def test_backoff_grows_and_is_capped():
    assert timedelta(seconds=22) <= notifications.backoff(1) <= timedelta(seconds=30)
    assert timedelta(seconds=45) <= notifications.backoff(2) <= timedelta(seconds=60)
    assert notifications.backoff(30) <= timedelta(hours=1)


def test_a_message_left_sending_by_a_dead_worker_is_reclaimed(app_ctx, smtp_server):
    to = address()
    message, link = queue_activation(to)
    now = utcnow()
    stuck = reload(message)
    stuck.status, stuck.next_attempt_at = "sending", now + notifications.LEASE  # claimed, then the worker died
    db.session.commit()

    notifications.work(now=now + timedelta(minutes=1), limit=1000)
    assert reload(message).status == "sending" and smtp_server.messages_to(to) == []
    notifications.work(now=now + timedelta(minutes=11), limit=1000)
    assert smtp_server.links_in(smtp_server.wait_for(to)) == [link]
    assert reload(message).status == "sent"


def test_two_workers_never_send_a_message_twice(app, app_ctx, smtp_server):
    recipients = [address() for _ in range(12)]
    for to in recipients:
        notifications.queue_email(to, "Uji paralel", f"Pesan untuk {to}.")
    db.session.commit()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        with app.app_context():
            barrier.wait()
            try:
                results.append(notifications.work(limit=1000))
            except Exception as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    for to in recipients:
        smtp_server.wait_for(to)
    time.sleep(0.2)  # a double send would have arrived by now
    assert all(len(smtp_server.messages_to(to)) == 1 for to in recipients)
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient.in_(recipients))).scalars().all()
    assert {row.status for row in rows} == {"sent"} and {row.attempts for row in rows} == {1}


def test_send_now_stores_nothing_and_reports_failure_in_indonesian(app_ctx, smtp_server, monkeypatch):
    to = address()
    before = db.session.execute(select(db.func.count()).select_from(OutboxMessage)).scalar()
    notifications.send_email_now(to, "Akun portal", "Kata sandi sekali pakai: Rahasia-123")
    assert "Rahasia-123" in smtp_server.text_of(smtp_server.wait_for(to))
    assert db.session.execute(select(db.func.count()).select_from(OutboxMessage)).scalar() == before

    monkeypatch.setitem(app_ctx.config, "MAIL_PORT", free_port())
    with pytest.raises(notifications.NotificationError) as caught:
        notifications.send_email_now(address(), "Akun portal", "Kata sandi sekali pakai: Rahasia-456")
    assert "Coba lagi" in str(caught.value) and "Rahasia" not in str(caught.value)


def test_whatsapp_now_with_a_wrong_token_fails(app_ctx, whatsapp_gateway, monkeypatch):
    local, _ = phone_number()
    monkeypatch.setitem(app_ctx.config, "WHATSAPP_GATEWAY_TOKEN", "salah")
    before = whatsapp_gateway.unauthorized
    with pytest.raises(notifications.NotificationError, match="WhatsApp"):
        notifications.send_whatsapp_now(local, "Kode: 123456")
    assert whatsapp_gateway.unauthorized == before + 1


def test_bad_phone_number_is_refused(app_ctx):
    with pytest.raises(notifications.NotificationError, match="Nomor HP tidak valid"):
        notifications.queue_whatsapp("12ab", "Pesan.")


def test_real_network_mail_is_refused():
    with pytest.raises(TransportError, match="ConnectionRefused"):
        SmtpTransport("mail.example.com", 587, timeout=1).send("x@example.com", "s", "b")
    with pytest.raises(TransportError):
        SmtpTransport("127.0.0.1", 25, timeout=1).send("x@example.com", "s", "b")


def test_dev_page_is_hidden_unless_enabled(client, app):
    assert not app.debug and not app.config["OUTBOX_PAGE"]
    assert client.get("/dev/outbox/").status_code == 404


def test_dev_page_lists_unsent_links(app, app_ctx, client, monkeypatch):
    to = address()
    message, link = queue_activation(to)
    monkeypatch.setitem(app.config, "OUTBOX_PAGE", True)

    page = client.get("/dev/outbox/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert to in html and f'href="{link}"' in html and f'id="message-{message.id}"' in html


def test_cli_work_once(app_ctx, runner, smtp_server):
    to = address()
    _, link = queue_activation(to)

    result = runner.invoke(args=["outbox", "work", "--limit", "1000"])
    assert result.exit_code == 0, result.output
    assert "outbox: sent" in result.output and link not in result.output
    assert smtp_server.links_in(smtp_server.wait_for(to)) == [link]


def test_cli_loop_stops_cleanly_on_sigterm(app_ctx, runner, smtp_server):
    to = address()
    queue_activation(to)
    errors = []

    def ours() -> bool:
        return getattr(signal.getsignal(signal.SIGTERM), "__module__", None) == "app.outbox_cli"

    def stop_when_delivered():
        try:
            smtp_server.wait_for(to, timeout=20)
        except AssertionError as exc:  # reported below; still stop the worker
            errors.append(exc)
        deadline = time.monotonic() + 10
        while not ours() and time.monotonic() < deadline:
            time.sleep(0.01)
        if ours():  # the worker's handler, not pytest's: safe to signal
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            errors.append(AssertionError("the worker did not install its SIGTERM handler"))

    previous = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=stop_when_delivered)
    killer.start()
    result = runner.invoke(outbox_cli, ["work", "--loop", "--interval", "0.1", "--limit", "1000"])
    killer.join(timeout=30)

    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "outbox worker stopped" in result.output
    assert signal.getsignal(signal.SIGTERM) is previous
    assert heartbeats.OUTBOX not in heartbeats.all_beats()  # stopped on purpose: /healthz does not see it die
