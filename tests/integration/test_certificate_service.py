"""Issuing, replacing (passphrase reset) and revoking certificates through the app's PKI service."""

from __future__ import annotations

import pytest
from asn1crypto import crl, x509
from sqlalchemy import select

from app import lifecycle
from app.domain import keys
from app.extensions import db
from app.lifecycle import CertificateStatus
from app.models import AuditEvent
from app.platform.audit import Actor
from signer import keys as signer_keys
from signer.errors import WrongPassphrase


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
        signer_keys.open_sealed(new.key_blob, "Lupa#2024x")


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
