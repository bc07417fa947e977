"""The audit hash chain keyed by the HSM, its checkpoints, and `flask audit verify` on a database of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from asn1crypto import pem
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app import create_app
from app.domain import keys
from app.extensions import db
from app.models.audit import GENESIS, HSM_HMAC, PLAIN_SHA256, AuditEvent, AuditHead
from app.platform.audit import Actor, hashed_bytes, record, seal_plain_events


@pytest.fixture()
def audit_app(app, tmp_path):
    """Return an app on a fresh database holding three audit events."""
    fresh = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'audit.db'}"})  # always SQLite
    with fresh.app_context():
        upgrade()
        for n in range(3):
            record(Actor("verifier-a", ip="10.0.0.1", agency_id=7), "account.approve", "account", n, reason=f"ok {n}")
        db.session.commit()
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


def verify(app, *checkpoints: str) -> tuple[int, str]:
    """Run `flask audit verify [CHECKPOINT...]` and return its exit code and output."""
    result = app.test_cli_runner().invoke(args=["audit", "verify", *checkpoints])
    return result.exit_code, result.output


def execute(app, sql: str) -> None:
    """Run raw SQL against the app's database, as someone tampering with it would."""
    with app.app_context():
        db.session.execute(text(sql))
        db.session.commit()


def test_intact_chain_passes(audit_app):
    assert verify(audit_app) == (0, "audit chain intact\n")


def test_edited_row_fails(audit_app):
    execute(audit_app, "UPDATE audit_events SET reason = 'ditolak' WHERE seq = 2")
    code, output = verify(audit_app)
    assert code == 1
    assert "content changed" in output


def test_removed_row_fails(audit_app):
    execute(audit_app, "DELETE FROM audit_events WHERE seq = 2")
    code, output = verify(audit_app)
    assert code == 1
    assert "removed or reordered" in output


def test_removed_newest_row_fails(audit_app):
    execute(audit_app, "DELETE FROM audit_events WHERE seq = 3")
    code, output = verify(audit_app)
    assert code == 1
    assert "newest events were removed" in output


def test_reordered_rows_fail(audit_app):
    execute(audit_app, "UPDATE audit_events SET id = 100 WHERE seq = 1")
    code, output = verify(audit_app)
    assert code == 1
    assert "removed or reordered" in output


def test_fresh_instance_chain_passes(runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


@pytest.fixture()
def signing_app(app, tmp_path):
    """Return an app on a fresh database (instance folder ``tmp_path``) whose chain holds a signing and a failed login."""
    fresh = create_app({**app.config, "INSTANCE_PATH": str(tmp_path),
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'audit.db'}"})
    with fresh.app_context():
        upgrade()
        record(Actor("verifier-a", ip="10.0.0.1", agency_id=7), "account.approve", "account", 1)
        record(Actor("subscriber:budi@contoh.go.id", ip="10.0.0.2", agency_id=7), "workflow.sign", "workflow", "wf-1")
        record(Actor("anonymous", ip="10.9.9.9", agency_id=7), "auth.login_failed", "account", 1)
        record(Actor("verifier-a", ip="10.0.0.1", agency_id=7), "account.approve", "account", 2)
        db.session.commit()
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


def plain_sha256(data: bytes) -> str:
    """Hash as the chain did before it was keyed: anyone can."""
    return hashlib.sha256(data).hexdigest()


def invented_hmac(data: bytes) -> str:
    """HMAC-SHA256 under a key the attacker made up, as the HSM's cannot be read."""
    return hmac.new(b"kunci-buatan-penyerang-32-bytes!", data, hashlib.sha256).hexdigest()


def rewrite(app, hash_function, scheme: int = HSM_HMAC, start_seq: int = 2) -> int:
    """Change the signer, delete the failed login, renumber and re-chain from ``start_seq``; return the first changed id."""
    with app.app_context():
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        rows[1].actor = "subscriber:joko@contoh.go.id"
        failed = next(row for row in rows if row.action == "auth.login_failed")
        db.session.delete(failed)
        db.session.flush()  # before the renumbering takes its sequence number
        rows.remove(failed)
        prev_hash, changed = GENESIS, None
        for seq, row in enumerate(rows, start=1):
            row.seq = seq
            if seq >= start_seq:
                changed = changed or row.id
                row.scheme, row.prev_hash = scheme, prev_hash
                row.hash = hash_function(hashed_bytes(prev_hash, row))
            prev_hash = row.hash
        head = db.session.get(AuditHead, 1)
        head.seq, head.hash = len(rows), prev_hash
        db.session.commit()
        return changed


def test_keyed_chain_passes_and_each_hash_is_the_hsm_hmac(signing_app):
    assert verify(signing_app) == (0, "audit chain intact\n")
    with signing_app.app_context():
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        assert {row.scheme for row in rows} == {HSM_HMAC}
        for row in rows:
            data = hashed_bytes(row.prev_hash, row)
            assert row.hash == keys.audit_mac(data).hex() != plain_sha256(data)


@pytest.mark.parametrize("hash_function", [plain_sha256, invented_hmac], ids=["plain-sha256", "invented-hmac"])
def test_recomputed_chain_fails_at_the_first_rewritten_event(signing_app, hash_function):
    first = rewrite(signing_app, hash_function)
    code, output = verify(signing_app)
    assert code == 1
    assert output.splitlines()[0] == f"event {first}: content changed after it was written"


def test_chain_rewritten_as_plain_sha256_after_keyed_events_fails(signing_app):
    first = rewrite(signing_app, plain_sha256, scheme=PLAIN_SHA256)
    code, output = verify(signing_app)
    assert code == 1
    assert output.splitlines()[0] == f"event {first}: not keyed by the HSM after keyed events (rewritten)"


def test_chain_rewritten_entirely_as_plain_sha256_fails(signing_app):
    rewrite(signing_app, plain_sha256, scheme=PLAIN_SHA256, start_seq=1)
    with signing_app.app_context():
        newest = db.session.execute(select(func.max(AuditEvent.id))).scalar_one()
    code, output = verify(signing_app)
    assert code == 1
    assert output.splitlines() == [
        f"event {newest}: the newest event is not keyed by the HSM (rewritten, or run `flask pki init`)"]


def legacy_event(seq: int, prev_hash: str) -> AuditEvent:
    """Return an unsaved event hashed as before the chain was keyed."""
    event = AuditEvent(seq=seq, at=datetime(2026, 1, seq, tzinfo=UTC), actor="verifier-a", action="account.approve",
                       subject_type="account", subject_id=str(seq), agency_id=7, ip="10.0.0.1", reason=None, details="{}",
                       prev_hash=prev_hash, scheme=PLAIN_SHA256)
    event.hash = plain_sha256(hashed_bytes(prev_hash, event))
    return event


@pytest.fixture()
def legacy_app(app, tmp_path):
    """Return an app whose database had three plain SHA-256 events when it was upgraded to the keyed chain."""
    fresh = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'legacy.db'}"})
    with fresh.app_context():
        upgrade(revision="0008")  # the last revision before the keyed chain
        prev_hash = GENESIS
        for seq in (1, 2, 3):
            event = legacy_event(seq, prev_hash)
            db.session.execute(text(
                "INSERT INTO audit_events (seq, at, actor, action, subject_type, subject_id, agency_id, ip, details, "
                "prev_hash, hash) VALUES (:seq, :at, :actor, :action, :subject_type, :subject_id, :agency_id, :ip, "
                ":details, :prev_hash, :hash)"),
                {column: getattr(event, column) for column in ("seq", "actor", "action", "subject_type", "subject_id",
                                                               "agency_id", "ip", "details", "prev_hash", "hash")}
                | {"at": event.at.strftime("%Y-%m-%d %H:%M:%S.%f")})
            prev_hash = event.hash
        db.session.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :hash)"), {"hash": prev_hash})
        db.session.commit()
        upgrade()
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


def test_plain_events_stay_verifiable_once_sealed_by_a_keyed_event(legacy_app):
    code, output = verify(legacy_app)
    assert code == 1 and "the newest event is not keyed by the HSM" in output  # upgraded, `flask pki init` not run yet
    assert legacy_app.test_cli_runner().invoke(args=["pki", "init"]).exit_code == 0
    with legacy_app.app_context():
        record(Actor("verifier-a"), "account.approve", "account", 4)
        db.session.commit()
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        assert [row.scheme for row in rows[:3]] == [PLAIN_SHA256] * 3
        assert {row.scheme for row in rows[3:]} == {HSM_HMAC}
        assert (rows[3].action, rows[3].prev_hash) == ("audit.keyed", rows[2].hash)
    assert verify(legacy_app) == (0, "audit chain intact\n")


def test_sealing_plain_events_records_one_keyed_event(legacy_app):
    with legacy_app.app_context():
        seal_plain_events(Actor("cli"))
        seal_plain_events(Actor("cli"))
        db.session.commit()
        assert db.session.execute(select(AuditEvent.action, AuditEvent.scheme).where(AuditEvent.seq > 3)).all() == [
            ("audit.keyed", HSM_HMAC)]
    assert verify(legacy_app) == (0, "audit chain intact\n")


def test_rewritten_plain_events_fail_once_sealed(legacy_app):
    with legacy_app.app_context():
        seal_plain_events(Actor("cli"))
        db.session.commit()
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        rows[1].actor = "verifier-b"  # re-chain the plain events: the keyed one no longer follows
        for prev, row in pairwise(rows[:3]):
            row.prev_hash = prev.hash
            row.hash = plain_sha256(hashed_bytes(row.prev_hash, row))
        db.session.commit()
        keyed_id = rows[3].id
    code, output = verify(legacy_app)
    assert code == 1
    assert output.splitlines() == [f"event {keyed_id}: does not follow the previous event (removed or reordered)"]


def openssl_ts_verify(statement: Path, root: Path) -> subprocess.CompletedProcess:
    """Check a checkpoint statement against its time-stamp reply with `openssl ts -verify`, trusting ``root``."""
    return subprocess.run(["openssl", "ts", "-verify", "-data", str(statement), "-in", str(statement.with_suffix(".tsr")),
                           "-CAfile", str(root)], capture_output=True, text=True, check=False)


def test_checkpoint_is_a_time_stamp_openssl_verifies(signing_app, tmp_path):
    result = signing_app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    with signing_app.app_context():
        newest = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        hierarchy = keys.context().hierarchy()
        newest_id, newest_seq, newest_hash = newest.id, newest.seq, newest.hash
    statement = tmp_path / "audit-checkpoints" / f"checkpoint-{newest_seq:010d}.json"
    assert f"checkpoint of event {newest_id} (sequence {newest_seq}, hash {newest_hash})" in result.output
    assert str(statement) in result.output
    point = json.loads(statement.read_bytes())
    assert (point["event"], point["seq"], point["hash"]) == (newest_id, newest_seq, newest_hash)
    root = tmp_path / "root.pem"
    root.write_bytes(pem.armor("CERTIFICATE", hierarchy.root))
    openssl = openssl_ts_verify(statement, root)
    assert openssl.returncode == 0 and "Verification: OK" in openssl.stdout, openssl.stdout + openssl.stderr
    statement.write_bytes(statement.read_bytes().replace(b'"seq"', b'"seq" '))
    assert openssl_ts_verify(statement, root).returncode != 0  # the token covers the statement's bytes


def test_checkpoint_detects_the_newest_events_cut_off(signing_app, tmp_path):
    assert signing_app.test_cli_runner().invoke(args=["audit", "checkpoint"]).exit_code == 0
    with signing_app.app_context():
        record(Actor("verifier-a"), "account.approve", "account", 3)
        db.session.commit()
        rows = list(db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars())
        checkpointed = rows[-2]
        for row in rows[-2:]:  # cut off the checkpointed event and the one after it, head row fixed up
            db.session.delete(row)
        head = db.session.get(AuditHead, 1)
        head.seq, head.hash = rows[-3].seq, rows[-3].hash
        db.session.commit()
        checkpointed_id = checkpointed.id
    folder = tmp_path / "audit-checkpoints"
    assert verify(signing_app) == (0, "audit chain intact\n")  # the chain alone cannot tell
    code, output = verify(signing_app, str(folder))
    assert code == 1
    name = folder / "checkpoint-0000000004.json"
    assert output.splitlines() == [f"checkpoint {name}: event {checkpointed_id} is gone (the newest events were removed)"]


def test_checkpoints_of_an_intact_chain_pass(signing_app, tmp_path):
    runner = signing_app.test_cli_runner()
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    with signing_app.app_context():
        record(Actor("verifier-a"), "account.approve", "account", 3)
        db.session.commit()
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    folder = tmp_path / "audit-checkpoints"
    assert len(list(folder.glob("checkpoint-*.json"))) == 2
    assert verify(signing_app, str(folder)) == (0, "audit chain intact\n")
    assert verify(signing_app, str(folder / "checkpoint-0000000004.json")) == (0, "audit chain intact\n")


def test_checkpoint_of_an_empty_chain_is_refused(app, tmp_path):
    fresh = create_app({**app.config, "INSTANCE_PATH": str(tmp_path),
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    with fresh.app_context():
        upgrade()
    result = fresh.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 1 and "the audit chain is empty" in result.output
    assert not (tmp_path / "audit-checkpoints").exists()
    with fresh.app_context():
        db.engine.dispose()


def test_verify_refuses_a_folder_without_checkpoints_and_a_file_that_is_not_one(signing_app, tmp_path):
    (tmp_path / "kosong").mkdir()
    code, output = verify(signing_app, str(tmp_path / "kosong"))
    assert code == 1 and f"cannot read the checkpoints: no checkpoint-*.json in {tmp_path / 'kosong'}" in output
    (tmp_path / "bukan.json").write_text("bukan JSON")
    code, output = verify(signing_app, str(tmp_path / "bukan.json"))
    assert code == 1 and "cannot read the checkpoints" in output
