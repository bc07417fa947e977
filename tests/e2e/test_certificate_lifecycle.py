"""After issuance in Debian's Chromium: a passphrase reset with the fake camera, and a revocation checked with openssl."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.domain import keys
from app.domain.certificates import after_issuance
from app.domain.key_errors import PassphraseDoesNotOpen
from app.domain.signing import signatures
from app.domain.signing.signatures import Details, Placement, Upload
from app.extensions import db
from app.lifecycle import CertificateStatus
from app.models import Account, Certificate
from app.platform.audit import SYSTEM
from tests.certificate_helpers import deliver, give_registry_photo
from tests.e2e.browser import PHONE, page_as, take_selfie
from tests.pdfs import make_pdf
from tests.pki_helpers import fetch, openssl
from tests.subscribers import create_subscriber

pytestmark = pytest.mark.slow
NEW_PASSPHRASE = "Ganti#Lupa2027"


def test_reset_passphrase_with_the_fake_camera(app, live_server, browser, instance_dir, smtp_server, face_photos):
    person = create_subscriber(app, name="Ratna Sari Dewi", position="Analis Kebijakan")
    give_registry_photo(app, instance_dir, person.id, face_photos["obama"])
    browser.camera("obama2")  # the same person as the registry photo
    page = page_as(browser, app, person.user_id, **PHONE)
    page.goto(f"{live_server.url}/sertifikat")
    expect(page.locator("#certificate-status")).to_have_text("ISSUE")
    page.get_by_role("link", name="Lupa passphrase").click()
    expect(page.locator("#reset-channel")).to_contain_text("e-mail")
    page.get_by_role("button", name="Kirim tautan reset passphrase").click()
    expect(page.locator("#reset-sent")).to_be_visible()

    deliver(app)
    page.goto(smtp_server.wait_for(person.email, subject="Reset passphrase").link(r"/sertifikat/reset/"))
    expect(page.locator("#reset-explanation")).to_contain_text("BARU")
    expect(page.locator("#reset-explanation")).to_contain_text("superseded")
    page.get_by_role("link", name="Saya mengerti, lanjut").click()
    take_selfie(page)
    page.fill("#passphrase", NEW_PASSPHRASE)
    expect(page.locator("#passphrase-rules li.ok")).to_have_count(6)
    page.fill("#confirmation", NEW_PASSPHRASE)
    page.get_by_role("button", name="Lanjut").click()
    expect(page.locator("#agreement")).to_be_disabled()
    page.locator("#agreement-text").evaluate(
        "box => { box.scrollTop = box.scrollHeight; box.dispatchEvent(new Event('scroll')); }")
    page.locator("#agreement").check()
    page.get_by_role("button", name="Terbitkan sertifikat baru dan cabut yang lama").click()
    expect(page.locator("#certificate-status")).to_have_text("ISSUE")

    with app.app_context():
        account = db.session.get(Account, person.id)
        old = db.session.get(Certificate, person.certificate_id)
        new = after_issuance.active(account)
        assert old.status == CertificateStatus.REVOKE and old.revocation_reason == "superseded"
        with pytest.raises(PassphraseDoesNotOpen), keys.unlocked(new, person.passphrase):
            pass
        records = signatures.sign_documents(account, NEW_PASSPHRASE, [Upload("nota.pdf", make_pdf())], Placement(), Details(),
                                         SYSTEM, level="B-B")
        db.session.commit()
        assert records[0][0].certificate_id == new.id


def test_revocation_through_the_portal_then_openssl_says_revoked(app, live_server, browser, tmp_path):
    person = create_subscriber(app, name="Bambang Wijaya", position="Kepala Seksi")
    page = page_as(browser, app, person.user_id, viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/sertifikat")
    page.get_by_role("link", name="Cabut sertifikat").click()
    page.get_by_label("Passphrase atau kunci diketahui orang lain (keyCompromise)").check()
    page.get_by_role("button", name="Lanjut").click()
    page.get_by_role("button", name="Ya, cabut sekarang").click()
    expect(page.locator("#certificate-status")).to_have_text("REVOKE")

    with app.app_context():
        row = db.session.get(Certificate, person.certificate_id)
        (tmp_path / "subscriber.der").write_bytes(row.der)
        serial = row.serial
    (tmp_path / "issuing.der").write_bytes(fetch(f"{live_server.url}/pki/issuing.crt"))
    (tmp_path / "root.der").write_bytes(fetch(f"{live_server.url}/pki/root.crt"))
    for name in ("subscriber", "issuing", "root"):
        openssl("x509", "-inform", "der", "-in", f"{name}.der", "-out", f"{name}.pem", cwd=tmp_path)
    out = openssl("ocsp", "-issuer", "issuing.pem", "-cert", "subscriber.pem", "-url", f"{live_server.url}/pki/ocsp",
                  "-CAfile", "root.pem", cwd=tmp_path)
    assert "Response verify OK" in out
    assert "subscriber.pem: revoked" in out and "keyCompromise" in out

    (tmp_path / "issuing.crl").write_bytes(fetch(f"{live_server.url}/pki/issuing.crl"))
    out = openssl("crl", "-inform", "der", "-in", "issuing.crl", "-CAfile", "issuing.pem", "-noout", "-text", cwd=tmp_path)
    assert "verify OK" in out
    assert f"Serial Number: {serial.upper().zfill(32)}" in out
