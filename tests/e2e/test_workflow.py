"""A three-signer workflow in Debian's Chromium on a 390-px phone screen: created by the owner, signed strictly in turn."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.domain.signing import workflows
from tests.e2e.browser import PHONE, page_as
from tests.pdfs import make_pdf
from tests.subscribers import create_agency
from tests.workflow_helpers import (
    check_final_pdf,
    make_subscriber,
)

pytestmark = pytest.mark.slow
def add_signer(page, query: str, name: str, count: int) -> None:
    """Search the agency for ``query`` and add ``name`` as the next signer."""
    page.fill("#signer-q", query)
    page.get_by_role("button", name=f"Tambahkan {name}").click()
    expect(page.locator("#signers > li")).to_have_count(count)
    expect(page.locator("#signers > li").nth(count - 1)).to_contain_text(name)


def test_three_signers_sign_in_turn_in_the_browser(app, live_server, browser, nss_db, tmp_path: Path):
    agency_id = create_agency(app, "E2EW").id
    owner = make_subscriber(app, agency_id, "Ratna Dewi")
    first = make_subscriber(app, agency_id, "Bambang Sutrisno")
    second = make_subscriber(app, agency_id, "Citra Lestari")
    third = make_subscriber(app, agency_id, "Dimas Anggara")
    pdf_path = tmp_path / "undangan.pdf"
    pdf_path.write_bytes(make_pdf(2))

    page = page_as(browser, app, owner.user_id, **PHONE)
    page.goto(f"{live_server.url}/alur")
    page.get_by_role("link", name="Buat alur baru").click()
    page.fill("#title", "Undangan Rapat Koordinasi")
    page.set_input_files("#file", str(pdf_path))
    add_signer(page, "Bambang", "Bambang Sutrisno", 1)
    add_signer(page, second.nip[:14], "Citra Lestari", 2)
    add_signer(page, third.email.split("@")[0], "Dimas Anggara", 3)
    slots = page.locator("#signers select[name=slot]")
    expect(slots.nth(0)).to_have_value("1-kiri")
    expect(slots.nth(1)).to_have_value("1-tengah")
    expect(slots.nth(2)).to_have_value("1-kanan")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "new.png"), full_page=True)
    page.get_by_role("button", name="Mulai alur dan beri tahu penandatangan ke-1").click()
    expect(page.locator(".flash.success")).to_contain_text("Penandatangan ke-1 (Bambang Sutrisno) sudah diberi tahu.")
    expect(page.locator("#progress-text")).to_have_text("0 dari 3 sudah menandatangani")
    public_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.screenshot(path=str(tmp_path / "owner.png"), full_page=True)

    early = page_as(browser, app, second.user_id, **PHONE)
    early.goto(f"{live_server.url}/alur/{public_id}")
    expect(early.locator("#my-position")).to_contain_text("Anda adalah penandatangan ke-2 dari 3.")
    expect(early.locator("#not-your-turn")).to_have_text("Belum giliran Anda: menunggu penandatangan ke-1 (Bambang Sutrisno).")
    expect(early.locator("#sign-form")).to_have_count(0)
    expect(early.locator("#passphrase")).to_have_count(0)

    for number, person in enumerate((first, second, third), start=1):
        signer = early if person is second else page_as(browser, app, person.user_id, **PHONE)
        signer.goto(f"{live_server.url}/alur/{public_id}")
        expect(signer.locator("#my-position")).to_contain_text(f"Anda adalah penandatangan ke-{number} dari 3.")
        signer.fill("#passphrase", person.passphrase)
        signer.get_by_role("button", name="Tanda tangani").click()
        expect(signer.locator("#notice")).to_contain_text("Dokumen sudah Anda tandatangani", timeout=30_000)
        expect(signer.locator("#progress-text")).to_have_text(f"{number} dari 3 sudah menandatangani")
        expect(signer.locator(f"#signer-{number}")).to_contain_text("Sudah menandatangani")
        assert signer.evaluate("document.documentElement.scrollWidth") <= 390

    expect(signer.locator("#workflow-status")).to_have_text("Selesai")
    expect(signer.locator("#completed")).to_be_visible()
    page.reload()
    expect(page.locator("#workflow-status")).to_have_text("Selesai")
    expect(page.locator("#completed")).to_contain_text("dokumen memuat tanda tangan semua penandatangan")
    page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#download").click()
    data = Path(download.value.path()).read_bytes()

    with app.app_context():
        stored = workflows.current_file(workflows.get(public_id)).read_bytes()
    assert data == stored
    check_final_pdf(app, data, ["Bambang Sutrisno", "Citra Lestari", "Dimas Anggara"], nss_db, tmp_path)
