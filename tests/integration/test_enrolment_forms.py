"""Enrolment through the real forms: each bad input gets a clear message and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.domain.accounts import tokens
from app.domain.enrolment import registration
from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, LinkToken, Role, SubscriberProfile
from app.platform.audit import Actor
from tests.auth_helpers import sign_in
from tests.conftest import browser_like_client
from tests.enrolment_helpers import count_accounts, registration_form
from tests.subscribers import create_agency, create_staff


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nik": "1234"}, "NIK"),
        ({"nik": "9999999999999999"}, "NIK"),
        ({"name": "Budi 2 Santoso"}, "ama"),
        ({"name": "Budi, S.Kom"}, "ama"),
        ({"email": "budi@gmail.com"}, "domain"),
        ({"phone": "12345"}, "WhatsApp"),
    ],
)
def test_bad_registration_is_refused_with_a_message(app, agency, verifier_client, changes, message):
    person, servant = agency["add_person"]()
    before = count_accounts(app)
    response = verifier_client.post("/verifikator/daftar", data=registration_form(person, servant, agency, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_accounts(app) == before


def test_nip_inconsistent_with_nik_is_refused(app, agency, verifier_client):
    person, servant = agency["add_person"]()
    other, other_servant = agency["add_person"]()
    response = verifier_client.post("/verifikator/daftar", data=registration_form(person, servant, agency, nip=other_servant["nip"]))
    if other["birth_date"] == person["birth_date"] and other["gender"] == person["gender"]:
        pytest.skip("the two synthetic people share birth date and gender")
    assert response.status_code == 422
    assert "NIP" in response.get_data(as_text=True)


def test_activation_link_works_once(app, registered):
    person, servant, account_id, raw = registered()
    first = browser_like_client(app)
    assert first.get(f"/aktivasi/{raw}").status_code == 302
    again = browser_like_client(app).get(f"/aktivasi/{raw}")
    assert again.status_code == 410
    assert "tidak valid atau sudah digunakan" in again.get_data(as_text=True)


def test_expired_activation_link_is_refused(app, registered):
    person, servant, account_id, raw = registered()
    with app.app_context():
        token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == tokens.hash_token(raw))).scalar_one()
        token.expires_at = token.expires_at - timedelta(hours=25)
        db.session.commit()
    response = browser_like_client(app).get(f"/aktivasi/{raw}")
    assert response.status_code == 410
    assert "kedaluwarsa" in response.get_data(as_text=True)


def profile_of(app, account_id):
    """Return a detached snapshot of a profile's fields."""
    with app.app_context():
        profile = db.session.get(SubscriberProfile, account_id)
        return {c.name: getattr(profile, c.name) for c in SubscriberProfile.__table__.columns}


@pytest.mark.parametrize("name", ["Budi 2", "Budi; Santoso", "Dr Budi"])
def test_name_with_digits_punctuation_or_title_is_refused(app, wizard, name):
    client, person, servant, account_id = wizard()
    before = profile_of(app, account_id)
    response = client.post("/aktivasi/data-diri", data={"name": name, "front_title": "", "back_title": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "ama" in response.get_data(as_text=True)
    assert profile_of(app, account_id) == before


def test_name_not_matching_the_registry_is_refused(app, wizard):
    client, person, servant, account_id = wizard()
    response = client.post("/aktivasi/data-diri", data={"name": "Nama Lain Sekali"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "tidak cocok dengan data kependudukan" in response.get_data(as_text=True)
    assert profile_of(app, account_id)["population_match"] is False  # kept for the verifier although refused


def finish_personal(client, person):
    """Complete step 1."""
    response = client.post("/aktivasi/data-diri", data={"name": person["name"]}, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_nip_not_in_registry_or_of_another_person_is_refused(app, wizard, agency):
    client, person, servant, account_id = wizard()
    finish_personal(client, person)
    other, other_servant = agency["add_person"]()
    unknown = servant["nip"][:-3] + ("999" if servant["nip"][-3:] != "999" else "998")
    for nip, expected in ((unknown, "tidak ditemukan"), (other_servant["nip"], "NIP")):
        before = profile_of(app, account_id)
        response = client.post("/aktivasi/kedinasan", data={"employment": "ASN", "nip": nip}, headers={"HX-Request": "true"})
        assert response.status_code == 422
        assert expected in response.get_data(as_text=True)
        after = profile_of(app, account_id)
        assert after["nip"] == before["nip"] and after["employment"] == before["employment"]
        assert after["asn_match"] is False  # kept for the verifier although refused


def test_wrong_otp_five_times_locks_the_code(app, wizard, whatsapp_gateway):
    client, person, servant, account_id = wizard()
    finish_personal(client, person)
    phone = "0813" + person["nik"][-8:]
    assert client.post("/aktivasi/telepon/kirim", data={"phone": phone}, headers={"HX-Request": "true"}).status_code == 200
    whatsapp_gateway.wait_for("+62" + phone[1:])
    messages = []
    for _ in range(5):
        response = client.post("/aktivasi/telepon/verifikasi", data={"code": "000000"}, headers={"HX-Request": "true"})
        assert response.status_code == 422
        messages.append(response.get_data(as_text=True))
    assert "Sisa percobaan: 4" in messages[0]
    assert "5 kali" in messages[-1] or "Minta kode baru" in messages[-1]
    assert profile_of(app, account_id)["phone_verified_at"] is None


def test_otp_after_fifteen_minutes_is_expired(app, wizard, whatsapp_gateway, monkeypatch):
    client, person, servant, account_id = wizard()
    finish_personal(client, person)
    phone = "0814" + person["nik"][-8:]
    client.post("/aktivasi/telepon/kirim", data={"phone": phone}, headers={"HX-Request": "true"})
    import re

    code = re.search(r"\b(\d{6})\b", whatsapp_gateway.wait_for("+62" + phone[1:])["message"]).group(1)
    from app.domain.enrolment import otp

    later = otp.utcnow() + timedelta(minutes=16)
    monkeypatch.setattr(otp, "utcnow", lambda: later)
    response = client.post("/aktivasi/telepon/verifikasi", data={"code": code}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "kedaluwarsa" in response.get_data(as_text=True)
    assert profile_of(app, account_id)["phone_verified_at"] is None


@pytest.mark.parametrize("kind", ["no_face", "two_faces", "not_an_image"])
def test_selfie_problems_are_explained(app, wizard, face_photos, two_faces_jpeg, no_face_jpeg, kind):
    client, person, servant, account_id = wizard(face_photos["obama"])
    data = {"no_face": no_face_jpeg, "two_faces": two_faces_jpeg, "not_an_image": b"%PDF-1.7 not a picture"}[kind]
    expected = {"no_face": "Wajah tidak terdeteksi", "two_faces": "lebih dari satu wajah", "not_an_image": "bukan gambar"}[kind]
    import io

    response = client.post("/aktivasi/swafoto", data={"selfie": (io.BytesIO(data), "selfie.jpg")},
                           headers={"HX-Request": "true"}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    assert profile_of(app, account_id)["selfie_path"] is None


def test_submit_without_consents_is_refused(app, wizard):
    client, person, servant, account_id = wizard()
    response = client.post("/aktivasi/kirim", data={"privacy": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "kedua persetujuan" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Account, account_id).status == AccountStatus.REGISTERED


@pytest.fixture()
def approved(app, wizard, face_photos):
    """Return (client with an open set-passphrase link, account id, raw token) for an approved subscriber."""
    from app.models.types import utcnow

    client, person, servant, account_id = wizard(face_photos["obama"])
    with app.app_context():
        account = db.session.get(Account, account_id)
        profile = account.profile
        profile.population_match, profile.phone_verified_at, profile.phone = True, utcnow(), "+6281200000000"
        profile.employment, profile.selfie_path, profile.name = "ASN", "x.jpg", person["name"]
        registration.submit(account, True, True, Actor("test"))
        registration.approve(account, Actor("test"))
        raw = tokens.issue(account.id, registration.SET_PASSPHRASE, registration.SET_PASSPHRASE_TTL)
        db.session.commit()
    issue_client = browser_like_client(app)
    assert issue_client.get(f"/terbitkan/{raw}").status_code == 302
    with issue_client.session_transaction() as session:
        session["issuance_selfie_ok"] = True  # the camera step is covered by the browser test
    return issue_client, account_id, raw


@pytest.mark.parametrize(
    ("passphrase", "rule"),
    [
        ("Ab1!xyz", "Minimal 8"),
        ("ABCDEF1!", "huruf kecil"),
        ("abcdef1!", "huruf besar"),
        ("Abcdefg!", "angka"),
        ("Abcdefg1", "karakter khusus"),
        ("Abcdef1![", "[ ] ^"),
        ("Abcdef1!^", "[ ] ^"),
        ("Abcdef1!\\", "[ ] ^"),
    ],
)
def test_each_passphrase_rule(app, approved, passphrase, rule):
    client, account_id, raw = approved
    response = client.post("/terbitkan", data={"passphrase": passphrase, "confirmation": passphrase, "agreement": "setuju"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert rule in response.get_data(as_text=True)
    with app.app_context():
        assert registration.pending_request(db.session.get(Account, account_id)) is not None


def test_agreement_not_accepted_and_mismatch(app, approved):
    client, account_id, raw = approved
    response = client.post("/terbitkan", data={"passphrase": "Kuat#2026ab", "confirmation": "Kuat#2026ab"}, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "Setuju" in response.get_data(as_text=True)
    response = client.post("/terbitkan", data={"passphrase": "Kuat#2026ab", "confirmation": "Kuat#2026ac", "agreement": "setuju"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and "Konfirmasi" in response.get_data(as_text=True)


def test_submitting_twice_makes_one_certificate(app, approved):
    from app.models import Certificate

    client, account_id, raw = approved
    form = {"passphrase": "Kuat#2026ab", "confirmation": "Kuat#2026ab", "agreement": "setuju"}
    first = client.post("/terbitkan", data=form, headers={"HX-Request": "true"})
    assert first.status_code == 200 and "ISSUE" in first.get_data(as_text=True)
    second = browser_like_client(app)
    second.get(f"/terbitkan/{raw}")
    with second.session_transaction() as session:
        session["issuance_token"], session["issuance_selfie_ok"] = raw, True
    again = second.post("/terbitkan", data=form, headers={"HX-Request": "true"})
    assert again.status_code == 410 and "Tautan tidak valid atau sudah digunakan" in again.get_data(as_text=True)  # spent
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Certificate).where(Certificate.account_id == account_id)).scalar() == 1


def test_verifier_of_another_agency_gets_404_everywhere(app, agency, registered, verifier_client):
    person, servant, account_id, raw = registered()
    stranger = create_staff(app, Role.VERIFIER, create_agency(app, "X", "Dinas Lain").id, authenticator=True)
    outsider = browser_like_client(app)
    assert sign_in(outsider, stranger.username, stranger.password, stranger.secret).status_code == 302
    for method, path in (
        ("get", f"/verifikator/akun/{account_id}"),
        ("get", f"/verifikator/akun/{account_id}/swafoto"),
        ("get", f"/verifikator/akun/{account_id}/foto-registri"),
        ("post", f"/verifikator/akun/{account_id}/setujui"),
        ("post", f"/verifikator/akun/{account_id}/tolak"),
        ("post", f"/verifikator/akun/{account_id}/kirim-ulang"),
    ):
        assert getattr(outsider, method)(path).status_code == 404, path
    listing = outsider.get(f"/verifikator/?q={person['nik']}").get_data(as_text=True)
    assert "Tidak ada pengguna yang cocok" in listing and person["name"] not in listing
    assert verifier_client.get(f"/verifikator/akun/{account_id}").status_code == 200
