"""Nothing lost, loops supervised, a health check that tells the truth, and signing that survives a token outage."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.domain import keys
from app.domain.key_errors import KeyServiceUnavailable
from app.domain.signing import signatures
from app.extensions import db
from app.models import Account, Certificate, LoopHeartbeat, OutboxMessage
from app.models.types import utcnow
from app.platform import heartbeats, notifications
from app.platform.audit import Actor
from signer import keys as signer_keys
from signer.errors import HsmUnavailable
from tests import key_pool
from tests.conftest import CHEAP_HASHES
from tests.pdfs import make_pdf
from tests.subscribers import create_subscriber

REPO = Path(__file__).resolve().parents[2]
OUTBOX_INTERVAL = 0.2


@pytest.fixture()
def loops_app(app, instance_dir, tmp_path):
    """Return an app on the session's instance and token but a database of its own, for loops run as processes."""
    database = f"sqlite:///{tmp_path / 'loops.db'}"
    own = create_app({"INSTANCE_PATH": str(instance_dir), "TESTING": True, "SQLALCHEMY_DATABASE_URI": database,
                      "SOFTHSM2_CONF": app.config["SOFTHSM2_CONF"], "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
                      "HEALTH_LOOP_INTERVALS": 3, "HEALTH_LOOP_MIN_SECONDS": 1, **CHEAP_HASHES})
    with own.app_context():
        upgrade()
    yield own
    with own.app_context():
        db.engine.dispose()


def beats(app) -> dict[str, LoopHeartbeat]:
    """Return the loops' heartbeats as the database has them now."""
    with app.app_context():
        rows = heartbeats.all_beats()
        db.session.expunge_all()
        return rows


def wait_until(condition, timeout: float, what: str, every: float = 0.05):
    """Return ``condition()`` once it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not within {timeout} s")


@pytest.mark.slow
def test_a_killed_outbox_loop_is_restarted_and_healthz_names_it_while_it_is_down(loops_app, instance_dir, tmp_path,
                                                                                  smtp_server):
    env = {**os.environ, "PARAF_INSTANCE": str(instance_dir), "DATABASE_URL": loops_app.config["SQLALCHEMY_DATABASE_URI"],
           "SOFTHSM2_CONF": loops_app.config["SOFTHSM2_CONF"], "PUBLIC_BASE_URL": loops_app.config["PUBLIC_BASE_URL"],
           "MAIL_SERVER": smtp_server.host, "MAIL_PORT": str(smtp_server.port), "LOG_LEVEL": "INFO"}
    log_path = tmp_path / "loops.log"
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "loops", "run",
               "--outbox-interval", str(OUTBOX_INTERVAL), "--sweep-interval", "3600"]
    with log_path.open("wb") as log_file:
        supervisor = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                      start_new_session=True)
    client = loops_app.test_client()
    try:
        first = wait_until(lambda: (rows := beats(loops_app)).keys() >= set(heartbeats.LOOPS) and rows, 60,
                           "both loops' first heartbeat")
        wait_until(lambda: client.get("/healthz").status_code == 200, 10, "a healthy /healthz")
        health = client.get("/healthz").get_json()
        assert health["loop_outbox"] == "ok" and health["loop_certificate_sweep"] == "ok"
        dead = first[heartbeats.OUTBOX].pid

        os.kill(dead, signal.SIGKILL)
        to = f"penerima-{secrets.token_hex(5)}@uji.go.id"
        link = f"http://paraf.test/aktivasi/{secrets.token_urlsafe(32)}"
        with loops_app.app_context():
            notifications.queue_email(to, "Aktivasi akun", "Buka tautan ini:\n{activation}\n", {"activation": link},
                                      links_expire_at=utcnow() + timedelta(hours=1))
            db.session.commit()

        down = wait_until(lambda: (response := client.get("/healthz")).status_code == 503 and response, 20,
                          "a 503 while the outbox loop is down")
        body = down.get_json()
        assert body["failing"] == ["loop_outbox"] and body["loop_certificate_sweep"] == "ok"
        assert body["loop_outbox_age_seconds"] >= 1

        back = wait_until(lambda: (row := beats(loops_app).get(heartbeats.OUTBOX)) and row.pid != dead and row, 60,
                          "a heartbeat of the restarted outbox loop")
        assert back.pid != dead and back.interval_seconds == OUTBOX_INTERVAL
        assert smtp_server.links_in(smtp_server.wait_for(to, timeout=30)) == [link]
        wait_until(lambda: client.get("/healthz").status_code == 200, 10, "/healthz healthy again")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            code = supervisor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(supervisor.pid, signal.SIGKILL)
            raise
    output = log_path.read_text()
    assert code == 0, output
    assert f"loop outbox (pid {dead}) exited with -9; restarting in 1 s" in output
    assert "loops supervisor stopped" in output and "outbox worker stopped" in output
    with pytest.raises(ProcessLookupError):  # the children were stopped and reaped with their supervisor
        os.kill(back.pid, 0)
    assert beats(loops_app) == {}  # stopped on purpose: no heartbeat is left to grow old


def test_healthz_reports_the_outbox_backlog_and_fails_when_the_oldest_message_is_too_old(app, app_ctx, client):
    message = notifications.queue_email(f"lama-{secrets.token_hex(4)}@uji.go.id", "Lama", "Pesan lama.")
    message.created_at = utcnow() - timedelta(minutes=int(app.config["HEALTH_OUTBOX_MAX_AGE_MINUTES"]) + 5)
    db.session.commit()
    try:
        response = client.get("/healthz")
        body = response.get_json()
        assert response.status_code == 503 and body["status"] == "error" and body["failing"] == ["outbox"]
        assert body["outbox_pending"] >= 1
        assert body["outbox_oldest_seconds"] >= (int(app.config["HEALTH_OUTBOX_MAX_AGE_MINUTES"]) + 5) * 60
        assert body["db"] == "ok" and body["hsm"] == "ok"
    finally:
        db.session.delete(db.session.get(OutboxMessage, message.id))
        db.session.commit()
    assert client.get("/healthz").status_code == 200


def test_healthz_fails_when_the_token_answers_but_lacks_the_ca_key(client, monkeypatch):
    monkeypatch.setattr(keys.ca, "ISSUING", "paraf-no-such-key")  # the token answers, the key lookup finds nothing
    with key_pool.paused():  # the lookup re-initialises the library once: no other thread may be inside it then
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["hsm"]


CHILD = r"""
import os, shutil, sys
from pathlib import Path
from app import create_app
from app.domain import keys
from app.domain.key_errors import KeyServiceUnavailable
from app.extensions import db
from app.platform.audit import Actor

instance, database, conf, token = sys.argv[1:5]
app = create_app({"INSTANCE_PATH": instance, "SQLALCHEMY_DATABASE_URI": database, "SOFTHSM2_CONF": conf,
                  "KDF_MEMORY_KIB": 1024, "KDF_TIME_COST": 1})
subject = {"country_name": "ID", "organization_name": "Pemerintah Kota Contoh", "common_name": "Dewi Lestari"}


away = str(Path(token).parent.parent / "unplugged")  # out of the token folder, where SoftHSM finds every token


def outage():
    shutil.move(token, away)  # the token is unplugged ...
    try:
        keys.publish_crl("issuing")
        print("signed during the outage")
    except KeyServiceUnavailable:
        print("refused during the outage")
    shutil.move(away, token)  # ... and back


with app.app_context():
    keys.ping()  # a cold worker: the token answered, no key looked up yet
    outage()
    keys.publish_crl("issuing")
    keys.issue_subscriber_certificate(subject, "Rahasia#123", Actor("test"))
    print("cold worker signs again")
    outage()
    keys.publish_crl("issuing")
    keys.ping()
    print("warm worker signs again")
    db.session.rollback()
"""


def test_a_cold_and_a_warm_worker_sign_again_after_the_token_was_unplugged(app, instance_dir, tmp_path):
    """Run a worker in a process of its own on a copy of the session's token, unplug the copy, plug it back, sign."""
    copy = tmp_path / "softhsm"
    shutil.copytree(Path(app.config["SOFTHSM2_CONF"]).parent, copy)
    conf = copy / "softhsm2.conf"
    conf.write_text(conf.read_text().replace(str(Path(app.config["SOFTHSM2_CONF"]).parent), str(copy)))
    [token] = [path for path in (copy / "tokens").iterdir() if path.is_dir()]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(instance_dir), app.config["SQLALCHEMY_DATABASE_URI"], str(conf), str(token)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:4] == ["refused during the outage", "cold worker signs again",
                                             "refused during the outage", "warm worker signs again"], result.stdout


@pytest.fixture()
def signer_account(app):
    """Return a committed subscriber with a certificate, and its account and certificate rows in an app context."""
    person = create_subscriber(app, name="Rina Wulandari")
    with app.app_context():
        yield person, db.session.get(Account, person.id), db.session.get(Certificate, person.certificate_id)
        db.session.rollback()


def test_every_failed_signing_is_logged_with_who_what_why_and_no_secret(signer_account, caplog, monkeypatch):
    person, account, certificate = signer_account
    wrong, document = "Salah#Sekali99", make_pdf()
    upload = signatures.Upload("surat.pdf", document)
    caplog.set_level(logging.WARNING)

    with pytest.raises(signatures.PassphraseWrong):
        signatures.sign_documents(account, wrong, [upload], signatures.Placement(), signatures.Details(),
                                  Actor("rina"), via="api")
    db.session.commit()  # the wrong try counts, as the views keep it

    def token_gone(*args, **kwargs):
        raise HsmUnavailable("cannot unwrap the subscriber key") from RuntimeError("token gone")

    monkeypatch.setattr(signer_keys, "unlock_wrapped", token_gone)
    with pytest.raises(KeyServiceUnavailable):  # a CSC SAD's wrapped key, with the HSM gone
        keys.sign_digests(certificate, b"wrapped", [b"\x00" * 32])

    def hsm_down(*args, **kwargs):
        raise KeyServiceUnavailable() from RuntimeError("token gone")

    monkeypatch.setattr(keys, "unlocked", hsm_down)
    with pytest.raises(signatures.SigningRefused):
        signatures.sign_documents(account, person.passphrase, [upload], signatures.Placement(), signatures.Details(),
                                  Actor("rina"), workflow_id=77)

    lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("signing failed")]
    assert all(record.levelno == logging.WARNING for record in caplog.records if record.getMessage() in lines)
    assert lines == [
        f"signing failed: account {account.id} (rina) via api, 1 document(s): PassphraseWrong (status 422)",
        (f"signing failed: account {account.id}, certificate {certificate.serial} via csc, 1 hash(es): "
         "KeyServiceUnavailable (status 503) <- HsmUnavailable <- RuntimeError"),
        (f"signing failed: account {account.id} (rina) via portal, workflow 77, 1 document(s): "
         "SigningRefused (status 409) <- KeyServiceUnavailable <- RuntimeError"),
    ]
    logged = "\n".join(caplog.text.splitlines())
    assert wrong not in logged and person.passphrase not in logged and "surat.pdf" not in logged
