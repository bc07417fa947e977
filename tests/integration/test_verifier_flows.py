"""The verifier's side of enrolment through the real pages: decisions, auto-verification, resends, CSV import, access."""

from __future__ import annotations

import io
import re
import secrets

import pytest
from sqlalchemy import func, select

from app.domain.accounts.passwords import hash_password
from app.domain.enrolment import registries
from app.extensions import db
from app.lifecycle import AccountStatus, CertificateStatus
from app.models import Account, Agency, Certificate, LinkToken, OutboxMessage, Role, SubscriberProfile
from tests.auth_helpers import give_authenticator, sign_in
from tests.conftest import browser_like_client, free_port
from tests.enrolment_helpers import HX, deliver, finish_wizard, path_of, registration_form, upload_selfie
from tests.subscribers import create_agency, create_staff


def email_of(person, agency_info) -> str:
    """Return the e-mail `registration_form()` gives a registry person."""
    return registration_form(person, {"nip": ""}, agency_info)["email"]


def mails(smtp_server, to: str, subject: str) -> int:
    """Return how many e-mails with ``subject`` in the subject arrived for ``to``."""
    return sum(1 for message in smtp_server.messages_to(to) if subject in str(message["Subject"]))


def account_state(app, account_id) -> dict:
    """Return an account's status, rejection reason and selfie score as the database has them now."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        return {"status": account.status, "reason": account.rejection_reason, "score": account.profile.selfie_score,
                "selfie": account.profile.selfie_path,
                "requests": db.session.execute(select(Certificate.status).where(Certificate.account_id == account_id)).scalars().all(),
                "tokens": db.session.execute(select(func.count()).select_from(LinkToken).where(LinkToken.account_id == account_id)).scalar()}


def test_reject_with_reason_then_the_subscriber_corrects_and_sends_again(
    app, agency, wizard, verifier_client, face_photos, whatsapp_gateway, smtp_server
):
    client, person, servant, account_id = wizard(face_photos["obama"])
    assert "ACTIVATED" in finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"]).get_data(as_text=True)
    email = email_of(person, agency)
    deliver(app)
    activations = mails(smtp_server, email, "Aktivasi")

    reason = "Swafoto buram; ambil ulang dengan cahaya cukup."
    response = verifier_client.post(f"/verifikator/akun/{account_id}/tolak", data={"reason": reason}, headers=HX)
    assert response.status_code == 200
    assert "REJECTED" in response.get_data(as_text=True) and reason in response.get_data(as_text=True)
    assert account_state(app, account_id)["status"] == AccountStatus.REJECTED
    assert account_state(app, account_id)["reason"] == reason

    deliver(app)
    link = path_of(smtp_server.wait_for(email, subject="Aktivasi", count=activations + 1).link(r"/aktivasi/"))
    subscriber = browser_like_client(app)
    assert subscriber.get(link).status_code == 302
    page = subscriber.get("/aktivasi").get_data(as_text=True)
    assert "ditolak verifikator" in page and reason in page

    upload_selfie(subscriber, face_photos["obama2"])
    response = subscriber.post("/aktivasi/kirim", data={"privacy": "1", "agreement": "1"}, headers=HX)
    assert response.status_code == 200 and "ACTIVATED" in response.get_data(as_text=True)
    state = account_state(app, account_id)
    assert state["status"] == AccountStatus.ACTIVATED and state["reason"] is None
    assert 'id="approve"' in verifier_client.get(f"/verifikator/akun/{account_id}").get_data(as_text=True)


@pytest.mark.parametrize("reason", ["", "   ", "oke"])
def test_reject_without_a_real_reason_changes_nothing(app, wizard, verifier_client, face_photos, whatsapp_gateway, reason):
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    before = account_state(app, account_id)
    response = verifier_client.post(f"/verifikator/akun/{account_id}/tolak", data={"reason": reason}, headers=HX)
    assert response.status_code == 422
    assert "alasan penolakan" in response.get_data(as_text=True)
    assert account_state(app, account_id) == before
    assert before["status"] == AccountStatus.ACTIVATED


@pytest.fixture()
def auto_verify(app, agency):
    """Let the agency verify matching ASN automatically."""
    with app.app_context():
        db.session.get(Agency, agency["id"]).auto_verify = True
        db.session.commit()


def test_matching_asn_is_verified_automatically(app, agency, auto_verify, wizard, face_photos, whatsapp_gateway, smtp_server):
    client, person, servant, account_id = wizard(face_photos["obama"])
    response = finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    assert response.status_code == 200 and "VERIFIED" in response.get_data(as_text=True)
    state = account_state(app, account_id)
    assert state["status"] == AccountStatus.VERIFIED
    assert state["requests"] == [CertificateStatus.NEW]
    email = email_of(person, agency)
    with app.app_context():
        queued = db.session.execute(
            select(OutboxMessage).where(OutboxMessage.recipient == email, OutboxMessage.subject.contains("Penerbitan"))
        ).scalars().all()
        assert len(queued) == 1
    smtp_server.wait_for(email, subject="Akun portal")  # sent directly, never stored
    deliver(app)
    assert "/terbitkan/" in smtp_server.wait_for(email, subject="Penerbitan").link(r"/terbitkan/")


def test_asn_whose_face_does_not_match_waits_for_the_verifier(app, auto_verify, wizard, face_photos, whatsapp_gateway):
    client, person, servant, account_id = wizard(face_photos["obama"])
    response = finish_wizard(client, person, servant, whatsapp_gateway, face_photos["biden"])
    assert response.status_code == 200 and "ACTIVATED" in response.get_data(as_text=True)
    state = account_state(app, account_id)
    assert state["status"] == AccountStatus.ACTIVATED and state["requests"] == []
    assert state["score"] is not None and state["score"] < app.config["FACE_MATCH_THRESHOLD"]


def test_registry_person_without_photo(app, auto_verify, wizard, verifier_client, face_photos, two_faces_jpeg, whatsapp_gateway):
    client, person, servant, account_id = wizard(None)
    finish_personal = client.post("/aktivasi/data-diri", data={"name": person["name"]}, headers=HX)
    assert finish_personal.status_code == 200
    response = upload_selfie(client, two_faces_jpeg, expected=422)
    assert "lebih dari satu wajah" in response.get_data(as_text=True)
    assert account_state(app, account_id)["selfie"] is None

    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    state = account_state(app, account_id)
    assert state["selfie"] is not None and state["score"] is None
    assert state["status"] == AccountStatus.ACTIVATED  # no score: never verified automatically
    page = verifier_client.get(f"/verifikator/akun/{account_id}").get_data(as_text=True)
    assert "Tidak ada skor" in page and "Tidak ada foto di data kependudukan" in page
    assert 'id="face-verdict"' not in page
    assert verifier_client.get(f"/verifikator/akun/{account_id}/foto-registri").status_code == 404
    with verifier_client.get(f"/verifikator/akun/{account_id}/swafoto") as selfie:
        assert selfie.status_code == 200 and selfie.data.startswith(b"\xff\xd8")


def test_resend_activation_kills_the_old_link(app, agency, registered, verifier_client, smtp_server):
    person, servant, account_id, old = registered()
    email = email_of(person, agency)
    deliver(app)
    before = mails(smtp_server, email, "Aktivasi")
    response = verifier_client.post(f"/verifikator/akun/{account_id}/kirim-ulang", headers=HX)
    assert response.status_code == 200
    deliver(app)
    new = path_of(smtp_server.wait_for(email, subject="Aktivasi", count=before + 1).link(r"/aktivasi/"))
    assert browser_like_client(app).get(f"/aktivasi/{old}").status_code == 410
    assert browser_like_client(app).get(new).status_code == 302


def test_resend_set_passphrase_link_kills_the_old_one(
    app, agency, wizard, verifier_client, face_photos, whatsapp_gateway, smtp_server
):
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    email = email_of(person, agency)
    response = verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX)
    assert response.status_code == 200 and "VERIFIED" in response.get_data(as_text=True)
    deliver(app)
    old = path_of(smtp_server.wait_for(email, subject="Penerbitan").link(r"/terbitkan/"))
    assert verifier_client.post(f"/verifikator/akun/{account_id}/kirim-ulang", headers=HX).status_code == 200
    deliver(app)
    new = path_of(smtp_server.wait_for(email, subject="Penerbitan", count=2).link(r"/terbitkan/"))
    assert new != old
    refused = browser_like_client(app).get(old)
    assert refused.status_code == 410 and "tidak valid" in refused.get_data(as_text=True)
    assert browser_like_client(app).get(new).status_code == 302


def test_approve_twice_is_refused(app, wizard, verifier_client, face_photos, whatsapp_gateway, smtp_server):
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    assert verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX).status_code == 200
    again = verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX)
    assert again.status_code == 409
    assert account_state(app, account_id)["requests"] == [CertificateStatus.NEW]


def test_approval_stands_when_the_portal_account_mail_cannot_be_sent(
    app, wizard, verifier_client, face_photos, whatsapp_gateway, smtp_server, monkeypatch
):
    client, person, servant, account_id = wizard(face_photos["obama"])
    finish_wizard(client, person, servant, whatsapp_gateway, face_photos["obama2"])
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    response = verifier_client.post(f"/verifikator/akun/{account_id}/setujui", headers=HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "VERIFIED" in page and "gagal terkirim" in page
    assert account_state(app, account_id)["status"] == AccountStatus.VERIFIED
    assert account_state(app, account_id)["requests"] == [CertificateStatus.NEW]


# ---------------------------------------------------------------------------------------------- CSV import


def csv_row(person, servant, agency_info, **changes) -> list[str]:
    """Return a CSV row (name, nik, nip, email, phone) for a registry person."""
    form = registration_form(person, servant, agency_info, **changes)
    return [form[key] for key in ("name", "nik", "nip", "email", "phone")]


def csv_bytes(header: str, rows: list[list[str]]) -> bytes:
    """Return a CSV file as a spreadsheet program writes it."""
    import csv

    out = io.StringIO()
    out.write(header + "\r\n")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(client, data: bytes, name: str = "pegawai.csv"):
    """Upload a CSV on the import page."""
    return client.post("/verifikator/impor", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def run_import(client, page: str) -> str:
    """Follow the progress fragment's polling until the import is finished; return the last fragment."""
    job = re.search(r'hx-post="/verifikator/impor/([^"]+)"', page).group(1)
    for _ in range(100):
        response = client.post(f"/verifikator/impor/{job}", headers=HX)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        if "Impor selesai" in page:
            assert "hx-post" not in page  # polling stops
            return page
    raise AssertionError("the import did not finish")


def error_rows(page: str) -> dict[int, str]:
    """Return the error report as {row number: message}."""
    table = re.search(r'<table id="import-errors">(.*?)</table>', page, re.S)
    if table is None:
        return {}
    return {int(number): message for number, message in re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", table.group(1))}


def subscribers_of(app, agency_id: int) -> list[Account]:
    """Return the agency's subscriber accounts (detached, with their profiles)."""
    with app.app_context():
        query = select(Account).where(Account.agency_id == agency_id, Account.role == Role.SUBSCRIBER)
        rows = db.session.execute(query).scalars().all()
        for account in rows:
            db.session.expunge(account.profile)
            db.session.expunge(account)
        return rows


def test_csv_import_reports_every_bad_row_and_registers_nothing(app, agency, verifier_client):
    people = [registries.demo_people(1, agency["code"], seed=secrets.randbelow(10**9))[0] for _ in range(4)]
    good = [csv_row(p, s, agency) for p, s in people]
    rows = [
        good[0],                                                   # row 2
        csv_row(*people[1], agency, nik="12345"),                   # row 3: bad NIK
        good[2],                                                   # row 4
        csv_row(*people[3], agency, email=good[0][3]),              # row 5: e-mail of row 2
        csv_row(*people[3], agency, email="orang@gmail.com"),       # row 6: not the agency's domain
        good[3],                                                   # row 7: the NIK of rows 5 and 6
        [good[1][0] + ", S.Kom", *good[1][1:]],                    # row 8: an unquoted comma, one value too many
    ]
    data = csv_bytes("Name, NIK ,NIP,EMAIL,Phone", rows)
    data = data.replace(b'"' + rows[-1][0].encode() + b'"', rows[-1][0].encode())  # unquote it as a sloppy export does
    response = upload(verifier_client, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = run_import(verifier_client, response.get_data(as_text=True))
    assert "7 dari 7 baris diproses; 0 terdaftar, 5 bermasalah" in page and "Tidak ada yang didaftarkan" in page
    errors = error_rows(page)
    assert sorted(errors) == [3, 5, 6, 7, 8]
    assert "NIK ini sudah ada di baris 5" in errors[7]
    assert "NIK" in errors[3]
    assert "sudah ada di baris 2" in errors[5]
    assert agency["domain"] in errors[6]
    assert "kolom" in errors[8]
    assert subscribers_of(app, agency["id"]) == []

    page = run_import(verifier_client, upload(verifier_client, csv_bytes("name,nik,nip,email,phone", good)).get_data(as_text=True))
    assert "4 dari 4 baris diproses; 4 terdaftar, 0 bermasalah" in page and "import-errors" not in page
    created = subscribers_of(app, agency["id"])
    emails = [row[3] for row in good]
    assert sorted(a.email for a in created) == sorted(emails)
    assert {a.status for a in created} == {AccountStatus.REGISTERED}
    assert {a.profile.nik for a in created} == {row[1] for row in good}
    with app.app_context():
        queued = db.session.execute(
            select(OutboxMessage.recipient).where(OutboxMessage.recipient.in_(emails), OutboxMessage.subject.contains("Aktivasi"))
        ).scalars().all()
        assert sorted(queued) == sorted(emails)
    assert "sudah terdaftar" in error_rows(run_import(verifier_client, upload(verifier_client, csv_bytes(
        "name,nik,nip,email,phone", good)).get_data(as_text=True)))[2]  # the same file again: nothing twice


def test_csv_import_whose_300th_row_is_bad_inserts_nothing(app, agency, verifier_client):
    people = registries.demo_people(300, agency["code"], seed=secrets.randbelow(10**9))
    rows = [csv_row(person, servant, agency) for person, servant in people]
    rows[299][1] = "12345"  # the 300th row (line 301): a bad NIK, in the third chunk
    with app.app_context():
        before = db.session.execute(select(func.count()).select_from(Account)).scalar()
    page = run_import(verifier_client, upload(verifier_client, csv_bytes("name,nik,nip,email,phone", rows)).get_data(as_text=True))
    assert "300 dari 300 baris diproses; 0 terdaftar, 1 bermasalah" in page
    assert list(error_rows(page)) == [301]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Account)).scalar() == before
        assert db.session.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient.in_([row[3] for row in rows]))).scalar() == 0


def test_csv_row_numbers_count_blank_lines(app, agency, verifier_client):
    (person, servant), = registries.demo_people(1, agency["code"], seed=secrets.randbelow(10**9))
    data = b"name,nik,nip,email,phone\r\n\r\n" + ",".join(csv_row(person, servant, agency, nik="1")).encode() + b"\r\n"
    page = run_import(verifier_client, upload(verifier_client, data).get_data(as_text=True))
    assert list(error_rows(page)) == [3]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"nama,nik,email\r\nBudi,3171010101900001,b@x.go.id\r\n", "name, nip, phone"),
        ("name,nik,nip,email,phone\r\nJos\u00e9 Gar\u00e7a,3171010101900001,,j@x.go.id,0812\r\n".encode("cp1252"), "UTF-8"),
        (b"", "Pilih berkas"),
    ],
)
def test_csv_file_that_cannot_be_read_is_refused(app, agency, verifier_client, data, message):
    response = upload(verifier_client, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert "import-progress" not in response.get_data(as_text=True)


def other_verifier(app):
    """Return a client signed in as the verifier of a new, different agency."""
    verifier = create_staff(app, Role.VERIFIER, create_agency(app, "O", "Dinas").id, authenticator=True)
    client = browser_like_client(app)
    assert sign_in(client, verifier.username, verifier.password, verifier.secret).status_code == 302
    return client


def test_import_job_of_another_agency_is_404(app, agency, verifier_client):
    (person, servant), = registries.demo_people(1, agency["code"], seed=secrets.randbelow(10**9))
    response = upload(verifier_client, csv_bytes("name,nik,nip,email,phone", [csv_row(person, servant, agency)]))
    job = re.search(r'hx-post="/verifikator/impor/([^"]+)"', response.get_data(as_text=True)).group(1)
    assert other_verifier(app).post(f"/verifikator/impor/{job}", headers=HX).status_code == 404
    with app.app_context():
        assert db.session.execute(select(SubscriberProfile).where(SubscriberProfile.nik == person["nik"])).first() is None
    assert "Impor selesai" in run_import(verifier_client, response.get_data(as_text=True))


# ---------------------------------------------------------------------------------------------- the queue


def listed(client, **query) -> tuple[list[int], str | None]:
    """Return the account ids on a queue page, newest first, and the next-page cursor."""
    page = client.get("/verifikator/", query_string=query, headers=HX).get_data(as_text=True)
    ids = [int(n) for n in re.findall(r'href="/verifikator/akun/(\d+)"', page)]
    cursor = re.search(r"sebelum=(\d+)", page)
    return ids, cursor.group(1) if cursor else None


def test_queue_search_filter_and_keyset_pages(app, agency, verifier_client):
    people = [agency["add_person"]() for _ in range(3)]
    for person, servant in people:
        assert verifier_client.post("/verifikator/daftar", data=registration_form(person, servant, agency)).status_code == 302
    with app.app_context():
        rows = db.session.execute(select(Account.id, SubscriberProfile.nik).join(SubscriberProfile)
                                  .where(Account.agency_id == agency["id"]).order_by(Account.id)).all()
        by_nik = {nik: account_id for account_id, nik in rows}
        bulk = []
        for n in range(27):  # more than a page
            account = Account(role=Role.SUBSCRIBER, agency_id=agency["id"], email=f"massal{n}@{agency['domain']}",
                              name=f"Pegawai Massal {n}", status=AccountStatus.VERIFIED)
            db.session.add(account)
            db.session.flush()
            db.session.add(SubscriberProfile(account_id=account.id, nik=f"9{agency['id']:05d}{n:010d}", wizard_data={}))
            bulk.append(account.id)
        db.session.commit()
    (person, servant), target = people[1], by_nik[people[1][0]["nik"]]
    assert listed(verifier_client, q=person["nik"]) == ([target], None)
    assert listed(verifier_client, q=servant["nip"]) == ([target], None)
    assert target in listed(verifier_client, q=person["name"].split()[0].lower())[0]
    assert listed(verifier_client, q=registration_form(person, servant, agency)["email"].split("@")[0]) == ([target], None)
    assert sorted(listed(verifier_client, status="REGISTERED")[0]) == sorted(by_nik.values())
    assert listed(verifier_client, status="ACTIVATED") == ([], None)

    first, cursor = listed(verifier_client)
    assert len(first) == 25 and first == sorted(first, reverse=True) and cursor == str(first[-1])
    second, end = listed(verifier_client, sebelum=cursor)
    assert end is None and len(second) == 30 - 25 and max(second) < min(first)
    assert sorted(first + second) == sorted([*by_nik.values(), *bulk])


# ---------------------------------------------------------------------------------------------- access


def test_verifier_pages_are_for_staff_only(app, agency, client):
    anonymous = client.get("/verifikator/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    with app.app_context():
        password = "Pelanggan#" + secrets.token_hex(4)
        username = "s-" + secrets.token_hex(4)
        account = Account(role=Role.SUBSCRIBER, agency_id=agency["id"], email=f"{username}@{agency['domain']}",
                          username=username, password_hash=hash_password(password), status=AccountStatus.VERIFIED)
        db.session.add(account)
        db.session.flush()
        secret = give_authenticator(account)
        db.session.commit()
    subscriber = browser_like_client(app)
    assert sign_in(subscriber, username, password, secret).status_code == 302
    for path in ("/verifikator/", "/verifikator/daftar", "/verifikator/impor"):
        assert subscriber.get(path).status_code == 403, path
    assert subscriber.post("/verifikator/impor/abc").status_code == 403

