"""The strict CSP in Debian's Chromium: main pages load without a violation, and the login page cannot be framed.

Every browser test fails on a CSP violation its pages log (``tests/e2e/conftest.py``); this one visits the pages
the journeys do not.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.models import Role
from tests.e2e.browser import page_as
from tests.pdfs import make_pdf
from tests.subscribers import create_agency, create_staff
from tests.workflow_helpers import make_subscriber

pytestmark = pytest.mark.slow


def test_main_pages_of_each_role_load_without_a_csp_violation(app, live_server, browser):
    anonymous = browser.new_context().new_page()
    for path in ("/login", "/daftar", "/lupa-sandi", "/verify", "/api/v2/docs"):
        assert anonymous.goto(f"{live_server.url}{path}").status == 200, path
        expect(anonymous.locator("h1").first).to_be_visible()
    agency_id = create_agency(app, "CSP").id
    for role, agency, paths in ((Role.VERIFIER, agency_id, ("/verifikator/", "/verifikator/surat", "/verifikator/perubahan-data")),
                                (Role.CENTRAL_RA, None, ("/ra/",)), (Role.ADMIN, None, ("/admin/klien-api",))):
        page = page_as(browser, app, create_staff(app, role, agency, authenticator=True).user_id)
        for path in paths:
            assert page.goto(f"{live_server.url}{path}").status == 200, path
            expect(page.locator("h1").first).to_be_visible()
    assert browser.csp_violations == []


def test_another_site_cannot_frame_the_login_page(live_server, browser):
    page = browser.new_context().new_page()
    with page.expect_console_message(lambda message: "frame-ancestors 'none'" in message.text):
        page.set_content(f'<iframe src="{live_server.url}/login"></iframe>')
    assert page.frames[1].locator("#username").count() == 0
    refused = [line for line in browser.csp_violations if "frame-ancestors 'none'" in line]
    assert refused  # the console collector saw Chromium's refusal ...
    browser.csp_violations[:] = [line for line in browser.csp_violations if line not in refused]  # ... the one expected


def test_the_new_workflow_form_works_without_inline_handlers(app, live_server, browser):
    agency_id = create_agency(app, "CSPW").id
    owner = make_subscriber(app, agency_id, "Ratna Pemilik")
    make_subscriber(app, agency_id, "Bagus Pertama")
    make_subscriber(app, agency_id, "Bagus Kedua")
    page = page_as(browser, app, owner.user_id)
    page.goto(f"{live_server.url}/alur/baru")
    for count, name in enumerate(("Bagus Pertama", "Bagus Kedua"), start=1):
        page.fill("#signer-q", name)
        page.get_by_role("button", name=f"Tambahkan {name}").click()
        expect(page.locator("#signers > li")).to_have_count(count)
    slots = page.locator("#signers select[name=slot]")
    expect(slots.nth(1)).to_have_value("1-tengah")  # the row number came from static/workflow.js
    page.locator("#signers > li").nth(1).get_by_role("button", name="Naikkan").click()
    expect(page.locator("#signers .signer-name")).to_have_text(["Bagus Kedua", "Bagus Pertama"])
    page.locator("#signers > li").nth(0).get_by_role("button", name="Hapus").click()
    expect(page.locator("#signers .signer-name")).to_have_text(["Bagus Pertama"])
    page.fill("#title", "Nota dinas")
    page.set_input_files("#file", files={"name": "nota.pdf", "mimeType": "application/pdf", "buffer": make_pdf()})
    page.evaluate("window.stayed = true")
    page.locator("#signer-q").press("Enter")  # searches, never submits the form
    page.wait_for_timeout(1000)
    assert page.evaluate("window.stayed === true")  # no page load
