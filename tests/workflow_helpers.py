"""Workflow tests' helpers: subscribers holding ISSUE certificates, signed-in test clients, the final PDF checked.

Signing in injects the Flask-Login session (the login pages are tested elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from app.extensions import db
from app.platform import notifications
from tests.pki_helpers import pdfsig, validate
from tests.subscribers import Subscriber, create_subscriber, signed_in_client

PASSPHRASE = "Alur#Rahasia2026"


Person = Subscriber


def make_subscriber(app: Flask, agency_id: int, name: str, certificate: bool = True, passphrase: str = PASSPHRASE) -> Person:
    """Create a verified subscriber of the agency, with an ISSUE certificate unless ``certificate`` is False."""
    return create_subscriber(app, name=name, position="Analis Kebijakan", passphrase=passphrase, agency_id=agency_id,
                             certificate=certificate)


def signed_in(app: Flask, person: Person):
    """Return a test client signed in as ``person`` that sends the CSRF token with every request."""
    return signed_in_client(app, person.user_id)


def deliver(app: Flask) -> None:
    """Send what the outbox holds, as `flask outbox work` does."""
    with app.app_context():
        notifications.work()
        db.session.commit()


def check_final_pdf(app: Flask, data: bytes, names: list[str], nss: str, folder: Path) -> None:
    """Assert that pdfsig (NSS, OCSP from the live server) and pyHanko find every signature valid and trusted,
    and that each later signature only filled a form field that was already there."""
    path = folder / "final.pdf"
    path.write_bytes(data)
    out = pdfsig(nss, path)
    assert out.count("Signature is Valid.") == len(names), out
    assert out.count("Certificate is Trusted.") == len(names), out
    with app.app_context():
        reports = validate(data)
    assert [r.signer_name for r in reports] == names
    for report in reports:
        assert report.intact and report.valid and report.trusted, report.findings
        assert not report.modified, report.findings
        assert report.ok, report.findings
    assert [r.modification_level for r in reports[:-1]] == ["form_filling"] * (len(names) - 1)
    assert reports[-1].modification_level in ("none", "lta_updates")
