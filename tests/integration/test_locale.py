"""Bahasa Indonesia by default, English with ``?lang=en`` (remembered in the session), messages from services included."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.domain.accounts import tokens
from app.domain.enrolment import faces
from tests.auth_helpers import sign_in
from tests.conftest import browser_like_client
from tests.enrolment_helpers import HX, count_accounts, registration_form

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
CATALOG = TRANSLATIONS / "en" / "LC_MESSAGES"


def all_forms(string) -> tuple:
    """Return a catalog string as a tuple (plural messages have several forms)."""
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def text(response) -> str:
    """Return a response's body as text."""
    return response.get_data(as_text=True)


def test_login_page_is_indonesian_by_default_and_english_when_chosen(app):
    client = app.test_client()
    page = text(client.get("/login"))
    assert '<html lang="id">' in page and "Masuk ke Paraf" in page and "Sign in to Paraf" not in page

    english = text(client.get("/login?lang=en"))
    assert '<html lang="en">' in english and "Sign in to Paraf" in english and "Masuk ke Paraf" not in english
    assert 'href="?lang=id"' in english  # the switch back

    again = text(client.get("/login"))  # remembered in the session
    assert "Sign in to Paraf" in again

    back = text(client.get("/login?lang=id"))
    assert "Masuk ke Paraf" in back and "Sign in to Paraf" not in back


def test_unknown_language_is_ignored(app):
    client = app.test_client()
    assert "Masuk ke Paraf" in text(client.get("/login?lang=fr"))


@pytest.mark.parametrize(
    ("lang", "expected", "other"),
    [("id", "Nama pengguna, kata sandi, atau kode autentikator salah.", "Incorrect username, password or authenticator code."),
     ("en", "Incorrect username, password or authenticator code.", "Nama pengguna, kata sandi, atau kode autentikator salah.")],
)
def test_wrong_password_message_in_the_chosen_language(app, agency, lang, expected, other):
    client = browser_like_client(app)
    client.get(f"/login?lang={lang}")
    response = sign_in(client, agency["username"], "salah-" + agency["password"])
    assert response.status_code == 401
    assert expected in text(response) and other not in text(response)


def test_sign_in_prompt_is_flashed_in_english(app):
    client = app.test_client()
    response = client.get("/verifikator/?lang=en", follow_redirects=True)
    assert "Please sign in to open this page." in text(response)
    assert "Masuk terlebih dahulu" not in text(response)


def test_verifier_pages_switch_to_english_and_stay(verifier_client):
    queue = text(verifier_client.get("/verifikator/"))
    assert "Antrean verifikasi" in queue and "Verification queue" not in queue
    assert "Daftarkan pegawai" in text(verifier_client.get("/verifikator/daftar"))

    english = text(verifier_client.get("/verifikator/?lang=en"))
    assert "Verification queue" in english and "Sign out" in english and "Antrean verifikasi" not in english
    form = text(verifier_client.get("/verifikator/daftar"))
    assert "Register an employee" in form and "Full name (without titles)" in form and "Daftarkan pegawai" not in form


@pytest.mark.parametrize(
    ("lang", "expected", "other"),
    [("id", "NIK harus 16 digit angka.", "NIK must be exactly 16 digits."),
     ("en", "NIK must be exactly 16 digits.", "NIK harus 16 digit angka.")],
)
def test_bad_nik_on_the_registration_form_in_the_chosen_language(app, agency, verifier_client, lang, expected, other):
    person, servant = agency["add_person"]()
    verifier_client.get(f"/verifikator/?lang={lang}")
    before = count_accounts(app)
    response = verifier_client.post("/verifikator/daftar", data=registration_form(person, servant, agency, nik="1234"))
    assert response.status_code == 422
    assert expected in text(response) and other not in text(response)
    assert count_accounts(app) == before


def test_registration_flash_in_english(app, agency, verifier_client):
    person, servant = agency["add_person"]()
    verifier_client.get("/verifikator/?lang=en")
    response = verifier_client.post(
        "/verifikator/daftar", data=registration_form(person, servant, agency), follow_redirects=True
    )
    assert response.status_code == 200
    assert f"{person['name']} is registered; the activation link was sent to" in text(response)


def test_wizard_in_both_languages(wizard):
    client, person, servant, account_id = wizard()
    page = text(client.get("/aktivasi"))
    assert "Data diri" in page and "Nama lengkap sesuai KTP (tanpa gelar)" in page and "Personal details" not in page

    english = text(client.get("/aktivasi?lang=en"))
    assert "Personal details" in english and "Full name as on your ID card (KTP), without titles" in english
    assert "Nama lengkap sesuai KTP" not in english

    refused = client.post("/aktivasi/data-diri", data={"name": "Budi 2 Santoso"}, headers=HX)
    assert refused.status_code == 422
    assert "Full name must not contain digits." in text(refused)  # still English, and from a service
    assert "Save and continue" in text(refused)

    client.get("/aktivasi?lang=id")
    refused = client.post("/aktivasi/data-diri", data={"name": "Budi 2 Santoso"}, headers=HX)
    assert "Nama lengkap tidak boleh berisi angka." in text(refused)


def test_link_errors_in_both_languages(app):
    client = app.test_client()
    assert "tidak valid atau sudah digunakan" in text(client.get("/aktivasi/bukan-token"))
    english = text(client.get("/aktivasi/bukan-token?lang=en"))
    assert "This link is invalid or has already been used." in english


def test_service_messages_follow_the_request_and_are_indonesian_elsewhere(app):
    with app.app_context():  # CLI commands and workers: no request, Indonesian
        assert str(tokens.TokenInvalid()).startswith("Tautan tidak valid")
        assert str(faces.NoFace()).startswith("Wajah tidak terdeteksi")
    with app.test_request_context("/?lang=en"):
        assert str(tokens.TokenInvalid()).startswith("This link is invalid")
        assert str(faces.NoFace()).startswith("No face detected")
        assert "(it was valid for 1 hour)" in str(tokens.TokenExpired(validity=timedelta(hours=1)))
    with app.test_request_context("/"):
        assert "(berlaku 24 jam)" in str(tokens.TokenExpired())


def test_english_catalog_is_complete_and_compiled():
    with open(CATALOG / "messages.po", "rb") as po_file:
        po = read_po(po_file)
    with open(CATALOG / "messages.mo", "rb") as mo_file:
        mo = read_mo(mo_file)
    untranslated = [m.id for m in po if m.id and not all(all_forms(m.string))]
    assert untranslated == []
    assert not [m.id for m in po if m.id and m.fuzzy]
    stale = [m.id for m in po if m.id and (mo.get(m.id) is None or all_forms(mo.get(m.id).string) != all_forms(m.string))]
    assert stale == [], "run: pybabel compile -d app/translations"


def test_every_message_in_the_code_has_an_english_translation():
    with open(TRANSLATIONS / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map, keywords)
    }
    with open(CATALOG / "messages.po", "rb") as po_file:
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po_file) if m.id}
    assert sorted(found - translated) == [], "extract, update, translate and compile: see app/translations/babel.cfg"
