"""Fixtures for the PDF tests: the session's SoftHSM token and CA hierarchy, and subscribers issued directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from app.domain import keys as service
from signer import ca, keys, revocation
from signer.config import KdfParams, PkiConfig
from signer.hsm import Hsm
from signer.pdf import RevocationData
from signer.tsa import InProcessTimeStamper, TimeStampAuthority
from tests import key_pool

PASSPHRASE = "Rahasia#123"
FAST_KDF = KdfParams(memory_kib=1024, time_cost=1)


@dataclass(frozen=True)
class Subscriber:
    """A subscriber's sealed key and certificate (DER)."""

    blob: bytes
    cert: bytes


@dataclass
class Pki:
    """Everything a PDF test needs to sign and validate."""

    hsm: Hsm
    pki: PkiConfig
    hierarchy: ca.Hierarchy
    subscriber: Subscriber
    passphrase: str = PASSPHRASE

    @property
    def chain(self) -> tuple[bytes, bytes]:
        """Return the issuing and root certificates (DER)."""
        return (self.hierarchy.issuing, self.hierarchy.root)

    def timestamper(self) -> InProcessTimeStamper:
        """Return a fresh in-process time stamper (one per signing call)."""
        return InProcessTimeStamper(TimeStampAuthority(self.hsm, self.hierarchy, self.pki))

    def issue(self, common_name: str) -> Subscriber:
        """Make a key in the HSM and issue a subscriber certificate for it."""
        wrapped = keys.generate(self.hsm, PASSPHRASE, FAST_KDF)
        cert = ca.issue_subscriber(
            self.hsm, self.pki, self.hierarchy, wrapped.public_key,
            {"country_name": "ID", "organization_name": "Pemerintah Kota Contoh", "common_name": common_name},
        )
        return Subscriber(blob=wrapped.blob, cert=cert.dump())

    def revocation(self, revoked: tuple[revocation.Revoked, ...] = ()) -> RevocationData:
        """Return fresh CRLs of both CAs (``revoked`` on the issuing CA's) and OCSP responses for the subscriber and TSA."""
        now = ca.utcnow()
        crls = (
            revocation.build_crl(self.hsm, self.hierarchy, ca.ROOT, [], 1, now, now + timedelta(days=1)),
            revocation.build_crl(self.hsm, self.hierarchy, ca.ISSUING, list(revoked), 1, now, now + timedelta(days=1)),
        )
        ocsps = tuple(
            revocation.ocsp_response_for(self.hsm, self.hierarchy, der, "good")
            for der in (self.subscriber.cert, self.hierarchy.tsa)
        )
        return RevocationData(crls=crls, ocsps=ocsps)


@pytest.fixture(autouse=True)
def real_key_generation():
    """Test the real ``signer.keys.generate``, with no key made in the background (these tests fork and finalise)."""
    with key_pool.paused():
        yield


@pytest.fixture(scope="session")
def pdf_pki(app) -> Pki:
    """Reuse the session's token and CA hierarchy (from the app fixture) and issue one subscriber."""
    with app.app_context():
        context = service.context()
        setup = Pki(hsm=context.hsm, pki=context.pki, hierarchy=context.hierarchy(), subscriber=Subscriber(b"", b""))
    setup.subscriber = setup.issue("Dr. Ir. Ñoman Séptiadi Ğ, M.Kom.")
    return setup
