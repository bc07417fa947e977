"""The whole enrolment journey in Debian's Chromium with a fake camera: register → activate → verify → issue."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.domain.enrolment import registries
from app.extensions import db
from app.models import AsnRecord, PopulationRecord, Role
from app.platform import notifications
from tests.auth_helpers import sign_in_page
from tests.e2e.browser import take_selfie
from tests.subscribers import create_agency, create_staff

pytestmark = pytest.mark.slow
PASSPHRASE = "Kuat#Sekali2026"


@pytest.fixture()
def agency_setup(app, instance_dir):
    """Return a fresh agency with a verifier and a function that adds a registry person (with a photo)."""
    agency = create_agency(app, "E2E")
    verifier = create_staff(app, Role.VERIFIER, agency.id, authenticator=True, name="Verifikator Uji")
    state = {"agency_id": agency.id, "domain": agency.domain, "code": agency.code,
             "username": verifier.username, "password": verifier.password, "secret": verifier.secret, "seed": 0}

    def add_person(photo: bytes):
        with app.app_context():
            state["seed"] += 1
            person, servant = registries.demo_people(1, state["code"], seed=hash((state["code"], state["seed"])) & 0xFFFF)[0]
            folder = Path(instance_dir) / "registry" / "photos"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{person['nik']}.jpg").write_bytes(photo)
            db.session.add(PopulationRecord(nik=person["nik"], name=person["name"], birth_date=person["birth_date"],
                                            gender=person["gender"], photo_path=f"registry/photos/{person['nik']}.jpg"))
            db.session.add(AsnRecord(**{**servant, "agency_code": state["code"]}))
            db.session.commit()
            return person, servant

    state["add_person"] = add_person
    return state


def deliver(app) -> None:
    """Send what the outbox holds, as `flask outbox work` does in production."""
    with app.app_context():
        notifications.work()
        db.session.commit()


def enrol(app, live_server, setup, smtp_server, whatsapp_gateway, browser, person, servant):
    """Drive the journey up to the verifier's detail page; return (verifier page, subscriber page, e-mail)."""
    email = f"{person['nik'][-6:]}.{secrets.token_hex(2)}@{setup['domain']}"
    phone_local = "0812" + person["nik"][-8:]
    verifier = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in_page(verifier, live_server.url, setup["username"], setup["password"], setup["secret"])
    expect(verifier.get_by_role("heading", name="Antrean verifikasi")).to_be_visible()
    verifier.get_by_role("link", name="Daftarkan pegawai").click()
    verifier.fill("#name", person["name"])
    verifier.fill("#nik", person["nik"])
    verifier.fill("#nip", servant["nip"])
    verifier.fill("#email", email)
    verifier.fill("#phone", phone_local)
    verifier.get_by_role("button", name="Daftarkan dan kirim tautan aktivasi").click()
    expect(verifier.locator("#account-status")).to_have_text("REGISTERED")

    deliver(app)
    activation = smtp_server.wait_for(email).link(r"/aktivasi/")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto(activation)
    phone.fill("#name", person["name"])
    phone.get_by_role("button", name="Simpan dan lanjut").click()
    phone.fill("#phone", phone_local)
    phone.get_by_role("button", name="Kirim kode OTP").click()
    expect(phone.get_by_text("Kode 6 digit dikirim")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", whatsapp_gateway.wait_for("+62" + phone_local[1:])["message"]).group(1)
    phone.fill("#code", code)
    phone.get_by_role("button", name="Verifikasi").click()
    phone.get_by_label("Non-ASN").check()  # static/wizard.js shows the other fields (no inline handler under the CSP)
    expect(phone.locator("#unit")).to_be_visible()
    expect(phone.locator("#nip")).to_be_hidden()
    phone.get_by_label("ASN", exact=True).check()
    phone.fill("#nip", servant["nip"])
    phone.get_by_role("button", name="Simpan dan lanjut").click()
    take_selfie(phone)
    expect(phone.get_by_role("heading", name="Persetujuan")).to_be_visible()
    phone.get_by_label("Saya menyetujui kebijakan privasi Paraf.").check()
    phone.get_by_label("Saya menyetujui perjanjian pemilik sertifikat elektronik.").check()
    phone.get_by_role("button", name="Kirim data untuk diverifikasi").click()
    expect(phone.locator("#account-status")).to_have_text("ACTIVATED")

    verifier.goto(f"{live_server.url}/verifikator/?q={person['nik']}")
    verifier.get_by_role("link", name=person["name"]).click()
    verifier.wait_for_load_state("networkidle")  # a click on a page still loading is lost on a busy machine
    return verifier, phone, email


def test_full_journey_then_a_face_that_does_not_match(app, live_server, browser, agency_setup, smtp_server,
                                                       whatsapp_gateway, face_photos):
    browser.camera("obama2")  # the same person as the registry photo
    person, servant = agency_setup["add_person"](face_photos["obama"])
    verifier, phone, email = enrol(app, live_server, agency_setup, smtp_server, whatsapp_gateway, browser, person, servant)
    expect(verifier.locator("#face-verdict")).to_have_text("cocok")
    verifier.locator("#approve").click()
    expect(verifier.locator("#account-status")).to_have_text("VERIFIED")

    deliver(app)
    phone.goto(smtp_server.wait_for(email, subject="Penerbitan").link(r"/terbitkan/"))
    phone.get_by_role("link", name="Data benar, lanjut").click()
    take_selfie(phone)
    phone.fill("#passphrase", PASSPHRASE)
    expect(phone.locator("#passphrase-rules li.ok")).to_have_count(6)
    phone.fill("#confirmation", PASSPHRASE)
    phone.get_by_role("button", name="Lanjut").click()
    expect(phone.locator("#agreement")).to_be_disabled()
    phone.locator("#agreement-text").evaluate("box => { box.scrollTop = box.scrollHeight; box.dispatchEvent(new Event('scroll')); }")
    phone.locator("#agreement").check()
    phone.get_by_role("button", name="Terbitkan sertifikat").click()
    expect(phone.locator("#certificate-status")).to_have_text("ISSUE")
    expect(phone.locator("#certificate-validity")).to_contain_text("sampai")
    browser.close_contexts()  # no camera open while the clip changes

    browser.camera("biden")  # someone else in front of the camera
    person, servant = agency_setup["add_person"](face_photos["obama"])
    verifier, _phone, _email = enrol(app, live_server, agency_setup, smtp_server, whatsapp_gateway, browser, person, servant)
    expect(verifier.locator("#face-verdict")).to_have_text("tidak cocok")
