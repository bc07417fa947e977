"""`flask demo seed`: the demo data set and instance/demo-accounts.json, as the operator contract describes."""

from __future__ import annotations

import base64
import json

import pyotp
import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.domain import keys
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus
from app.models import Account, Certificate, PopulationRecord
from signer import keys as signer_keys
from tests.auth_helpers import sign_in


@pytest.fixture()
def demo_app(app, tmp_path):
    """Return an app on its own database and instance folder, sharing the session's HSM token."""
    fresh = create_app({**app.config, "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'demo.db'}"})
    with fresh.app_context():
        upgrade()
        keys.init_pki()
        db.session.commit()
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


def test_seed_writes_working_credentials_once(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    credentials = json.loads((tmp_path / "demo-accounts.json").read_text())
    assert set(credentials) == {"verifier", "central_ra", "admin", "agency_head", "subscriber", "api_client"}

    with demo_app.app_context():
        subscriber = db.session.execute(select(Account).where(Account.username == credentials["subscriber"]["username"])).scalar_one()
        verifier = db.session.execute(select(Account).where(Account.username == credentials["verifier"]["username"])).scalar_one()
        assert subscriber.status == AccountStatus.VERIFIED and subscriber.agency_id == verifier.agency_id
        assert subscriber.profile.nik == credentials["subscriber"]["nik"]
        certificate = db.session.execute(select(Certificate).where(Certificate.account_id == subscriber.id)).scalar_one()
        assert certificate.status == CertificateStatus.ISSUE
        with signer_keys.unlock(keys.context().hsm, certificate.key_blob, credentials["subscriber"]["passphrase"]) as key:
            assert key.sign(b"demo")
        assert db.session.execute(select(PopulationRecord)).scalars().first() is not None

    for who, home in (("verifier", "/verifikator/"), ("central_ra", "/verifikator/"), ("admin", "/verifikator/"),
                      ("agency_head", "/pimpinan/"), ("subscriber", "/status")):
        client = demo_app.test_client()
        account = credentials[who]
        assert account["totp_secret"] and pyotp.TOTP(account["totp_secret"]).now().isdigit()
        response = sign_in(client, account["username"], account["password"], account["totp_secret"])
        assert response.status_code == 302 and response.headers["Location"].endswith(home), who

    api = credentials["api_client"]
    token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
    status = demo_app.test_client().post("/api/v2/user/check/status", json={"nik": credentials["subscriber"]["nik"]},
                                         headers={"Authorization": f"Basic {token}"})
    assert status.status_code == 200 and status.get_json()["status"] == "ISSUE"

    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "already present" in again.output
    assert json.loads((tmp_path / "demo-accounts.json").read_text()) == credentials
