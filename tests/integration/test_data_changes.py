"""Data changes (F13) and migrations between agencies (F14) through the real pages, with the RA's service clock."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta, timezone

import pypdfium2
import pytest
from sqlalchemy import func, select

from app import lifecycle
from app.domain import keys
from app.domain.accounts import tokens
from app.domain.certificates import data_changes, suspensions
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus
from app.models import Account, Certificate, ChangeState, DataChange, Role
from app.platform.audit import Actor
from app.ra import tickets
from signer.validate import validate_pdf
from tests.enrolment_helpers import deliver, path_of
from tests.pdfs import make_pdf
from tests.subscribers import create_agency, create_agency_head, create_staff, create_subscriber, signed_in_client

WIB = timezone(timedelta(hours=7))


def state(app, account_id: int):
    """Return (account status, certificate statuses, e-mail, agency id) as stored."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        certs = db.session.execute(select(Certificate).where(Certificate.account_id == account_id).order_by(Certificate.id)).scalars()
        return account.status, [(c.status, c.revocation_reason) for c in certs], account.email, account.agency_id


def confirmation_link(app, smtp_server, email: str, count: int = 1) -> str:
    deliver(app)
    return path_of(smtp_server.wait_for(email, subject="Verifikasi Perubahan Data", count=count).link(r"/perubahan-data/"))


@pytest.fixture()
def setup(app):
    """A subscriber with an ISSUE certificate and a verifier of their agency, signed in."""
    person = create_subscriber(app, name="Siti Rahmawati")
    verifier = signed_in_client(app, create_staff(app, Role.VERIFIER, person.agency_id).user_id)
    return person, verifier


def test_which_fields_need_revocation():
    assert data_changes.needs_revocation({"name"}) and data_changes.needs_revocation({"email", "unit"})
    assert data_changes.needs_revocation({"agency"})
    assert not data_changes.needs_revocation({"nip", "position", "unit", "city", "province"})


def test_position_changes_without_revocation_and_blocks_signing_until_confirmed(app, setup, smtp_server):
    person, verifier = setup
    response = verifier.post(f"/verifikator/akun/{person.id}/perubahan-data",
                             data={"position": "Kepala Bagian Umum", "city": "Denpasar"})
    assert response.status_code == 303, response.get_data(as_text=True)
    status, certs, _email, _agency = state(app, person.id)
    assert status == AccountStatus.UPDATE and certs == [(CertificateStatus.ISSUE, None)]

    subscriber = signed_in_client(app, person.user_id)
    refused = subscriber.post("/tandatangan", data={"files": (io.BytesIO(make_pdf()), "surat.pdf")},
                              content_type="multipart/form-data")
    assert refused.status_code == 409
    assert "status UPDATE" in refused.get_data(as_text=True)

    link = confirmation_link(app, smtp_server, person.email)
    page = subscriber.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Kepala Subbagian Umum" in text and "Kepala Bagian Umum" in text
    assert subscriber.post(link).status_code == 200
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert account.status == AccountStatus.VERIFIED
        assert (account.profile.position, account.profile.city) == ("Kepala Bagian Umum", "Denpasar")
        [change] = db.session.execute(select(DataChange).where(DataChange.account_id == person.id)).scalars()
        assert change.state == ChangeState.APPLIED
        assert change.before == {"position": "Kepala Subbagian Umum", "city": ""}
        assert change.after == {"position": "Kepala Bagian Umum", "city": "Denpasar"}

    again = subscriber.post(link)  # the link works once
    assert again.status_code == 410 and "tidak valid atau sudah digunakan" in again.get_data(as_text=True)
    assert state(app, person.id)[0] == AccountStatus.VERIFIED


def test_name_or_email_change_needs_revocation_first(app, setup, smtp_server):
    person, verifier = setup
    new_email = "siti.baru@" + person.email.split("@")[1]
    form = {"name": "Siti Rahmawati Putri", "email": new_email, "position": "Analis"}
    refused = verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data=form)
    assert refused.status_code == 422
    assert "memerlukan pencabutan sertifikat aktif" in refused.get_data(as_text=True)
    assert state(app, person.id)[:2] == (AccountStatus.VERIFIED, [(CertificateStatus.ISSUE, None)])

    bad = verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={**form, "name": "Siti 2", "revoke": "yes"})
    assert bad.status_code == 422 and "angka" in bad.get_data(as_text=True)
    assert state(app, person.id)[:2] == (AccountStatus.VERIFIED, [(CertificateStatus.ISSUE, None)])

    accepted = verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={**form, "revoke": "yes"})
    assert accepted.status_code == 303
    status, certs, email, _agency = state(app, person.id)
    assert status == AccountStatus.UPDATE and certs == [(CertificateStatus.REVOKE, "superseded")]
    assert email == person.email  # applied only when the subscriber confirms
    deliver(app)
    smtp_server.wait_for(person.email, subject="dicabut")
    link = confirmation_link(app, smtp_server, new_email)  # the link goes to the new address
    assert signed_in_client(app, person.user_id).post(link).status_code == 200
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert (account.status, account.email, account.name) == (AccountStatus.VERIFIED, new_email, "Siti Rahmawati Putri")


def test_expired_link_is_refused_and_changes_nothing(app, setup):
    person, verifier = setup
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"unit": "Bagian Hukum"}).status_code == 303
    with app.app_context():
        raw = tokens.issue(person.id, data_changes.PURPOSE, timedelta(hours=1), now=datetime.now(UTC) - timedelta(hours=2))
        db.session.commit()
    response = signed_in_client(app, person.user_id).post(f"/perubahan-data/{raw}")
    assert response.status_code == 410 and "kedaluwarsa" in response.get_data(as_text=True)
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert (account.status, account.profile.unit) == (AccountStatus.UPDATE, "Bagian Umum")


def test_forbidden_steps_are_refused_with_a_reason(app, setup):
    person, verifier = setup
    target = create_agency(app, "M", "Dinas Pertanian")
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"unit": "Bagian Hukum"}).status_code == 303
    second = verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"unit": "Bagian Keuangan"})
    assert second.status_code == 422 and "belum selesai" in second.get_data(as_text=True)
    with app.app_context():  # migrating a subscriber in UPDATE is not in the table
        account = db.session.get(Account, person.id)
        change = data_changes.open_request(account)
        change.state, change.closed_at = ChangeState.CANCELLED, datetime.now(UTC)
        db.session.commit()
    response = verifier.post(f"/verifikator/akun/{person.id}/migrasi",
                             data={"agency": target.id, "email": f"siti@{target.domain}", "position": "Analis", "unit": "Balai",
                                   "province": "Bali"})
    assert response.status_code == 422
    assert "berstatus UPDATE" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(DataChange).where(
            DataChange.account_id == person.id, DataChange.kind == "migration")).scalar() == 0


def test_verifier_of_another_agency_gets_404(app, setup):
    person, verifier = setup
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"unit": "Bagian Hukum"}).status_code == 303
    with app.app_context():
        change_id = data_changes.open_request(db.session.get(Account, person.id)).id
    other_agency = create_agency(app, "M", "Dinas Pertanian").id
    stranger = signed_in_client(app, create_staff(app, Role.VERIFIER, other_agency).user_id)
    assert stranger.get(f"/verifikator/akun/{person.id}/perubahan-data").status_code == 404
    assert stranger.post(f"/verifikator/akun/{person.id}/migrasi", data={}).status_code == 404
    assert stranger.post(f"/verifikator/perubahan-data/{change_id}/kirim-ulang").status_code == 404
    assert f"PD-{change_id}" not in stranger.get("/verifikator/perubahan-data?status=all").get_data(as_text=True)
    assert f"PD-{change_id}" in verifier.get("/verifikator/perubahan-data?status=all").get_data(as_text=True)


def migrate_to_signature(app, person, verifier):
    """Fill the migration form, let the agency head sign it; return (change id, target agency id, new e-mail, head)."""
    head = create_agency_head(app, person.agency_id)
    target = create_agency(app, "M", "Dinas Pertanian")
    target_id, target_name = target.id, target.name
    new_email = f"siti.rahmawati@{target.domain}"
    response = verifier.post(f"/verifikator/akun/{person.id}/migrasi",
                             data={"agency": target_id, "email": new_email, "position": "Kepala Balai",
                                   "unit": "Balai Pengembangan Sumberdaya Manusia", "province": "DI Yogyakarta"})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        change = data_changes.open_request(db.session.get(Account, person.id))
        assert change.state == ChangeState.WAITING_AGENCY_HEAD
        change_id = change.id
    head_client = signed_in_client(app, head.user_id)
    wrong = head_client.post(f"/pimpinan/formulir/{change_id}", data={"passphrase": "salah-" + head.passphrase})
    assert wrong.status_code == 422 and "Passphrase salah" in wrong.get_data(as_text=True)
    signed = head_client.post(f"/pimpinan/formulir/{change_id}", data={"passphrase": head.passphrase})
    assert signed.status_code == 303, signed.get_data(as_text=True)
    return change_id, target_id, target_name, new_email, head


def test_migration_form_is_signed_by_the_agency_head_and_approved_by_the_ra(app, setup, smtp_server):
    person, verifier = setup
    change_id, target_id, target_name, new_email, head = migrate_to_signature(app, person, verifier)
    with app.app_context():
        change = db.session.get(DataChange, change_id)
        assert change.state == ChangeState.WAITING_RA and change.signed_by_id == head.id
        form = data_changes.stored(change.form_path).read_bytes()
        signed = data_changes.stored(change.signed_path).read_bytes()
        agency_name = change.agency.name
        hierarchy = keys.context().hierarchy()
        crls = [keys.latest_crl(issuer).der for issuer in keys.CRL_ISSUERS]
        [report] = validate_pdf(signed, hierarchy.root, [hierarchy.issuing], crls=crls)
    assert report.intact and report.valid and report.trusted, report.findings
    assert report.signer_name == "Ketut Wedari"
    document = pypdfium2.PdfDocument(form)
    try:
        text = "".join(document[0].get_textpage().get_text_range().split())  # cells wrap long values
    finally:
        document.close()
    for expected in ("FORMULIR PERUBAHAN DATA PENGGUNA SERTIFIKAT ELEKTRONIK", person.email, new_email, "Kepala Subbagian Umum",
                     "Kepala Balai", agency_name, target_name, "DI Yogyakarta", "Siti Rahmawati", "Ketut Wedari"):
        assert "".join(expected.split()) in text, expected

    ra = signed_in_client(app, create_staff(app, Role.CENTRAL_RA, None).user_id)
    listing = ra.get("/ra/perubahan-data").get_data(as_text=True)
    assert f"PD-{change_id}" in listing and "kerja" in listing
    approved = ra.post(f"/ra/perubahan-data/{change_id}/setujui")
    assert approved.status_code == 303
    status, certs, email, agency_id = state(app, person.id)
    assert (status, email, agency_id) == (AccountStatus.UPDATE, new_email, target_id)
    assert certs == [(CertificateStatus.REVOKE, "affiliation_changed")]
    twice = ra.post(f"/ra/perubahan-data/{change_id}/setujui")
    assert twice.status_code == 409 and "PENDING_SUBSCRIBER" in twice.get_data(as_text=True)

    link = confirmation_link(app, smtp_server, new_email)
    assert signed_in_client(app, person.user_id).post(link).status_code == 200
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert (account.status, account.profile.position, account.profile.province) == (
            AccountStatus.VERIFIED, "Kepala Balai", "DI Yogyakarta")
        assert db.session.get(DataChange, change_id).state == ChangeState.APPLIED
    other_head = signed_in_client(app, create_agency_head(app, target_id).user_id)
    assert other_head.get(f"/pimpinan/formulir/{change_id}").status_code == 404


def test_ra_rejects_with_a_reason(app, setup):
    person, verifier = setup
    change_id, *_rest = migrate_to_signature(app, person, verifier)
    ra = signed_in_client(app, create_staff(app, Role.CENTRAL_RA, None).user_id)
    assert ra.post(f"/ra/perubahan-data/{change_id}/tolak", data={"reason": ""}).status_code == 422
    assert ra.post(f"/ra/perubahan-data/{change_id}/tolak", data={"reason": "Formulir tidak lengkap"}).status_code == 303
    status, certs, email, agency_id = state(app, person.id)
    assert (status, email, agency_id) == (AccountStatus.VERIFIED, person.email, person.agency_id)
    assert certs == [(CertificateStatus.ISSUE, None)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 24, 10, 0, tzinfo=WIB), "sisa 12 jam kerja"),  # Fri 2 h + Mon holiday + Tue 2 h used
        (datetime(2026, 3, 21, 12, 0, tzinfo=WIB), "sisa 14 jam kerja"),  # Saturday: the clock stands still
        (datetime(2026, 3, 25, 13, 40, tzinfo=WIB), "sisa 20 menit kerja"),
        (datetime(2026, 3, 26, 12, 0, tzinfo=WIB), "terlambat 6 jam kerja"),  # due Wed 14:00; Wed 2 h + Thu 4 h
    ],
)
def test_sla_clock_skips_the_weekend_and_a_holiday(app, setup, monkeypatch, now, expected):
    person, verifier = setup
    change_id, *_rest = migrate_to_signature(app, person, verifier)
    with app.app_context():
        change = db.session.get(DataChange, change_id)
        change.signed_at = datetime(2026, 3, 20, 14, 0, tzinfo=WIB).astimezone(UTC)  # a Friday
        db.session.commit()
    monkeypatch.setitem(app.config, "PUBLIC_HOLIDAYS", ["2026-03-23"])  # the Monday
    monkeypatch.setattr(tickets, "_now", lambda: now)
    ra = signed_in_client(app, create_staff(app, Role.CENTRAL_RA, None).user_id)
    page = ra.get(f"/ra/perubahan-data/{change_id}").get_data(as_text=True)
    assert expected in page
    listing = ra.get(f"/ra/perubahan-data?q={person.email}").get_data(as_text=True)
    assert expected in listing


def test_self_service_only_without_an_active_certificate(app, smtp_server):
    person = create_subscriber(app, name="Made Suarta")
    client = signed_in_client(app, person.user_id)
    page = client.get("/profil").get_data(as_text=True)
    assert 'id="profile-locked"' in page
    refused = client.post("/profil", data={"position": "Analis"})
    assert refused.status_code == 409
    with app.app_context():
        keys.revoke(db.session.get(Certificate, person.certificate_id), "superseded", Actor("test"))
        db.session.commit()
    assert client.post("/profil", data={"position": "Analis Kebijakan", "name": "Made Suarta"}).status_code == 303
    assert state(app, person.id)[0] == AccountStatus.UPDATE
    link = confirmation_link(app, smtp_server, person.email)
    assert client.post(link).status_code == 200
    with app.app_context():
        assert db.session.get(Account, person.id).profile.position == "Analis Kebijakan"


def test_ra_cannot_migrate_a_suspended_subscriber(app, setup):
    person, verifier = setup
    change_id, *_rest = migrate_to_signature(app, person, verifier)
    with app.app_context():
        lifecycle.apply(db.session.get(Account, person.id), "account", "suspend", Actor("test"))
        db.session.commit()
    ra = signed_in_client(app, create_staff(app, Role.CENTRAL_RA, None).user_id)
    refused = ra.post(f"/ra/perubahan-data/{change_id}/setujui")
    assert refused.status_code == 409 and "berstatus SUSPENDED" in refused.get_data(as_text=True)
    status, certs, email, agency_id = state(app, person.id)
    assert (status, email, agency_id) == (AccountStatus.SUSPENDED, person.email, person.agency_id)
    assert certs == [(CertificateStatus.ISSUE, None)]
    with app.app_context():
        assert db.session.get(DataChange, change_id).state == ChangeState.WAITING_RA


def test_link_goes_by_whatsapp_too_and_a_resend_kills_the_old_one(app, setup, smtp_server, whatsapp_gateway):
    person, verifier = setup
    phone = f"+62815{secrets.randbelow(10**8):08d}"
    with app.app_context():
        profile = db.session.get(Account, person.id).profile
        profile.phone, profile.phone_verified_at = phone, datetime.now(UTC)
        db.session.commit()
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"province": "Jawa Timur"}).status_code == 303
    old = confirmation_link(app, smtp_server, person.email)
    assert "/perubahan-data/" in whatsapp_gateway.wait_for(phone)["message"]
    with app.app_context():
        change_id = data_changes.open_request(db.session.get(Account, person.id)).id
    assert verifier.post(f"/verifikator/perubahan-data/{change_id}/kirim-ulang").status_code == 303
    new = confirmation_link(app, smtp_server, person.email, count=2)
    subscriber = signed_in_client(app, person.user_id)
    assert subscriber.get(old).status_code == 410
    assert subscriber.post(new).status_code == 200
    with app.app_context():
        assert db.session.get(Account, person.id).profile.province == "Jawa Timur"


def test_a_pending_change_survives_suspension_and_reactivation(app, setup, smtp_server):
    person, verifier = setup
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"position": "Analis Kebijakan"}).status_code == 303
    with app.app_context():
        account = db.session.get(Account, person.id)
        suspension = suspensions.suspend(account, "Akun diambil alih", Actor("ra-test"))
        suspension.legalised_at = suspension.suspended_at
        suspensions.reactivate(suspension, Actor("ra-test"))
        db.session.commit()
    assert state(app, person.id)[0] == AccountStatus.UPDATE  # back to waiting for the subscriber, not VERIFIED
    subscriber = signed_in_client(app, person.user_id)
    assert subscriber.post(confirmation_link(app, smtp_server, person.email)).status_code == 200
    assert state(app, person.id)[0] == AccountStatus.VERIFIED


def test_verifier_withdraws_an_unconfirmed_update(app, setup, smtp_server):
    person, verifier = setup
    assert verifier.post(f"/verifikator/akun/{person.id}/perubahan-data", data={"position": "Analis Data"}).status_code == 303
    link = confirmation_link(app, smtp_server, person.email)
    with app.app_context():
        change_id = db.session.execute(select(DataChange.id).where(DataChange.account_id == person.id)).scalar_one()
    page = verifier.get(f"/verifikator/akun/{person.id}")
    assert f'id="cancel-change-{change_id}"' in page.get_data(as_text=True)
    assert verifier.post(f"/verifikator/perubahan-data/{change_id}/batalkan").status_code == 303
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert account.status == AccountStatus.VERIFIED and account.profile.position == "Kepala Subbagian Umum"
        assert db.session.get(DataChange, change_id).state == ChangeState.CANCELLED
    late = signed_in_client(app, person.user_id).post(link)  # the confirmation link died with the request
    assert late.status_code == 410 and state(app, person.id)[0] == AccountStatus.VERIFIED
