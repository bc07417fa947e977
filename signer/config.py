"""Frozen configuration values for the signing core."""

from __future__ import annotations

from dataclasses import dataclass, field

# A 2.25 (UUID-based, ITU-T X.667) arc: usable by anyone without registration.
DEFAULT_POLICY_OID = "2.25.221190409727405467493462722779624374071"
DEFAULT_TSA_POLICY_OID = DEFAULT_POLICY_OID + ".2"


@dataclass(frozen=True)
class HsmConfig:
    """Where the PKCS#11 module and token are, and how to log in."""

    module: str
    token_label: str
    user_pin: str = field(repr=False)


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost for deriving the outer key from a passphrase."""

    memory_kib: int = 19 * 1024
    time_cost: int = 2
    parallelism: int = 1


@dataclass(frozen=True)
class PkiConfig:
    """Names, URLs and lifetimes used when building certificates, CRLs and tokens.

    ``organization`` and ``country`` go into the CA and service certificates' names; the ``*_name`` values
    are their common names.
    """

    base_url: str
    organization: str
    country: str
    root_name: str = "Root CA"
    issuing_name: str = "Issuing CA"
    tsa_name: str = "Time-Stamp Authority"
    policy_oid: str = DEFAULT_POLICY_OID
    tsa_policy_oid: str = DEFAULT_TSA_POLICY_OID
    ca_key_bits: int = 3072
    subscriber_key_bits: int = 2048
    subscriber_validity_days: int = 730
    crl_validity_hours: int = 24
    ocsp_validity_minutes: int = 60

    def url(self, path: str) -> str:
        """Return the public URL of a ``/pki/...`` path."""
        return self.base_url.rstrip("/") + path
