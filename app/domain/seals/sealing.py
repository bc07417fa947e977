"""Sealing PDFs with an agency's seal: one sealing code, one opening of the key, every file or none."""

from __future__ import annotations

import hashlib

from flask_babel import gettext

from ...extensions import db
from ...instance_setup import write_private
from ...models import ApiClient, Seal, SealedDocument
from ...models.signing import public_id
from ...platform.audit import Actor, record
from ...urls import public_url
from .. import keys
from ..key_errors import DocumentUnusable, KeyServiceUnavailable, PassphraseDoesNotOpen, StampUnusable
from ..signing import signatures
from ..signing.signatures import Details, Placement, Upload
from . import activation as activations


class SealingFailed(activations.SealRefused):
    """The HSM or the stamp failed; nothing was sealed."""

    status = 503
    key = "signing_failed"


def seal_documents(seal: Seal, client: ApiClient, code: object, uploads: list[Upload], actor: Actor,
                   level: str = "B-LT") -> list[tuple[SealedDocument, bytes]]:
    """Seal every upload with the seal's key, opened by the sealing code (used up); return each record and its bytes.

    :raises SealRefused: the seal or the code refuses (a wrong code is counted: the caller commits then).
    :raises DocumentRefused: a file cannot be sealed; nothing is.
    """
    if not uploads:
        raise activations.SealRefused(gettext("Pilih minimal satu berkas PDF."))
    for upload in uploads:
        signatures.check_document(upload)
    activation, secret = activations.use_sealing_code(seal, client, code, len(uploads), actor)
    certificate = seal.certificate
    results = []
    try:
        with keys.seal_unlocked(certificate, secret) as sign:
            for upload in uploads:
                where, info = upload.placement or Placement(), upload.details or Details()
                record_id = public_id()
                options = {"level": level, "reason": info.reason or None, "location": info.location or None,
                           "contact_info": info.contact_info or None}
                if where.box:
                    qr_url = public_url("verify.record", public_id=record_id)
                    options.update(page=where.page, box=where.box,
                                   **keys.seal_stamp(seal.agency.name, seal.name, qr_url, info.image))
                try:
                    signed = sign(upload.data, **options)
                except DocumentUnusable as exc:
                    raise signatures.refused(upload.filename, exc) from exc
                results.append((upload, where, info, record_id, signed))
    except (KeyServiceUnavailable, StampUnusable, PassphraseDoesNotOpen) as exc:
        raise SealingFailed(gettext("Penyegelan gagal di server. Coba lagi; bila berulang, hubungi admin.")) from exc
    records = []
    for upload, where, info, record_id, signed in results:
        write_private(signatures.documents_folder() / f"{record_id}.pdf", signed)
        document = SealedDocument(
            public_id=record_id, seal_id=seal.id, certificate_id=certificate.id, activation_id=activation.id,
            client_id=client.id, custodian_id=activation.custodian_id, filename=upload.filename,
            original_sha256=hashlib.sha256(upload.data).hexdigest(), signed_sha256=hashlib.sha256(signed).hexdigest(),
            stored_path=f"documents/{record_id}.pdf", pades_level=level, visible=bool(where.box),
            page=where.page if where.box else None, reason=info.reason, location=info.location,
        )
        db.session.add(document)
        records.append((document, signed))
    db.session.flush()
    for document, _signed in records:
        record(actor, "document.seal", "document", document.public_id,
               details={"sha256": document.signed_sha256, "seal": seal.id_subscriber, "client": client.name,
                        "custodian": activation.custodian_id, "activation": activation.id,
                        "certificate": certificate.serial})
    return records
