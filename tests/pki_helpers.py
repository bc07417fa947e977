"""Independent checkers of what the PKI makes, for tests: HTTP fetches, openssl, poppler's pdfsig (NSS) and pyHanko."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from flask import Flask

from app.domain import keys
from signer.validate import validate_pdf


def fetch(url: str, data: bytes | None = None, content_type: str | None = None) -> bytes:
    """Return the body of a GET (or POST when ``data`` is given)."""
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if content_type else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def openssl(*args: str, cwd: Path) -> str:
    """Run openssl and return stdout and stderr together; fail the test on a non-zero exit."""
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


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


def pdfsig(nss: str, path: Path) -> str:
    """Run pdfsig and return what it prints."""
    result = subprocess.run(["pdfsig", "-nssdir", nss, str(path)], capture_output=True, text=True, timeout=120, check=False)
    return result.stdout + result.stderr


def validate(data: bytes):
    """Validate with pyHanko (in an app context), trusting Paraf's root, with current revocation data of both CAs."""
    hierarchy = keys.context().hierarchy()
    crls = [keys.latest_crl(issuer).der for issuer in keys.CRL_ISSUERS]
    return validate_pdf(data, hierarchy.root, [hierarchy.issuing], crls=crls)
