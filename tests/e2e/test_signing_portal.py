"""The signing portal in Debian's Chromium on a phone-sized screen: upload, click to place the stamp, sign, verify."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pyhanko.pdf_utils.reader import PdfFileReader

from tests.e2e.browser import PHONE, page_as
from tests.pdfs import make_pdf
from tests.pki_helpers import validate
from tests.subscribers import create_subscriber

pytestmark = pytest.mark.slow
A4 = (595.0, 842.0)


def signature_widgets(data: bytes) -> dict[int, tuple[float, ...]]:
    """Return {page index: /Rect} of the signature widgets of a PDF."""
    reader = PdfFileReader(io.BytesIO(data))
    found = {}
    for index in range(int(reader.root["/Pages"]["/Count"])):
        page = reader.find_page_for_modification(index)[0].get_object()
        for annotation in page.get("/Annots", []):
            annotation = annotation.get_object()
            if annotation.get("/Subtype") == "/Widget" and annotation.get("/FT") == "/Sig":
                found[index] = tuple(float(v) for v in annotation["/Rect"])
    return found


def test_sign_with_a_stamp_placed_by_clicking_then_verify(app, live_server, browser, tmp_path):
    person = create_subscriber(app, name="I Gusti Ayu Kétut Wédari", position="Sekretaris Dinas Pariwisata")
    source = tmp_path / "undangan.pdf"
    source.write_bytes(make_pdf(pages=2))
    fx, fy = 0.3, 0.4  # where on page 2 the user clicks, as fractions of the shown page from its top-left corner

    page = page_as(browser, app, person.user_id, **PHONE, accept_downloads=True)
    page.goto(f"{live_server.url}/tandatangan")
    expect(page.get_by_role("heading", name="Tanda tangan dokumen")).to_be_visible()
    page.set_input_files("#files", str(source))
    page.get_by_role("button", name="Unggah", exact=True).click()

    expect(page.get_by_role("heading", name="Tempatkan cap dan tanda tangani")).to_be_visible()
    expect(page.locator(".page-thumb")).to_have_count(2)
    image = page.locator('.page-thumb[data-page="1"] img')
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.page-thumb[data-page=\"1\"] img'); return i.complete && i.naturalWidth > 0; }"
    )
    box = image.bounding_box()
    assert 300 <= box["width"] <= 390  # one page per row on a phone
    image.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
    stamp = page.locator('.page-thumb[data-page="1"] .stamp-box')
    expect(stamp).to_be_visible()
    assert page.locator('input[name="page"]').input_value() == "1"
    drawn = stamp.bounding_box()
    assert abs(drawn["x"] + drawn["width"] / 2 - (box["x"] + box["width"] * fx)) < 2
    assert abs(drawn["width"] / box["width"] - 240 / A4[0]) < 0.01
    page.screenshot(path=str(tmp_path / "placement.png"), full_page=True)

    page.fill("#reason", "Menyetujui undangan")
    page.fill("#location", "Denpasar")
    page.fill("#passphrase", "salah-" + person.passphrase)
    page.get_by_role("button", name=re.compile(r"^Tanda tangani 1 berkas")).click()
    expect(page.locator("#sign-error")).to_contain_text("Sisa 4 percobaan")
    expect(page.locator('.page-thumb[data-page="1"] .stamp-box')).to_be_visible()  # the placement survives the swap
    assert page.locator("#passphrase").input_value() == ""

    page.fill("#passphrase", person.passphrase)
    page.get_by_role("button", name=re.compile(r"^Tanda tangani 1 berkas")).click()
    expect(page.get_by_role("heading", name="Dokumen sudah ditandatangani")).to_be_visible(timeout=30_000)
    with page.expect_download() as info:
        page.get_by_role("link", name="Unduh PDF").click()
    download = info.value
    assert download.suggested_filename == "undangan-ditandatangani.pdf"
    signed = (tmp_path / "signed.pdf")
    download.save_as(signed)
    data = signed.read_bytes()

    with app.app_context():
        [report] = validate(data)
    assert report.intact and report.valid and report.trusted and not report.modified, report.findings
    assert report.pades_level == "B-LT" and report.signer_name == person.name

    widgets = signature_widgets(data)
    assert list(widgets) == [1]  # on the clicked page
    x1, y1, x2, y2 = widgets[1]
    assert (round(x2 - x1), round(y2 - y1)) == (240, 90)
    assert abs((x1 + x2) / 2 - fx * A4[0]) < 4 and abs((y1 + y2) / 2 - (1 - fy) * A4[1]) < 4

    page.goto(f"{live_server.url}/verify")
    page.set_input_files("#file", str(signed))
    page.get_by_role("button", name="Periksa").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("1 tanda tangan ditemukan.")
    for expected in ("Utuh", "Tepercaya (Paraf Root CA)", "Tidak dicabut", "B-LT", person.name,
                     "Sekretaris Dinas Pariwisata"):
        expect(result).to_contain_text(expected)
    page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    result.get_by_role("link", name="Lihat catatan").click()
    expect(page.get_by_role("heading", name="Catatan tanda tangan")).to_be_visible()
    expect(page.locator("#certificate-status")).to_have_text("ISSUE")
    expect(page.locator("#record-download")).to_be_visible()  # the signer is a party
