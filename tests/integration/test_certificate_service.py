"""Issuing, replacing (passphrase reset) and revoking certificates through the app's PKI service."""

from __future__ import annotations

import pytest
from asn1crypto import crl, x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import select, update

from app import lifecycle
from app.domain import keys
from app.domain.key_errors import PassphraseDoesNotOpen
from app.extensions import db
from app.lifecycle import CertificateStatus
from app.models import AuditEvent, Certificate
from app.platform.audit import Actor
from signer import keys as signer_keys
from signer.errors import WrongPassphrase
from tests import key_blobs


def crl_serials(issuer: str) -> set[int]:
    """Return the serial numbers listed on the newest CRL of ``issuer``."""
    current = crl.CertificateList.load(keys.latest_crl(issuer).der)
    return {entry["user_certificate"].native for entry in current["tbs_cert_list"]["revoked_certificates"]}


def test_reset_makes_a_new_key_and_revokes_the_old_as_superseded(issue_certificate, app_ctx):
    old = issue_certificate("Hendra Gunawan", passphrase="Lupa#2024x")
    new = keys.replace_certificate(old, "Baru#2025y", Actor("test"))
    db.session.commit()

    assert old.status == CertificateStatus.REVOKE and old.revocation_reason == "superseded"
    assert new.status == CertificateStatus.ISSUE and new.serial != old.serial
    old_cert, new_cert = x509.Certificate.load(old.der), x509.Certificate.load(new.der)
    assert old_cert.subject == new_cert.subject
    assert old_cert.public_key.dump() != new_cert.public_key.dump()
    assert old.serial_int in crl_serials("issuing")
    assert new.serial_int not in crl_serials("issuing")
    with signer_keys.unlock(keys.context().hsm, new.key_blob, "Baru#2025y") as key:
        key.sign(b"after the reset")
    with pytest.raises(WrongPassphrase):
        signer_keys.open_sealed(keys.context().hsm, new.key_blob, "Lupa#2024x")


def test_revoking_twice_is_refused_without_change(issue_certificate, app_ctx):
    row = issue_certificate("Sri Wahyuni")
    keys.revoke(row, "cessation_of_operation", Actor("test"))
    db.session.commit()
    number = keys.latest_crl("issuing").number
    with pytest.raises(lifecycle.Forbidden):
        keys.revoke(row, "key_compromise", Actor("test"))
    db.session.rollback()
    assert row.revocation_reason == "cessation_of_operation"
    assert keys.latest_crl("issuing").number == number


def test_unknown_reason_is_refused(issue_certificate, app_ctx):
    row = issue_certificate("Yusuf Maulana")
    with pytest.raises(ValueError):
        keys.revoke(row, "because", Actor("test"))
    assert row.status == CertificateStatus.ISSUE


def test_issue_and_revoke_are_audited(issue_certificate, app_ctx):
    row = issue_certificate("Wulan Sari")
    keys.revoke(row, "affiliation_changed", Actor("verifier-7", ip="10.1.2.3"))
    db.session.commit()
    events = db.session.execute(
        select(AuditEvent).where(AuditEvent.subject_type == "certificate", AuditEvent.subject_id == str(row.id))
        .order_by(AuditEvent.id)
    ).scalars().all()
    assert [event.action for event in events] == ["certificate.issue", "certificate.revoke"]
    assert events[1].actor == "verifier-7" and events[1].ip == "10.1.2.3" and events[1].reason == "affiliation_changed"
    assert "Rahasia" not in "".join(event.details for event in events)


def _as_version_1(row, passphrase: str) -> bytes:
    """Store the row's key re-sealed the version-1 way, as a database from before version 2 holds it."""
    ctx = keys.context()
    old = key_blobs.v1_seal(signer_keys.open_sealed(ctx.hsm, row.key_blob, passphrase), passphrase, ctx.kdf)
    row.key_blob = old
    db.session.commit()
    return old


def test_a_version_1_key_is_upgraded_by_its_next_successful_unlock(issue_certificate, app_ctx):
    row = issue_certificate("Rina Kartika", passphrase="Lama#2024x")
    old = _as_version_1(row, "Lama#2024x")
    with pytest.raises(PassphraseDoesNotOpen), keys.unlocked(row, "salah"):
        pass
    db.session.rollback()
    assert row.key_blob == old

    with keys.unlocked(row, "Lama#2024x"):
        pass
    db.session.commit()
    db.session.expire_all()
    assert key_blobs.version(row.key_blob) == 2
    with pytest.raises(InvalidTag):
        key_blobs.offline_open(row.key_blob, "Lama#2024x")
    public = x509.Certificate.load(row.der).public_key
    with signer_keys.unlock(keys.context().hsm, row.key_blob, "Lama#2024x") as key:
        signature = key.sign(b"sesudah")
    load_der_public_key(public.dump()).verify(signature, b"sesudah", padding.PKCS1v15(), hashes.SHA256())


def test_a_version_1_key_is_upgraded_by_a_passphrase_check(issue_certificate, app_ctx):
    row = issue_certificate("Dedi Kurniawan", passphrase="Lama#2024x")
    _as_version_1(row, "Lama#2024x")
    keys.check_passphrase(row, "Lama#2024x")
    db.session.commit()
    db.session.expire_all()
    assert key_blobs.version(row.key_blob) == 2
    keys.check_passphrase(row, "Lama#2024x")


def test_an_upgrade_does_not_undo_a_passphrase_change_made_meanwhile(issue_certificate, app_ctx):
    row = issue_certificate("Wulan Sari", passphrase="Lama#2024x")
    _as_version_1(row, "Lama#2024x")
    assert key_blobs.version(row.key_blob) == 1  # loaded: this request still sees the version-1 blob
    changed = signer_keys.change_passphrase(keys.context().hsm, row.key_blob, "Lama#2024x", "Baru#2025y",
                                            keys.context().kdf)
    with db.engine.begin() as other:  # another request changes the passphrase and commits first
        other.execute(update(Certificate).where(Certificate.id == row.id).values(key_blob=changed))
    keys.check_passphrase(row, "Lama#2024x")
    db.session.commit()
    db.session.expire_all()
    assert row.key_blob == changed
