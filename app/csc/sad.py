"""CSC access tokens and signature activation data (SAD), held by the client and never stored by Paraf.

An access token is an itsdangerous-signed ``(account id, session version)`` that expires after
``CSC_TOKEN_MINUTES``; changing the password (bumping the session version) ends it. A SAD is AES-256-GCM
sealed under a key derived from ``SECRET_KEY`` (``platform.sealing``) and carries the credential, its
KEK-wrapped key (the passphrase opened the outer layer when the SAD was issued; what is left unwraps only in
the HSM, so neither the passphrase nor anything derived from it travels), the SHA-256 of the key blob it came
from (a passphrase change since ends the SAD), the hashes it may sign, how many, its expiry
(``CSC_SAD_MINUTES``) and a random id. Only the SHA-256 of the id is stored, when the SAD is spent, so each
SAD signs once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import LinkToken
from ..models.types import utcnow
from ..platform import sealing

SAD_INFO = b"paraf-csc-sad-v1"
SPENT = "csc-sad"


@dataclass(frozen=True)
class Activation:
    """What an opened SAD allows."""

    sad_id: str
    account_id: int
    credential_id: str
    wrapped: bytes
    key_blob_sha256: str
    hashes: frozenset[str]
    count: int
    expires: float

    def issued_for(self, key_blob: bytes) -> bool:
        """Return whether the key blob is still the one the SAD was issued from (no passphrase change since)."""
        return hmac.compare_digest(self.key_blob_sha256, hashlib.sha256(key_blob).hexdigest())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="paraf-csc-access")


def issue_token(account_id: int, session_version: int) -> tuple[str, int]:
    """Return a bearer access token and its lifetime in seconds."""
    return _serializer().dumps([account_id, session_version]), int(current_app.config["CSC_TOKEN_MINUTES"]) * 60


def read_token(token: str) -> tuple[int, int] | None:
    """Return (account id, session version) of a valid, unexpired token, or None."""
    try:
        account_id, version = _serializer().loads(token, max_age=int(current_app.config["CSC_TOKEN_MINUTES"]) * 60)
        return int(account_id), int(version)
    except (BadSignature, ValueError, TypeError):
        return None


def issue_sad(account_id: int, credential_id: str, wrapped: bytes, key_blob: bytes, hashes: list[str],
              count: int) -> tuple[str, int]:
    """Return a sealed SAD carrying the KEK-wrapped key for these hashes, and its lifetime in seconds."""
    lifetime = int(current_app.config["CSC_SAD_MINUTES"]) * 60
    payload = {"i": secrets.token_hex(16), "a": account_id, "c": credential_id,
               "w": base64.b64encode(wrapped).decode("ascii"), "k": hashlib.sha256(key_blob).hexdigest(),
               "h": sorted(set(hashes)), "n": count, "e": time.time() + lifetime}
    blob = sealing.seal(json.dumps(payload).encode("utf-8"), SAD_INFO, str(account_id).encode())
    return base64.urlsafe_b64encode(blob).decode("ascii"), lifetime


def open_sad(sad: str, account_id: int) -> Activation | None:
    """Return what an unexpired SAD of this account allows, or None."""
    try:
        blob = base64.urlsafe_b64decode(sad.encode("ascii"))
        payload = json.loads(sealing.unseal(blob, SAD_INFO, str(account_id).encode()))
        activation = Activation(payload["i"], int(payload["a"]), str(payload["c"]), base64.b64decode(payload["w"]),
                                str(payload["k"]), frozenset(payload["h"]), int(payload["n"]), float(payload["e"]))
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    if activation.account_id != account_id or activation.expires < time.time():
        return None
    return activation


def spend(activation: Activation) -> bool:
    """Record the SAD as used (by the hash of its id); return False if it was used before."""
    row = LinkToken(account_id=activation.account_id, purpose=SPENT,
                    token_hash=hashlib.sha256(activation.sad_id.encode()).hexdigest(),
                    expires_at=datetime.fromtimestamp(activation.expires, UTC), used_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True
