"""Portal sign-in (F5) in Debian's Chromium: the first sign-in sets up an authenticator from the QR page's secret."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import AuthenticatorDevice, Role
from tests.auth_helpers import sign_in_page, totp_code
from tests.e2e.browser import PHONE
from tests.subscribers import create_agency, create_staff

pytestmark = pytest.mark.slow


@pytest.fixture()
def new_verifier(app):
    """Return the credentials of a verifier who has never signed in (no authenticator yet)."""
    agency = create_agency(app, "P", "Dinas")
    return create_staff(app, Role.VERIFIER, agency.id, name="Verifikator Baru")


def test_first_sign_in_sets_up_an_authenticator_then_codes_sign_in(app, live_server, browser, new_verifier):
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("#username", new_verifier.username)
    page.fill("#password", "salah-" + new_verifier.password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna, kata sandi, atau kode autentikator salah.")

    page.fill("#password", new_verifier.password)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", name="Pasang aplikasi autentikator")).to_be_visible()
    qr = page.get_by_role("img", name="Kode QR untuk aplikasi autentikator")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    page.fill("#device_name", "HP dinas")
    page.fill("#code", totp_code(secret))  # what the phone's authenticator app shows now
    page.get_by_role("button", name="Konfirmasi perangkat").click()
    expect(page.get_by_role("heading", name="Antrean verifikasi")).to_be_visible()
    expect(page.locator(".who")).to_have_text("Verifikator Baru")

    page.get_by_role("link", name="Keamanan akun").click()
    expect(page.locator(".device strong")).to_have_text(["HP dinas"])
    page.get_by_role("button", name="Keluar").click()
    expect(page.get_by_role("heading", name="Masuk ke Paraf")).to_be_visible()

    sign_in_page(page, live_server.url, new_verifier.username, new_verifier.password, secret)
    expect(page.get_by_role("heading", name="Antrean verifikasi")).to_be_visible()
    with app.app_context():
        device = db.session.query(AuthenticatorDevice).filter_by(account_id=new_verifier.id).one()
        assert device.name == "HP dinas" and device.confirmed_at is not None and secret.encode() not in device.sealed_secret
