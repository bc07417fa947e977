"""API clients: the ``flask clients`` commands and the admin page that revokes a client."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.domain.accounts.passwords import hash_password
from app.extensions import db
from app.models import Account, ApiClient, Role
from tests.api_helpers import basic
from tests.subscribers import signed_in_client


def test_cli_create_list_disable(app, runner, caller):
    with app.app_context():
        code = db.session.get(Account, caller.subscriber.id).agency.code
    created = runner.invoke(args=["clients", "create", "SIMPEG Kota", "--agency", code])
    assert created.exit_code == 0, created.output
    client_id = re.search(r"client id: (\S+)", created.output).group(1)
    secret = re.search(r"secret:\s+(\S+)", created.output).group(1)
    with app.app_context():
        row = db.session.execute(select(ApiClient).where(ApiClient.name == "SIMPEG Kota")).scalar_one()
        assert secret not in row.secret_hash and len(row.secret_hash) == 64
    client = app.test_client()
    assert client.post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=basic(client_id, secret)).status_code == 200
    assert runner.invoke(args=["clients", "create", "SIMPEG Kota", "--agency", code]).exit_code != 0
    assert runner.invoke(args=["clients", "create", "Lain", "--agency", "TIDAKADA"]).exit_code != 0
    listed = runner.invoke(args=["clients", "list"])
    assert "SIMPEG Kota" in listed.output and code in listed.output and secret not in listed.output
    assert runner.invoke(args=["clients", "disable", "SIMPEG Kota"]).exit_code == 0
    assert client.post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=basic(client_id, secret)).status_code == 401


def test_admin_page_lists_and_revokes(app, caller):
    with app.app_context():
        admin = Account(role=Role.ADMIN, email=f"admin-{caller.subscriber.id}@paraf.local", username=f"admin{caller.subscriber.id}",
                        password_hash=hash_password("Admin#Paraf2026"), name="Admin")
        db.session.add(admin)
        db.session.commit()
        admin_id = admin.get_id()
        row = db.session.execute(select(ApiClient).where(ApiClient.name == caller.client_name)).scalar_one()
        row_id = row.id
    browser = signed_in_client(app, admin_id)
    page = browser.get("/admin/klien-api")
    assert page.status_code == 200 and caller.client_name in page.get_data(as_text=True)
    assert 'id="api-clients"' in page.get_data(as_text=True)
    without_csrf = app.test_client()
    with without_csrf.session_transaction() as session:
        session["_user_id"], session["_fresh"] = admin_id, True
    assert without_csrf.post(f"/admin/klien-api/{row_id}/cabut").status_code == 400
    fragment = browser.post(f"/admin/klien-api/{row_id}/cabut", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="api-clients"') and "dicabut" in text
    assert app.test_client().post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=caller.headers).status_code == 401

    subscriber = signed_in_client(app, caller.subscriber.user_id)
    assert subscriber.get("/admin/klien-api").status_code == 403
    stranger = app.test_client().get("/admin/klien-api")  # not signed in: to the sign-in page, and back after it
    assert stranger.status_code == 302 and stranger.headers["Location"] == "/login?next=%2Fadmin%2Fklien-api"
