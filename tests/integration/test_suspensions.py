"""Compromised accounts (F15) through the real pages: suspension, the verifier's legalised documents, RA approval, authenticator reset."""

from __future__ import annotations

import io
import json
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy
import pytest
from sqlalchemy import func, select

from app import lifecycle
from app.domain.accounts.passwords import hash_password
from app.domain.certificates import suspensions
from app.domain.signing import signatures
from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import (
    Account,
    AuditEvent,
    AuthenticatorDevice,
    OutboxMessage,
    ReactivationDocument,
    Role,
    Suspension,
)
from app.platform import notifications
from app.platform.audit import Actor
from tests.auth_helpers import give_authenticator, sign_in, totp_code
from tests.conftest import browser_like_client
from tests.pdfs import make_pdf
from tests.subscribers import create_staff, create_subscriber, signed_in_client

FAILURE = "Nama pengguna, kata sandi, atau kode autentikator salah."
SECRET_ON_PAGE = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7]+)<')


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def image(extension: str) -> bytes:
    """Return a small real JPEG or PNG."""
    pixels = numpy.full((40, 60, 3), 200, dtype=numpy.uint8)
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok
    return encoded.tobytes()


def staff(app, role: Role, agency_id: int | None = None) -> dict:
    """Create a staff account (RA or verifier) and return its id and a client signed in as it."""
    person = create_staff(app, role, agency_id)
    return {"id": person.id, "client": signed_in_client(app, person.user_id), "name": person.username}


def portal_subscriber(app, agency_id: int | None = None) -> dict:
    """Create a VERIFIED subscriber with a certificate, a portal password and an authenticator."""
    person = create_subscriber(app, agency_id=agency_id)
    password = "Sandi#" + secrets.token_hex(6)
    with app.app_context():
        account = db.session.get(Account, person.id)
        account.password_hash = hash_password(password)
        secret = give_authenticator(account)
        db.session.commit()
        return {"id": person.id, "username": account.username, "email": account.email, "password": password,
                "secret": secret, "agency_id": person.agency_id, "name": person.name, "person": person}


def verifier_of(app, agency_id: int) -> dict:
    """Create a verifier of an agency, with a client signed in as them."""
    return staff(app, Role.VERIFIER, agency_id)


def status_of(app, account_id: int) -> AccountStatus:
    """Return an account's status."""
    with app.app_context():
        return db.session.get(Account, account_id).status


def upload(client, account_id: int, kind: str, data: bytes, name: str):
    """Upload a reactivation document through the verifier's form."""
    return client.post(f"/verifikator/akun/{account_id}/aktivasi-ulang/berkas",
                       data={"kind": kind, "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def evidence_files(app, account_id: int) -> list[Path]:
    """Return the files kept for an account's reactivation."""
    folder = Path(app.instance_path) / "evidence" / str(account_id)
    return sorted(folder.iterdir()) if folder.exists() else []


def suspend(app, account_id: int) -> None:
    """Suspend an account through the service (as the RA page does)."""
    with app.app_context():
        suspensions.suspend(db.session.get(Account, account_id), "Kredensial bocor", Actor("ra-uji"))
        db.session.commit()


@pytest.fixture()
def ra(app):
    """Return a central RA signed in."""
    return staff(app, Role.CENTRAL_RA)


def test_suspension_ends_sessions_and_refuses_login_and_signing(app, ra):
    person = portal_subscriber(app)
    verifier = verifier_of(app, person["agency_id"])
    session = browser_like_client(app)
    assert sign_in(session, person["username"], person["password"], person["secret"]).status_code == 302
    assert session.get("/akun/perangkat").status_code == 200

    found = ra["client"].get("/ra/penangguhan", query_string={"q": person["email"].split("@")[0]})
    assert person["name"] in text(found) and "Tangguhkan" in text(found)
    empty = ra["client"].post(f"/ra/penangguhan/akun/{person['id']}", data={"reason": "  "})
    assert empty.status_code == 422 and "Tuliskan alasan" in text(empty)
    assert status_of(app, person["id"]) == AccountStatus.VERIFIED

    done = ra["client"].post(f"/ra/penangguhan/akun/{person['id']}", data={"reason": "Kata sandi tersebar di forum"})
    assert done.status_code == 302
    assert status_of(app, person["id"]) == AccountStatus.SUSPENDED
    with app.app_context():
        row = db.session.execute(select(Suspension).where(Suspension.account_id == person["id"])).scalar_one()
        assert row.reason == "Kata sandi tersebar di forum" and row.suspended_by == ra["name"]
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.suspend",
                                                            AuditEvent.subject_id == str(person["id"]))).scalar_one()
        assert event.reason == "Kata sandi tersebar di forum"
        recipients = set(db.session.execute(select(OutboxMessage.recipient).where(OutboxMessage.account_id == person["id"],
                                                                                  OutboxMessage.subject.contains("ditangguhkan"))).scalars())
        assert recipients == {person["email"], db.session.get(Account, verifier["id"]).email}

    signed_out = session.get("/akun/perangkat")  # the open session ended at once
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    refused = sign_in(browser_like_client(app), person["username"], person["password"])
    assert refused.status_code == 401 and "ditangguhkan" in text(refused) and "verifikator instansi" in text(refused)
    wrong = sign_in(browser_like_client(app), person["username"], "salah-" + person["password"])
    assert wrong.status_code == 401 and FAILURE in text(wrong) and "ditangguhkan" not in text(wrong)

    signer = signed_in_client(app, person["person"].user_id)  # an old session cookie cannot sign either
    attempt = signer.post("/tandatangan", data={"files": (io.BytesIO(make_pdf()), "a.pdf")}, content_type="multipart/form-data")
    assert attempt.status_code == 302 and "/login" in attempt.headers["Location"]
    with app.test_request_context("/"), pytest.raises(signatures.SigningRefused, match="SUSPENDED"):
        signatures.signing_certificate(db.session.get(Account, person["id"]))

    page = ra["client"].get("/ra/penangguhan")
    assert "menunggu dokumen dari verifikator" in text(page) and "menit kerja" in text(page)


def test_forbidden_transitions_are_refused_with_a_reason(app, ra, agency, registered):
    _person, _servant, account_id, _raw = registered()
    assert status_of(app, account_id) == AccountStatus.REGISTERED
    refused = ra["client"].post(f"/ra/penangguhan/akun/{account_id}", data={"reason": "Uji"})
    assert refused.status_code == 409 and "tidak diizinkan" in text(refused) and "REGISTERED" in text(refused)
    assert status_of(app, account_id) == AccountStatus.REGISTERED

    person = portal_subscriber(app)
    with app.test_request_context("/"):
        account = db.session.get(Account, person["id"])
        with pytest.raises(lifecycle.Forbidden) as caught:
            lifecycle.apply(account, "account", "reactivate", Actor("ra-uji"))
        assert "VERIFIED" in caught.value.reason
        db.session.rollback()
        stray = Suspension(account_id=person["id"], agency_id=person["agency_id"], reason="x", suspended_by="x",
                           legalised_at=suspensions.utcnow(), legalised_by="v")
        db.session.add(stray)
        db.session.commit()
        stray_id = stray.id
    approve = ra["client"].post(f"/ra/penangguhan/{stray_id}/setujui")
    assert approve.status_code == 409 and "VERIFIED" in text(approve)
    assert status_of(app, person["id"]) == AccountStatus.VERIFIED
    with app.app_context():
        assert db.session.get(Suspension, stray_id).reactivated_at is None
        db.session.delete(db.session.get(Suspension, stray_id))
        db.session.commit()


def test_reactivation_end_to_end(app, ra, smtp_server, monkeypatch):
    person = portal_subscriber(app)
    verifier = verifier_of(app, person["agency_id"])["client"]
    suspend(app, person["id"])
    account_id = person["id"]
    with app.app_context():
        suspension_id = suspensions.current(db.session.get(Account, account_id)).id

    page = verifier.get(f"/verifikator/akun/{account_id}")
    assert "Aktivasi ulang akun yang ditangguhkan" in text(page) and "Kredensial bocor" in text(page)
    early = ra["client"].post(f"/ra/penangguhan/{suspension_id}/setujui")
    assert early.status_code == 409 and "belum dilegalisasi" in text(early)
    assert status_of(app, account_id) == AccountStatus.SUSPENDED
    nothing = verifier.post(f"/verifikator/akun/{account_id}/aktivasi-ulang/legalisasi", data={"legalised": "yes"})
    assert nothing.status_code == 422 and "Unggah dulu" in text(nothing)

    for data, name, message in (
        (b"just text, not a scan", "scan.pdf", "bukan PDF/JPEG/PNG"),
        (b"GIF89a" + bytes(40), "foto.png", "bukan PDF/JPEG/PNG"),
        (b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(200), "rusak.png", "rusak"),
        (b"%PDF-1.7\n" + secrets.token_bytes(300), "rusak.pdf", "rusak"),
        (b"", "kosong.pdf", "Pilih berkas"),
    ):
        refused = upload(verifier, account_id, "antivirus_scan", data, name)
        assert refused.status_code == 422 and message in text(refused), name
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1000)
    big = upload(verifier, account_id, "antivirus_scan", image(".png") + bytes(2000), "besar.png")
    assert big.status_code == 422 and "besar.png terlalu besar" in text(big)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ReactivationDocument)
                                  .where(ReactivationDocument.suspension_id == suspension_id)).scalar() == 0
    assert evidence_files(app, account_id) == []  # nothing stored

    form, scan, mail = make_pdf(), image(".jpg"), image(".png")
    for kind, data, name in (("authenticator_form", form, "formulir.pdf"), ("antivirus_scan", scan, "scan.jpg"),
                             ("email_password", mail, "../../static/sandi.png")):
        assert upload(verifier, account_id, kind, data, name).status_code == 302, name
    stored = evidence_files(app, account_id)
    assert len(stored) == 3 and all(re.fullmatch(r"[0-9a-f]{32}\.(pdf|jpg|png)", p.name) for p in stored)
    assert not list((Path(app.root_path).parent / "static").glob("sandi*"))
    with app.app_context():
        documents = {d.kind: d.id for d in db.session.execute(
            select(ReactivationDocument).where(ReactivationDocument.suspension_id == suspension_id)).scalars()}

    # only the agency's verifier and the RA see the account and its documents
    outsider = verifier_of(app, portal_subscriber(app)["agency_id"])["client"]
    doc_url = f"/verifikator/akun/{account_id}/aktivasi-ulang/berkas/{documents['antivirus_scan']}"
    assert outsider.get(f"/verifikator/akun/{account_id}").status_code == 404
    assert outsider.get(doc_url).status_code == 404
    assert upload(outsider, account_id, "antivirus_scan", scan, "x.jpg").status_code == 404
    assert signed_in_client(app, portal_subscriber(app)["person"].user_id).get(doc_url).status_code == 403
    assert app.test_client().get(doc_url).status_code == 302
    served = ra["client"].get(doc_url)
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data == scan
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert verifier.get(f"/verifikator/akun/{account_id}/aktivasi-ulang/berkas/{documents['authenticator_form']}").data == form

    unchecked = verifier.post(f"/verifikator/akun/{account_id}/aktivasi-ulang/legalisasi", data={})
    assert unchecked.status_code == 422 and "Centang" in text(unchecked)
    assert verifier.post(f"/verifikator/akun/{account_id}/aktivasi-ulang/legalisasi", data={"legalised": "yes"}).status_code == 302
    late = upload(verifier, account_id, "antivirus_scan", scan, "lagi.jpg")
    assert late.status_code == 422 and "sudah dilegalisasi" in text(late)

    desk = text(ra["client"].get("/ra/penangguhan"))
    assert f'id="request-{suspension_id}"' in desk and "menunggu" in desk and "scan.jpg" in desk
    assert ra["client"].post(f"/ra/penangguhan/{suspension_id}/kembalikan", data={"reason": ""}).status_code == 422
    back = ra["client"].post(f"/ra/penangguhan/{suspension_id}/kembalikan", data={"reason": "Bukti pindai buram"})
    assert back.status_code == 302
    assert "Bukti pindai buram" in text(verifier.get(f"/verifikator/akun/{account_id}"))
    assert ra["client"].post(f"/ra/penangguhan/{suspension_id}/setujui").status_code == 409
    assert upload(verifier, account_id, "antivirus_scan", image(".jpg"), "scan-baru.jpg").status_code == 302
    assert len(evidence_files(app, account_id)) == 3  # the replaced file is gone
    assert verifier.post(f"/verifikator/akun/{account_id}/aktivasi-ulang/legalisasi", data={"legalised": "yes"}).status_code == 302
    with app.app_context():
        row = db.session.get(Suspension, suspension_id)
        assert row.legalised_by.startswith("st-") and row.legalised_at is not None

    with app.app_context():
        version = db.session.get(Account, account_id).session_version
    approved = ra["client"].post(f"/ra/penangguhan/{suspension_id}/setujui")
    assert approved.status_code == 302
    assert status_of(app, account_id) == AccountStatus.VERIFIED
    with app.app_context():
        assert db.session.execute(select(AuthenticatorDevice).where(AuthenticatorDevice.account_id == account_id)).first() is None
        assert db.session.get(Account, account_id).session_version == version + 1  # the authenticator reset ends sessions
        assert db.session.get(Account, account_id).must_change_password is True
        notifications.work()
    # the password alone cannot set up an authenticator now: only the e-mailed link can
    blocked = browser_like_client(app)
    assert sign_in(blocked, person["username"], person["password"]).headers["Location"].endswith("/login/perangkat")
    stopped = blocked.get("/login/perangkat")
    assert stopped.status_code == 403 and "tautan reset autentikator" in text(stopped)

    link = smtp_server.wait_for(person["email"], subject="Reset autentikator").link(r"/akun/reset-autentikator/")
    path = urlsplit(link).path
    owner = browser_like_client(app)
    setup = owner.get(path)
    assert setup.status_code == 200 and setup.headers["Cache-Control"] == "no-store"
    secret = SECRET_ON_PAGE.search(text(setup)).group(1)
    wrong = owner.post(path, data={"device_name": "HP baru", "code": "12345"})
    assert wrong.status_code == 422 and "Kode autentikator salah" in text(wrong)
    done = owner.post(path, data={"device_name": "HP baru", "code": totp_code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    again = browser_like_client(app).get(path)
    assert again.status_code == 410  # single use
    with app.app_context():
        assert db.session.get(Suspension, suspension_id).authenticator_reset_at is not None
        actions = [e.action for e in db.session.execute(select(AuditEvent).where(AuditEvent.subject_id == str(account_id))
                                                        .order_by(AuditEvent.id)).scalars()]
        assert actions.index("account.suspend") < actions.index("account.reactivation_requested") < actions.index(
            "account.reactivate") < actions.index("account.authenticator_reset")
        assert path.rsplit("/", 1)[1] not in json.dumps([e.details for e in db.session.execute(select(AuditEvent)).scalars()])

    back_in = sign_in(browser_like_client(app), person["username"], person["password"], secret)
    assert back_in.status_code == 302 and back_in.headers["Location"].endswith("/akun/sandi")  # then a new password


def test_pending_reactivations_of_another_agency_are_not_listed_for_a_verifier(app):
    person = portal_subscriber(app)
    suspend(app, person["id"])
    other = verifier_of(app, portal_subscriber(app)["agency_id"])["client"]
    assert person["email"] not in text(other.get("/verifikator/", query_string={"status": "SUSPENDED"}))
    assert other.get("/ra/penangguhan").status_code == 403


def test_expired_reset_link_is_refused_and_a_new_one_can_be_sent(app, ra):
    from datetime import timedelta

    from app.domain.accounts import tokens
    from app.models import LinkToken

    person = portal_subscriber(app)
    suspend(app, person["id"])
    with app.test_request_context("/"):
        row = suspensions.current(db.session.get(Account, person["id"]))
        row.legalised_at, row.legalised_by = suspensions.utcnow(), "v-uji"
        suspensions.reactivate(row, Actor("ra-uji"))
        raw = tokens.issue(person["id"], suspensions.AUTHENTICATOR_RESET, suspensions.AUTHENTICATOR_RESET_TTL)
        token = db.session.execute(select(LinkToken).where(LinkToken.token_hash == tokens.hash_token(raw))).scalar_one()
        token.expires_at -= timedelta(days=2)
        db.session.commit()
        suspension_id = row.id
    expired = browser_like_client(app).get(f"/akun/reset-autentikator/{raw}")
    assert expired.status_code == 410 and "kedaluwarsa" in text(expired)
    assert browser_like_client(app).get("/akun/reset-autentikator/bukan-token").status_code == 410
    assert "Kirim ulang tautan reset autentikator" in text(ra["client"].get("/ra/penangguhan"))
    assert ra["client"].post(f"/ra/penangguhan/{suspension_id}/kirim-ulang").status_code == 302
    with app.app_context():
        live = db.session.execute(select(LinkToken).where(LinkToken.account_id == person["id"],
                                                          LinkToken.purpose == suspensions.AUTHENTICATOR_RESET,
                                                          LinkToken.used_at.is_(None), LinkToken.revoked_at.is_(None))).scalars().all()
        assert len(live) == 1 and live[0].expires_at > suspensions.utcnow()
