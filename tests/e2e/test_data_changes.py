"""Data changes in Debian's Chromium: a verifier's change confirmed by the subscriber, and a migration from form to RA approval."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus
from app.models import Account, Certificate, Role
from tests.e2e.browser import PHONE, page_as
from tests.enrolment_helpers import deliver
from tests.subscribers import create_agency, create_agency_head, create_staff, create_subscriber

pytestmark = pytest.mark.slow


def confirm_in_browser(browser, app, smtp_server, email: str, live_url: str) -> None:
    """Open the e-mailed "Verifikasi Perubahan Data" link, review the data and confirm."""
    deliver(app)
    link = smtp_server.wait_for(email, subject="Verifikasi Perubahan Data").link(r"/perubahan-data/")
    page = browser.new_context().new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Verifikasi Perubahan Data")).to_be_visible()
    page.get_by_text("Lihat Data Profil Anda").click()
    page.get_by_role("button", name="Verifikasi Perubahan Data").click()
    expect(page.get_by_role("heading", name="Perubahan data dikonfirmasi")).to_be_visible()
    expect(page.locator("#account-status")).to_have_text("VERIFIED")


def test_verifier_changes_data_and_subscriber_confirms(app, live_server, browser, smtp_server):
    person = create_subscriber(app, name="Ni Luh Sari")
    verifier_id = create_staff(app, Role.VERIFIER, person.agency_id).user_id
    page = page_as(browser, app, verifier_id, **PHONE)
    page.goto(f"{live_server.url}/verifikator/akun/{person.id}")
    page.click("#start-data-change")
    expect(page.get_by_role("heading", name="Ubah data pengguna")).to_be_visible()
    page.fill("#email", "ni.luh.sari@" + person.email.split("@")[1])
    page.click("#save-data-change")
    expect(page.locator("#form-error")).to_contain_text("pencabutan sertifikat aktif")
    page.check("#revoke")
    page.fill("#position", "Kepala Seksi Pelayanan")
    page.click("#save-data-change")
    expect(page.locator("#account-status")).to_have_text("UPDATE")
    expect(page.locator("#data-changes")).to_contain_text("PENDING_SUBSCRIBER")
    confirm_in_browser(browser, app, smtp_server, "ni.luh.sari@" + person.email.split("@")[1], live_server.url)
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert account.status == AccountStatus.VERIFIED
        assert (account.email, account.profile.position) == ("ni.luh.sari@" + person.email.split("@")[1],
                                                             "Kepala Seksi Pelayanan")
        assert db.session.get(Certificate, person.certificate_id).status == CertificateStatus.REVOKE


def test_migration_from_form_to_ra_approval(app, live_server, browser, smtp_server):
    person = create_subscriber(app, name="Agus Suwarna")
    head = create_agency_head(app, person.agency_id)
    verifier_id = create_staff(app, Role.VERIFIER, person.agency_id).user_id
    ra_id = create_staff(app, Role.CENTRAL_RA, None).user_id
    target = create_agency(app, "M", "Dinas Kominfo")
    new_email = f"agus@{target.domain}"
    page = page_as(browser, app, verifier_id, **PHONE)
    page.goto(f"{live_server.url}/verifikator/akun/{person.id}")
    page.click("#start-migration")
    page.select_option("#agency", label=target.name)
    page.fill("#email", new_email)
    page.fill("#position", "Pranata Komputer")
    page.fill("#unit", "Bidang Persandian")
    page.fill("#province", "DI Yogyakarta")
    page.click("#create-migration-form")
    expect(page.locator("#data-changes")).to_contain_text("WAITING_AGENCY_HEAD")

    page = page_as(browser, app, head.user_id, **PHONE)
    page.goto(f"{live_server.url}/pimpinan/")
    page.get_by_role("link", name=re.compile(r"Agus Suwarna")).click()
    expect(page.locator("table.diff")).to_contain_text(new_email)
    page.fill("#passphrase", head.passphrase)
    page.click("#sign-form")
    expect(page.locator("#change-state")).to_have_text("WAITING_RA", timeout=30_000)

    page = page_as(browser, app, ra_id, **PHONE)
    page.goto(f"{live_server.url}/ra/")
    page.get_by_role("link", name="Tiket migrasi dan perubahan data").click()
    page.fill("input[name=q]", "Agus Suwarna")
    page.get_by_role("button", name="Tampilkan").click()
    row = page.locator(".change-row").first
    expect(row).to_contain_text(re.compile(r"(sisa|terlambat) .* kerja"))
    row.get_by_role("link").click()
    expect(page.locator("#sla-clock")).to_contain_text("kerja")
    page.click("#approve-migration")
    expect(page.locator("#change-state")).to_have_text("PENDING_SUBSCRIBER")
    confirm_in_browser(browser, app, smtp_server, new_email, live_server.url)
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert (account.status, account.agency_id, account.email) == (AccountStatus.VERIFIED, target.id, new_email)
        assert (account.profile.unit, account.profile.position) == ("Bidang Persandian", "Pranata Komputer")
        certificate = db.session.get(Certificate, person.certificate_id)
        assert (certificate.status, certificate.revocation_reason) == (CertificateStatus.REVOKE, "affiliation_changed")
