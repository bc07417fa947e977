"""People for the workflow tests: an agency, subscribers holding ISSUE certificates, a signed-in test client.

Signing in injects the Flask-Login session (the login pages are tested elsewhere).
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from flask import Flask

from app.domain import keys
from app.extensions import db
from app.models import Agency
from app.platform import notifications
from signer.validate import validate_pdf
from tests.subscribers import Subscriber, create_subscriber, signed_in_client

PASSPHRASE = "Alur#Rahasia2026"


Person = Subscriber


def make_agency(app: Flask, prefix: str = "W") -> int:
    """Create an agency and return its id."""
    with app.app_context():
        code = prefix + secrets.token_hex(4).upper()
        agency = Agency(code=code, name=f"Dinas {code}", email_domain=f"{code.lower()}.go.id")
        db.session.add(agency)
        db.session.commit()
        return agency.id


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


def make_nss_db(app: Flask, folder: Path) -> str:
    """Create an NSS database (``sql:DIR``) under ``folder`` that trusts Paraf's root CA; return its name for pdfsig."""
    nss = folder / "nss"
    nss.mkdir()
    with app.app_context():
        (folder / "root.der").write_bytes(keys.context().hierarchy().root)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{nss}", "-n", "Paraf Root CA", "-t", "CT,C,C", "-i", str(folder / "root.der")],
        check=True, capture_output=True,
    )
    return f"sql:{nss}"


def check_final_pdf(app: Flask, data: bytes, names: list[str], nss: str, folder: Path) -> None:
    """Assert that pdfsig (NSS, OCSP from the live server) and pyHanko find every signature valid and trusted,
    and that each later signature only filled a form field that was already there."""
    path = folder / "final.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(path)], capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert out.count("Signature is Valid.") == len(names), out
    assert out.count("Certificate is Trusted.") == len(names), out
    with app.app_context():
        hierarchy = keys.context().hierarchy()
        crls = [keys.latest_crl(issuer).der for issuer in keys.CRL_ISSUERS]
        reports = validate_pdf(data, hierarchy.root, [hierarchy.issuing], crls=crls)
    assert [r.signer_name for r in reports] == names
    for report in reports:
        assert report.intact and report.valid and report.trusted, report.summary
        assert not report.modified, report.summary
        assert report.ok, report.summary
    assert [r.modification_level for r in reports[:-1]] == ["form_filling"] * (len(names) - 1)
    assert reports[-1].modification_level in ("none", "lta_updates")
