"""Signed PDFs kept for the API client that signed them (eSign v1 download), then deleted by the sweep.

The :class:`~app.models.SignedDocument` record stays (it is what the stamp's QR code shows); only the file goes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import SignedDocument
from ...models.types import utcnow


def keep(document: SignedDocument, client_id: int) -> None:
    """Keep a signed document for the client that signed it, for ``API_V1_RETENTION_HOURS``."""
    document.api_client_id = client_id
    document.kept_until = utcnow() + timedelta(hours=int(current_app.config["API_V1_RETENTION_HOURS"]))


def kept(public_id: str, client_id: int) -> tuple[SignedDocument, bytes] | None:
    """Return a document kept for this client with its PDF; None if unknown, another client's, past its time or gone."""
    document = db.session.execute(
        select(SignedDocument).where(SignedDocument.public_id == public_id, SignedDocument.api_client_id == client_id)
    ).scalar_one_or_none()
    if document is None or document.kept_until is None or document.kept_until <= utcnow():
        return None
    path = Path(current_app.instance_path) / document.stored_path
    return (document, path.read_bytes()) if path.is_file() else None


def sweep(now: datetime | None = None) -> int:
    """Delete the files of kept documents past their time and end their keeping; return how many."""
    expired = db.session.execute(
        select(SignedDocument).where(SignedDocument.kept_until.is_not(None), SignedDocument.kept_until <= (now or utcnow()))
    ).scalars().all()
    for document in expired:
        (Path(current_app.instance_path) / document.stored_path).unlink(missing_ok=True)
        document.kept_until = None
    db.session.flush()
    return len(expired)
