"""Shared fixtures: one instance folder, SoftHSM token and CA hierarchy per test session, served on loopback."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData
from werkzeug.serving import make_server

from app import create_app
from app.domain import keys
from app.extensions import db
from app.instance_setup import init_softhsm_token, read_config, write_config
from app.platform.audit import Actor
from tests import key_pool
from tests.auth_helpers import CLOCK
from tests.pki_helpers import make_nss_db

pytest_plugins = ["tests.fixtures.faces", "tests.fixtures.messaging"]

PASSPHRASE = "Rahasia#123"
# Argon2id at a low cost for portal passwords and passphrase-sealed keys: tests sign in and unlock keys often.
CHEAP_HASHES = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 1024, "PASSWORD_HASH_PARALLELISM": 1,
                "KDF_MEMORY_KIB": 1024, "KDF_TIME_COST": 1}


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LiveServer:
    """The test app served over HTTP on loopback."""

    url: str


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    """Return a fresh instance folder with generated secrets and a SoftHSM token."""
    instance = tmp_path_factory.mktemp("instance")
    write_config(instance)
    values = read_config(instance)
    init_softhsm_token(instance / "softhsm" / "softhsm2.conf", "paraf", values["HSM_USER_PIN"], values["HSM_SO_PIN"])
    return instance


@pytest.fixture(scope="session")
def server_port() -> int:
    """Return the loopback port the live server will use (it goes into the certificates)."""
    return free_port()


@pytest.fixture(scope="session")
def app(instance_dir: Path, server_port: int) -> Iterator[Flask]:
    """Return the app on the session's instance: schema migrated, CA hierarchy made, a key pool filling."""
    app = create_app(
        {
            "INSTANCE_PATH": str(instance_dir),
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance_dir / 'paraf.db'}",
            "SOFTHSM2_CONF": str(instance_dir / "softhsm" / "softhsm2.conf"),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{server_port}",
            **CHEAP_HASHES,
            "TOTP_CLOCK": CLOCK,
            "THROTTLE_ENABLED": False,  # the suite signs in many times; tests/integration/test_throttling.py turns it on
        }
    )
    with app.app_context():
        drop_everything()
        upgrade()
        keys.init_pki()
        db.session.commit()
        hsm, bits = keys.context().hsm, keys.context().pki.subscriber_key_bits
    with key_pool.running(hsm, bits):
        yield app
    with app.app_context():
        db.engine.dispose()


def drop_everything() -> None:
    """Empty the database (a PostgreSQL test database outlives the session), Alembic's table included."""
    metadata = MetaData()
    metadata.reflect(db.engine)
    metadata.drop_all(db.engine)


@pytest.fixture()
def app_ctx(app: Flask) -> Iterator[Flask]:
    """Run the test inside an app context, rolling back what it did not commit."""
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture()
def client(app: Flask):
    """Return a test client."""
    return app.test_client()


def browser_like_client(app: Flask):
    """Return a test client that sends the session's CSRF token with every request, as the pages do."""
    from tests.auth_helpers import send_csrf

    return send_csrf(app.test_client())


@pytest.fixture()
def runner(app: Flask):
    """Return a CLI runner."""
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def live_server(app: Flask, server_port: int) -> Iterator[LiveServer]:
    """Serve the app on loopback in a thread (multi-threaded, like a real deployment's concurrency)."""
    server = make_server("127.0.0.1", server_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server_port}")
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def nss_db(app: Flask, tmp_path_factory) -> str:
    """Return an NSS database (``sql:DIR``) that trusts the session's root CA, for pdfsig."""
    return make_nss_db(app, tmp_path_factory.mktemp("nss"))


@pytest.fixture()
def issue_certificate(app_ctx: Flask):
    """Return a factory that issues a committed subscriber certificate."""

    def issue(common_name: str = "Budi Santoso", passphrase: str = PASSPHRASE):
        row = keys.issue_subscriber_certificate(
            {"country_name": "ID", "organization_name": "Pemerintah Kota Contoh", "common_name": common_name},
            passphrase,
            Actor("test"),
        )
        db.session.commit()
        return row

    return issue
