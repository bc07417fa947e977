"""The audit hash chain and `flask audit verify` on a database of its own."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.platform.audit import Actor, record


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


def verify(app) -> tuple[int, str]:
    """Run `flask audit verify` and return its exit code and output."""
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
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
