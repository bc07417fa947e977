"""Helpers for the certificate-lifecycle tests: a verifier of an agency, a registry photo, the outbox delivered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Flask

from app.extensions import db
from app.models import Account, PopulationRecord, Role
from app.models.types import utcnow
from app.platform import notifications
from tests.subscribers import create_staff


def make_verifier(app: Flask, agency_id: int) -> str:
    """Create a verifier of ``agency_id`` and return their session id (``account.get_id()``)."""
    return create_staff(app, Role.VERIFIER, agency_id).user_id


def give_registry_photo(app: Flask, instance_dir: Path, account_id: int, photo: bytes) -> None:
    """Put the subscriber's NIK in the population registry with ``photo``, for the selfie check."""
    with app.app_context():
        account = db.session.get(Account, account_id)
        nik = account.profile.nik
        folder = Path(instance_dir) / "registry" / "photos"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{nik}.jpg").write_bytes(photo)
        db.session.add(PopulationRecord(nik=nik, name=account.name.upper(), birth_date=date(1980, 1, 1), gender="P",
                                        photo_path=f"registry/photos/{nik}.jpg"))
        db.session.commit()


def verify_phone(app: Flask, account_id: int, phone: str) -> None:
    """Mark the subscriber's WhatsApp number as verified (as the activation wizard's OTP step does)."""
    with app.app_context():
        profile = db.session.get(Account, account_id).profile
        profile.phone, profile.phone_verified_at = phone, utcnow()
        db.session.commit()


def deliver(app: Flask) -> None:
    """Send what the outbox holds, as `flask outbox work` does in production."""
    with app.app_context():
        notifications.work()
        db.session.commit()
