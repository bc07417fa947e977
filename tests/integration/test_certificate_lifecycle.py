"""After issuance through the real pages: passphrase change and reset, revocation, renewal and the expiry sweep."""

from __future__ import annotations

import io
import re
import threading
from datetime import timedelta

import pytest
from asn1crypto import crl as asn1_crl
from sqlalchemy import select

from app.certificates_cli import sweep_loop
from app.domain import keys
from app.domain.certificates import after_issuance
from app.domain.key_errors import PassphraseDoesNotOpen
from app.domain.signing import signatures
from app.domain.signing.signatures import Details, Placement, SigningRefused, Upload
from app.extensions import db
from app.lifecycle import CertificateStatus
from app.models import Account, AuditEvent, Certificate, Crl, ExpiryReminder, LinkToken, OutboxMessage, RenewalRequest
from app.models.types import utcnow
from app.platform import notifications
from app.platform.audit import SYSTEM
from signer import keys as signer_keys
from signer import revocation
from signer.errors import HsmUnavailable
from tests.api_helpers import b64, make_client
from tests.certificate_helpers import deliver, give_registry_photo, make_verifier, verify_phone
from tests.conftest import browser_like_client
from tests.pdfs import make_pdf
from tests.subscribers import signed_in_client

NEW_PASSPHRASE = "Baru#Sekali2027"
HX = {"HX-Request": "true"}


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def certificate(app, certificate_id: int) -> Certificate:
    """Return a certificate row, fresh from the database (call inside an app context)."""
    db.session.expire_all()
    return db.session.get(Certificate, certificate_id)


def opens(row: Certificate, passphrase: str) -> bool:
    """Return whether ``passphrase`` unlocks the key of ``row``."""
    try:
        with keys.unlocked(row, passphrase):
            return True
    except PassphraseDoesNotOpen:
        return False


def sign_one(app, account_id: int, passphrase: str) -> None:
    """Sign a small PDF through the signing service as the subscriber (raises SigningRefused when it cannot)."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        signatures.sign_documents(account, passphrase, [Upload("surat.pdf", make_pdf())], Placement(), Details(),
                               SYSTEM, level="B-B")
        db.session.commit()


def outbox_to(recipient: str, subject: str = "") -> list[OutboxMessage]:
    """Return the outbox messages to ``recipient`` whose subject contains ``subject``, oldest first."""
    rows = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)
    ).scalars()
    return [row for row in rows if subject in (row.subject or "")]


def crl_serials() -> set[int]:
    """Return the serials on the newest CRL of the issuing CA."""
    der = keys.latest_crl("issuing").der
    revoked = asn1_crl.CertificateList.load(der)["tbs_cert_list"]["revoked_certificates"]
    return {entry["user_certificate"].native for entry in revoked}


def test_change_passphrase_old_stops_working_and_new_signs(app, subscriber_with_certificate):
    person = subscriber_with_certificate
    client = signed_in_client(app, person.user_id)
    page = client.get("/sertifikat/ubah-passphrase")
    assert page.status_code == 200 and 'id="passphrase-rules"' in text(page)

    weak = client.post("/sertifikat/ubah-passphrase", data={"old": person.passphrase, "passphrase": "lemah",
                                                            "confirmation": "lemah", "agreement": "setuju"})
    assert weak.status_code == 422 and "Minimal 8 karakter" in text(weak)
    unagreed = client.post("/sertifikat/ubah-passphrase", data={"old": person.passphrase, "passphrase": NEW_PASSPHRASE,
                                                                "confirmation": NEW_PASSPHRASE})
    assert unagreed.status_code == 422 and "merahasiakan" in text(unagreed)

    done = client.post("/sertifikat/ubah-passphrase", headers=HX, data={
        "old": person.passphrase, "passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"})
    assert done.status_code == 200 and 'id="change-done"' in text(done)
    with app.app_context():
        row = certificate(app, person.certificate_id)
        assert row.status == CertificateStatus.ISSUE
        assert not opens(row, person.passphrase)
        assert opens(row, NEW_PASSPHRASE)
        assert outbox_to(person.email, "Passphrase sertifikat elektronik Anda diubah")
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "certificate.passphrase_changed",
                                                            AuditEvent.subject_id == str(row.id))).scalar_one()
        assert person.passphrase not in str(event.details) and NEW_PASSPHRASE not in str(event.details)
    sign_one(app, person.id, NEW_PASSPHRASE)
    with pytest.raises(signatures.PassphraseWrong):
        sign_one(app, person.id, person.passphrase)


def test_wrong_old_passphrase_counts_toward_the_signing_lock(app, subscriber_with_certificate):
    person = subscriber_with_certificate
    client = signed_in_client(app, person.user_id)
    form = {"old": "Salah#Tebak123", "passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"}
    first = client.post("/sertifikat/ubah-passphrase", data=form)
    assert first.status_code == 422 and "Sisa 4 percobaan" in text(first)
    for _ in range(4):
        last = client.post("/sertifikat/ubah-passphrase", data=form)
    assert last.status_code == 409 and "dikunci" in text(last)
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert account.wrong_passphrases == 5 and account.signing_locked_at is not None
        assert opens(certificate(app, person.certificate_id), person.passphrase)  # the key is unchanged
    # even the right old passphrase is refused now: only a reset lifts the lock
    locked = client.post("/sertifikat/ubah-passphrase", data={**form, "old": person.passphrase})
    assert locked.status_code == 409 and "reset passphrase" in text(locked)


def reset_link_from_outbox(app, recipient: str) -> str:
    """Return the reset link of the newest reset message to ``recipient`` (unsealed from the outbox)."""
    with app.app_context():
        rows = [row for row in outbox_to(recipient) if row.sealed_links]
        return notifications.links_of(rows[-1])["reset_passphrase"]


def path_of(link: str) -> str:
    """Return the path of an absolute link."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_reset_requested_by_the_verifier_goes_by_email_then_whatsapp(app, instance_dir, subscriber_with_certificate,
                                                                     smtp_server, whatsapp_gateway, face_photos):
    person = subscriber_with_certificate
    give_registry_photo(app, instance_dir, person.id, face_photos["obama"])
    verifier = signed_in_client(app, make_verifier(app, person.agency_id))
    detail = verifier.get(f"/verifikator/akun/{person.id}")
    assert 'id="send-reset"' in text(detail) and 'id="revoke"' in text(detail) and 'id="send-renewal"' not in text(detail)

    sent = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/reset", headers=HX)
    assert sent.status_code == 200 and "e-mail" in text(sent)
    deliver(app)
    first_link = smtp_server.wait_for(person.email, subject="Reset passphrase").link(r"/sertifikat/reset/")

    phone = "+6281234" + f"{person.id:06d}"[-6:]
    verify_phone(app, person.id, phone)
    sent = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/reset", headers=HX)
    assert "WhatsApp" in text(sent)
    deliver(app)
    link = re.search(r"https?://\S+/sertifikat/reset/\S+", whatsapp_gateway.wait_for(phone)["message"]).group(0)

    assert browser_like_client(app).get(path_of(first_link)).status_code == 410  # a new request kills older links
    with app.app_context():
        account = db.session.get(Account, person.id)
        account.wrong_passphrases, account.signing_locked_at = 5, utcnow()
        db.session.commit()
    opened = browser_like_client(app)
    assert opened.get(path_of(link)).status_code == 302
    assert "BARU" in text(opened.get("/sertifikat/reset-passphrase"))
    face = opened.post("/sertifikat/reset-passphrase/swafoto", headers=HX, content_type="multipart/form-data",
                       data={"selfie": (io.BytesIO(face_photos["obama2"]), "s.jpg")})
    assert face.status_code == 200 and 'id="passphrase-rules"' in text(face)
    done = opened.post("/sertifikat/reset-passphrase", headers=HX,
                       data={"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"})
    assert done.status_code == 200 and 'id="certificate-status">ISSUE' in text(done)

    with app.app_context():
        old = certificate(app, person.certificate_id)
        assert old.status == CertificateStatus.REVOKE and old.revocation_reason == "superseded"
        new = after_issuance.active(db.session.get(Account, person.id))
        assert new.id != old.id and new.account_id == person.id
        assert not opens(new, person.passphrase) and opens(new, NEW_PASSPHRASE)
        account = db.session.get(Account, person.id)
        assert account.wrong_passphrases == 0 and account.signing_locked_at is None
        assert old.serial_int in crl_serials()
    sign_one(app, person.id, NEW_PASSPHRASE)
    assert browser_like_client(app).get(path_of(link)).status_code == 410  # single use


def test_self_requested_reset_by_email_a_selfie_that_does_not_match_and_an_expired_link(
        app, instance_dir, subscriber_with_certificate, face_photos):
    person = subscriber_with_certificate
    give_registry_photo(app, instance_dir, person.id, face_photos["obama"])
    client = signed_in_client(app, person.user_id)
    page = client.get("/sertifikat/reset")
    assert "lewat e-mail" in text(page) and "superseded" in text(page)
    sent = client.post("/sertifikat/reset", headers=HX)
    assert sent.status_code == 200 and 'id="reset-sent"' in text(sent)
    link = reset_link_from_outbox(app, person.email)

    browser = browser_like_client(app)
    assert browser.get(path_of(link)).status_code == 302
    stranger = browser.post("/sertifikat/reset-passphrase/swafoto", headers=HX, content_type="multipart/form-data",
                            data={"selfie": (io.BytesIO(face_photos["biden"]), "s.jpg")})
    assert stranger.status_code == 422 and "tidak cocok" in text(stranger)
    skipped = browser.post("/sertifikat/reset-passphrase", headers=HX,
                           data={"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"})
    assert skipped.status_code == 422 and "swafoto" in text(skipped)

    with app.app_context():
        token = db.session.execute(select(LinkToken).where(LinkToken.account_id == person.id,
                                                           LinkToken.purpose == after_issuance.PASSPHRASE_RESET,
                                                           LinkToken.used_at.is_(None),
                                                           LinkToken.revoked_at.is_(None))).scalar_one()
        token.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    expired = browser_like_client(app).get(path_of(link))
    assert expired.status_code == 410 and "kedaluwarsa" in text(expired)
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.ISSUE


def test_a_failure_while_issuing_leaves_the_old_certificate_and_the_link(app, instance_dir, subscriber_with_certificate,
                                                                         face_photos, monkeypatch):
    person = subscriber_with_certificate
    give_registry_photo(app, instance_dir, person.id, face_photos["obama"])
    client = signed_in_client(app, person.user_id)
    client.post("/sertifikat/reset")
    link = reset_link_from_outbox(app, person.email)

    def broken(*args, **kwargs):
        raise HsmUnavailable("the HSM went away")

    browser = browser_like_client(app)
    assert browser.get(path_of(link)).status_code == 302
    browser.post("/sertifikat/reset-passphrase/swafoto", headers=HX, content_type="multipart/form-data",
                 data={"selfie": (io.BytesIO(face_photos["obama2"]), "s.jpg")})
    monkeypatch.setattr(signer_keys, "generate", broken)
    failed = browser.post("/sertifikat/reset-passphrase", headers=HX,
                          data={"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"})
    assert failed.status_code == 409 and "gagal" in text(failed)
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.ISSUE
        assert len(after_issuance.history(db.session.get(Account, person.id))) == 1
        token = db.session.execute(select(LinkToken).where(LinkToken.account_id == person.id,
                                                           LinkToken.purpose == after_issuance.PASSPHRASE_RESET)).scalar_one()
        assert token.used_at is None
    monkeypatch.undo()
    retried = browser.post("/sertifikat/reset-passphrase", headers=HX,
                           data={"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE, "agreement": "setuju"})
    assert retried.status_code == 200 and 'id="certificate-status">ISSUE' in text(retried)


def test_subscriber_revokes_with_a_reason_after_confirming(app, subscriber_with_certificate):
    person = subscriber_with_certificate
    client = signed_in_client(app, person.user_id)
    assert 'value="key_compromise"' in text(client.get("/sertifikat/cabut"))
    assert client.post("/sertifikat/cabut", data={"reason": "ca_compromise"}).status_code == 422
    asked = client.post("/sertifikat/cabut", headers=HX, data={"reason": "key_compromise"})
    assert asked.status_code == 200 and 'id="confirm-revoke"' in text(asked)
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.ISSUE

    done = client.post("/sertifikat/cabut", headers=HX, data={"reason": "key_compromise", "confirm": "ya"})
    assert done.status_code == 200 and 'id="certificate-status">REVOKE' in text(done)
    with app.app_context():
        row = certificate(app, person.certificate_id)
        assert row.status == CertificateStatus.REVOKE and row.revocation_reason == "key_compromise"
        state = keys.cert_state(row.serial_int)
        assert isinstance(state, revocation.Revoked) and state.reason == "key_compromise"
        assert row.serial_int in crl_serials()
        assert outbox_to(person.email, "dicabut")
        crl_number = keys.latest_crl("issuing").number
    with pytest.raises(SigningRefused):
        sign_one(app, person.id, person.passphrase)

    again = client.post("/sertifikat/cabut", data={"reason": "key_compromise", "confirm": "ya"})
    assert again.status_code == 409 and "tidak diizinkan" in text(again) and "REVOKE" in text(again)
    with app.app_context():
        assert keys.latest_crl("issuing").number == crl_number
    overview = text(client.get("/sertifikat"))
    assert "keyCompromise" in overview and "Ajukan penerbitan ulang" in overview and "Ubah passphrase" not in overview


def test_verifier_revokes_within_their_agency_only(app, subscriber_with_certificate, make_subscriber_with_certificate):
    person = subscriber_with_certificate
    other = make_subscriber_with_certificate()
    verifier = signed_in_client(app, make_verifier(app, person.agency_id))
    assert verifier.post(f"/verifikator/akun/{other.id}/sertifikat/cabut", headers=HX,
                         data={"reason": "unspecified", "confirm": "ya"}).status_code == 404
    assert verifier.post(f"/verifikator/akun/{other.id}/sertifikat/reset", headers=HX).status_code == 404
    unconfirmed = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/cabut", headers=HX, data={"reason": "unspecified"})
    assert unconfirmed.status_code == 422 and "konfirmasi" in text(unconfirmed)
    no_reason = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/cabut", headers=HX, data={"confirm": "ya"})
    assert no_reason.status_code == 422 and "alasan" in text(no_reason)
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.ISSUE
        assert certificate(app, other.certificate_id).status == CertificateStatus.ISSUE

    done = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/cabut", headers=HX,
                         data={"reason": "affiliation_changed", "confirm": "ya"})
    assert done.status_code == 200 and 'id="verifier-certificate-status">REVOKE' in text(done)
    assert 'id="send-renewal"' in text(done) and 'id="revoke"' not in text(done)
    refused = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/reset", headers=HX)
    assert refused.status_code == 409 and "REVOKE" in text(refused)


def test_renewal_after_a_move_phone_otp_then_a_new_set_passphrase_link(app, instance_dir, subscriber_with_certificate,
                                                                       smtp_server, whatsapp_gateway, face_photos):
    person = subscriber_with_certificate
    give_registry_photo(app, instance_dir, person.id, face_photos["obama"])
    subscriber = signed_in_client(app, person.user_id)
    verifier = signed_in_client(app, make_verifier(app, person.agency_id))

    early = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/terbitkan-ulang", headers=HX)
    assert early.status_code == 409 and "ISSUE" in text(early)
    assert subscriber.post("/sertifikat/terbitkan-ulang").status_code == 409
    with app.app_context():
        assert len(after_issuance.history(db.session.get(Account, person.id))) == 1
        keys.revoke(certificate(app, person.certificate_id), "affiliation_changed", SYSTEM)
        db.session.commit()

    page = text(subscriber.get("/sertifikat/terbitkan-ulang"))
    assert 'id="phone-check"' in page and "affiliationChanged" in page
    unverified = subscriber.post("/sertifikat/terbitkan-ulang", headers=HX)
    assert unverified.status_code == 422 and "OTP" in text(unverified)
    phone_local = "0813" + f"{person.id:08d}"[-8:]
    sent = subscriber.post("/sertifikat/telepon/kirim", headers=HX, data={"phone": phone_local, "next": "renewal"})
    assert sent.status_code == 200 and "Kode 6 digit" in text(sent)
    code = re.search(r"\b(\d{6})\b", whatsapp_gateway.wait_for("+62" + phone_local[1:])["message"]).group(1)
    wrong = subscriber.post("/sertifikat/telepon/verifikasi", headers=HX, data={"code": "000000" if code != "000000" else "111111",
                                                                                "next": "renewal"})
    assert wrong.status_code == 422
    verified = subscriber.post("/sertifikat/telepon/verifikasi", headers=HX, data={"code": code, "next": "renewal"})
    assert 'id="request-renewal"' in text(verified)
    asked = subscriber.post("/sertifikat/terbitkan-ulang", headers=HX)
    assert asked.status_code == 200 and 'id="renewal-sent"' in text(asked)

    queue = text(verifier.get("/verifikator/?status=RENEWAL"))
    assert f"/verifikator/akun/{person.id}" in queue
    detail = text(verifier.get(f"/verifikator/akun/{person.id}"))
    assert 'id="renewal-request"' in detail and 'id="send-renewal"' in detail
    sent = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/terbitkan-ulang", headers=HX)
    assert sent.status_code == 200 and 'id="verifier-certificate-status">NEW' in text(sent)
    twice = verifier.post(f"/verifikator/akun/{person.id}/sertifikat/terbitkan-ulang", headers=HX)
    assert twice.status_code == 409 and "NEW" in text(twice)
    with app.app_context():
        account = db.session.get(Account, person.id)
        assert after_issuance.latest(account).status == CertificateStatus.NEW
        assert db.session.execute(select(RenewalRequest).where(RenewalRequest.account_id == person.id)).scalar_one().handled_at
    assert f"/verifikator/akun/{person.id}" not in text(verifier.get("/verifikator/?status=RENEWAL"))

    deliver(app)
    link = smtp_server.wait_for(person.email, subject="Penerbitan").link(r"/terbitkan/")
    phone = browser_like_client(app)
    assert phone.get(path_of(link)).status_code == 302
    phone.post("/terbitkan/swafoto", headers=HX, content_type="multipart/form-data",
               data={"selfie": (io.BytesIO(face_photos["obama2"]), "s.jpg")})
    issued = phone.post("/terbitkan", headers=HX, data={"passphrase": NEW_PASSPHRASE, "confirmation": NEW_PASSPHRASE,
                                                        "agreement": "setuju"})
    assert issued.status_code == 200 and 'id="certificate-status">ISSUE' in text(issued)
    sign_one(app, person.id, NEW_PASSPHRASE)


def test_sweep_with_a_moved_clock_reminds_once_each_then_expires(app, runner, subscriber_with_certificate):
    person = subscriber_with_certificate
    start = utcnow()
    with app.app_context():
        row = certificate(app, person.certificate_id)
        row.not_after = start + timedelta(days=40)
        db.session.commit()

    def sweep_at(days: float) -> None:
        with app.app_context():
            after_issuance.sweep(now=start + timedelta(days=days))
            db.session.commit()

    def reminders() -> list[int]:
        with app.app_context():
            return sorted(db.session.execute(select(ExpiryReminder.days_before)
                                             .where(ExpiryReminder.certificate_id == person.certificate_id)).scalars())

    def mails(subject: str) -> int:
        with app.app_context():
            return len(outbox_to(person.email, subject))

    sweep_at(5)
    assert reminders() == [] and mails("segera berakhir") == 0
    sweep_at(11)  # 29 days left
    sweep_at(12)
    assert reminders() == [30] and mails("segera berakhir") == 1
    sweep_at(34)  # 6 days left
    assert reminders() == [7, 30]
    sweep_at(39.5)
    sweep_at(39.6)
    assert reminders() == [1, 7, 30] and mails("segera berakhir") == 3
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.ISSUE
    sweep_at(40.5)
    with app.app_context():
        assert certificate(app, person.certificate_id).status == CertificateStatus.EXPIRED
        assert mails("kedaluwarsa") == 1
    sweep_at(41)
    assert mails("kedaluwarsa") == 1 and mails("segera berakhir") == 3
    with pytest.raises(SigningRefused):
        sign_one(app, person.id, person.passphrase)
    overview = text(signed_in_client(app, person.user_id).get("/sertifikat"))
    assert 'id="certificate-status">EXPIRED' in overview and "Ajukan penerbitan ulang" in overview
    _name, headers = make_client(app, [person.agency_id])
    status = app.test_client().post("/api/v2/user/check/status", json={"email": person.email}, headers=headers)
    assert status.status_code == 200 and status.get_json()["status"] == "EXPIRED"
    signed = app.test_client().post("/api/v2/sign/pdf", headers=headers, json={
        "email": person.email, "passphrase": person.passphrase, "file": [b64(make_pdf())],
        "signatureProperties": [{"tampilan": "INVISIBLE"}]})
    assert signed.status_code == 403 and signed.get_json()["status_code"] == 2031

    result = runner.invoke(args=["certificates", "sweep"])
    assert result.exit_code == 0 and "sweep: expired" in result.output


def test_sweep_re_signs_a_stale_crl(app, monkeypatch):
    with app.app_context():
        before = keys.latest_crl("issuing").number
        monkeypatch.setattr(keys, "crl_is_stale", lambda row, now=None: True)
        result = after_issuance.sweep()
        db.session.commit()
        assert set(result.crls) == {"root", "issuing"}
        assert keys.latest_crl("issuing").number == before + 1
        assert db.session.execute(select(Crl).where(Crl.issuer == "issuing", Crl.number == before + 1)).scalar_one()


def test_sweep_loop_commits_each_pass_and_stops_when_asked(app, monkeypatch):
    stop = threading.Event()
    passes = []

    def counted(now=None):
        passes.append(now)
        if len(passes) == 2:
            stop.set()
        return after_issuance.SweepResult()

    monkeypatch.setattr(after_issuance, "sweep", counted)
    with app.app_context():
        sweep_loop(0.05, stop)
    assert len(passes) == 2
