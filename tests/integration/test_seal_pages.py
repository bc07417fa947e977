"""Agency electronic seals in the portal: the stamp, the pages of the agency and the central RA, and verification."""

from __future__ import annotations

import base64
import io
import json
import subprocess
from dataclasses import dataclass

import pytest
from asn1crypto import x509
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from app.domain import keys
from app.domain.seals import activation, sealing
from app.domain.signing.signatures import Placement, Upload
from app.extensions import db
from app.lifecycle import SealStatus
from app.models import Account, ApiClient, Certificate, CertificateKind, Role, Seal, SealActivation
from app.platform.audit import Actor
from signer.revocation import Revoked
from tests.api_helpers import make_client
from tests.auth_helpers import send_csrf
from tests.conftest import PASSPHRASE
from tests.pdfs import A4, make_pdf
from tests.seal_helpers import SEAL_NAME, SealCase, code_sent_to, seal_row
from tests.subscribers import (
    AgencyRef,
    Staff,
    Subscriber,
    create_agency,
    create_agency_head,
    create_staff,
    create_subscriber,
    signed_in_client,
)

BOX = (300, 60, 560, 150)
AGENCY = "Dinas Komunikasi dan Informatika Kabupaten Ngada"
SEAL_STATEMENT = ("Dokumen ini telah disegel secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh "
                  "Paraf CA")


def pdf_text(path) -> str:
    """Return the PDF's text with whitespace runs made single spaces."""
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split())


def dark_pixels_in(path, box, tmp_path, dpi: int = 50) -> int:
    """Render page 1 with poppler and count the dark pixels inside a PDF-point box."""
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    scale = dpi / 72
    with Image.open(tmp_path / "page.png") as image:
        crop = image.convert("L").crop((round(box[0] * scale), round((A4[3] - box[3]) * scale),
                                        round(box[2] * scale), round((A4[3] - box[1]) * scale)))
    return sum(crop.histogram()[:128])


def test_the_seal_stamp_shows_agency_seal_date_statement_and_qr(issue_certificate, tmp_path):
    certificate = issue_certificate("Penguji Stempel")
    options = keys.seal_stamp(AGENCY, SEAL_NAME, "https://paraf.example.go.id/verify/3f9c2a")
    [sealed] = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()], level="B-B", page=0, box=BOX, **options)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    text = pdf_text(path)
    assert AGENCY in text and SEAL_NAME in text
    assert SEAL_STATEMENT in text
    assert "Tanggal:" in text and "WIB" in text
    assert "Ditandatangani secara elektronik" not in text  # the subscriber's statement is not used
    assert dark_pixels_in(path, (BOX[0], BOX[1], BOX[0] + 90, BOX[3]), tmp_path) > 300  # the QR code on the left


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


@dataclass(frozen=True)
class Office:
    """An agency with its head, a verifier, an API client, and signed-in portal clients for the head and the verifier."""

    agency: AgencyRef
    head: Subscriber
    verifier: Staff
    client_id: int
    client_name: str
    head_client: FlaskClient
    verifier_client: FlaskClient


def open_office(app, prefix: str) -> Office:
    """Create an agency with its head, a verifier and an API client of its own."""
    agency = create_agency(app, prefix, "Dinas Komunikasi dan Informatika")
    head = create_agency_head(app, agency.id)
    verifier = create_staff(app, Role.VERIFIER, agency.id, name=f"Verifikator {prefix}")
    client_name, _headers = make_client(app, [agency.id])
    with app.app_context():
        client_id = db.session.execute(select(ApiClient.id).where(ApiClient.name == client_name)).scalar_one()
    return Office(agency, head, verifier, client_id, client_name, signed_in_client(app, head.user_id),
                  signed_in_client(app, verifier.user_id))


def seals_of(app, agency_id: int) -> list[Seal]:
    """Return the agency's seals as stored now, detached, with custodians and clients loaded."""
    with app.app_context():
        seals = db.session.execute(select(Seal).where(Seal.agency_id == agency_id).order_by(Seal.id)).scalars().all()
        for seal in seals:
            seal.custodian_ids = {account.id for account in seal.custodians}
            seal.client_ids = {client.id for client in seal.clients}
            seal.serial = seal.certificate.serial if seal.certificate else None
            db.session.expunge(seal)
        return seals


@pytest.fixture()
def ra_client(app):
    """Return a portal client signed in as a central RA operator."""
    return signed_in_client(app, create_staff(app, Role.CENTRAL_RA).user_id)


def test_head_requests_ra_approves_and_the_agency_sees_the_issued_seal(app, ra_client):
    office, elsewhere = open_office(app, "SA"), open_office(app, "SB")
    form = text(office.head_client.get("/segel/"))
    assert "Ajukan segel baru" in form and "Verifikator SA" in form and office.client_name in form
    assert "Verifikator SB" not in form and elsewhere.client_name not in form  # only the agency's own staff and clients

    refused = office.head_client.post("/segel/", data={"name": "", "custodians": [str(office.verifier.id)]})
    assert refused.status_code == 422 and "Nama segel harus 3 sampai 120 karakter." in text(refused)
    assert seals_of(app, office.agency.id) == []
    response = office.head_client.post("/segel/", data={"name": SEAL_NAME, "custodians": [str(office.verifier.id)],
                                                        "clients": [str(office.client_id)]})
    assert response.status_code == 200 and "dikirim ke RA pusat" in text(response)
    [seal] = seals_of(app, office.agency.id)
    assert seal.status == SealStatus.REQUESTED and seal.name == SEAL_NAME
    assert seal.custodian_ids == {office.head.id, office.verifier.id} and seal.client_ids == {office.client_id}

    desk = text(ra_client.get("/segel/ra"))
    assert SEAL_NAME in desk and office.agency.name in desk
    assert office.head_client.get("/segel/ra").status_code == 403
    assert office.head_client.post(f"/segel/ra/{seal.id}/setujui").status_code == 403
    response = ra_client.post(f"/segel/ra/{seal.id}/setujui")
    assert response.status_code == 200 and "disetujui dan diterbitkan" in text(response)
    [seal] = seals_of(app, office.agency.id)
    assert seal.status == SealStatus.ISSUE and seal.serial
    with app.app_context():
        certificate = db.session.get(Seal, seal.id).certificate
        subject = x509.Certificate.load(certificate.der).subject.native
    assert certificate.kind == CertificateKind.SEAL
    assert subject["organization_name"] == office.agency.name and subject["common_name"] == SEAL_NAME

    listing = text(office.head_client.get("/segel/"))
    assert seal.id_subscriber in listing and 'class="badge ISSUE"' in listing
    for portal in (office.head_client, office.verifier_client):
        page = text(portal.get(f"/segel/{seal.id}"))
        assert seal.id_subscriber in page and seal.serial in page and office.client_name in page
        assert "Verifikator SA" in page and office.head.name in page
        assert page.count("<meter ") == 14  # documents sealed per day, the last 14 days
    for outsider in (elsewhere.head_client, elsewhere.verifier_client):
        assert outsider.get(f"/segel/{seal.id}").status_code == 404
    assert elsewhere.head_client.post(f"/segel/{seal.id}/cabut", data={"reason": "key_compromise", "confirm": "ya"}
                                      ).status_code == 404
    assert ra_client.get(f"/segel/{seal.id}").status_code == 403
    assert office.verifier_client.post(f"/segel/{seal.id}/cabut", data={"reason": "key_compromise", "confirm": "ya"}
                                       ).status_code == 403  # only the agency head revokes
    assert "Request a new seal" in text(office.verifier_client.get("/segel/?lang=en"))
    assert seals_of(app, office.agency.id)[0].status == SealStatus.ISSUE


def test_a_verifier_proposes_the_head_confirms_and_the_ra_rejects_with_a_reason(app, ra_client):
    office = open_office(app, "SC")
    response = office.verifier_client.post("/segel/", data={"name": "Segel Sertifikat Pelatihan",
                                                            "clients": [str(office.client_id)]})
    assert response.status_code == 200 and "menunggu konfirmasi pimpinan" in text(response)
    [seal] = seals_of(app, office.agency.id)
    assert seal.status == SealStatus.PROPOSED
    assert "Segel Sertifikat Pelatihan" not in text(ra_client.get("/segel/ra"))  # not yet the RA's
    assert office.verifier_client.post(f"/segel/{seal.id}/konfirmasi").status_code == 403

    page = text(office.head_client.get(f"/segel/{seal.id}"))
    assert "Konfirmasi dan kirim ke RA pusat" in page
    response = office.head_client.post(f"/segel/{seal.id}/konfirmasi")
    assert response.status_code == 200 and "dikirim ke RA pusat" in text(response)
    [seal] = seals_of(app, office.agency.id)
    assert seal.status == SealStatus.REQUESTED and office.head.id in seal.custodian_ids
    assert office.head_client.post(f"/segel/{seal.id}/tolak", data={"reason": "Batal"}).status_code == 409  # the RA's now

    refused = ra_client.post(f"/segel/ra/{seal.id}/tolak", data={"reason": " "})
    assert refused.status_code == 422 and "Tuliskan alasan penolakan." in text(refused)
    response = ra_client.post(f"/segel/ra/{seal.id}/tolak", data={"reason": "Surat permohonan belum dilampirkan"},
                              headers={"HX-Request": "true"})
    assert response.status_code == 200 and text(response).startswith('<div id="seal-requests">')  # the fragment
    assert "ditolak" in text(response)
    [seal] = seals_of(app, office.agency.id)
    assert seal.status == SealStatus.REJECTED and seal.rejection_reason == "Surat permohonan belum dilampirkan"
    assert "Surat permohonan belum dilampirkan" in text(office.head_client.get(f"/segel/{seal.id}"))
    assert ra_client.post(f"/segel/ra/{seal.id}/setujui").status_code == 409  # decided once


def seal_one(app, case: SealCase) -> tuple[str, bytes]:
    """Activate the seal for its client (the head's code), buy a sealing code and seal one visible PDF; return
    the record's public id and the sealed bytes."""
    actor = Actor("test")
    with app.test_request_context("/"):
        seal, client = db.session.get(Seal, case.seal_id), db.session.scalars(
            select(ApiClient).where(ApiClient.name == case.client_name)).one()
        activation.request_activation(seal, client, actor)
        db.session.commit()
    code = code_sent_to(app, case.head_id)
    with app.test_request_context("/"):
        seal, client = db.session.get(Seal, case.seal_id), db.session.scalars(
            select(ApiClient).where(ApiClient.name == case.client_name)).one()
        sealing_code, _expires = activation.sealing_code(seal, client, code, 1, actor)
        [(document, data)] = sealing.seal_documents(
            seal, client, sealing_code, [Upload("surat.pdf", make_pdf(), Placement(page=0, box=BOX))], actor)
        db.session.commit()
        return document.public_id, data


def test_a_sealed_pdf_reads_as_the_agency_seal_and_the_agency_ends_the_activation_and_revokes(
        app, seal_case, tmp_path):
    case = seal_case
    public_id, sealed = seal_one(app, case)
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    stamp = pdf_text(path)
    assert case.agency_name in stamp and SEAL_NAME in stamp and SEAL_STATEMENT in stamp

    with app.app_context():  # a person signs after the seal
        person = create_subscriber(app, name="Wayan Sudarta")
        [both] = keys.sign_pdfs(db.session.get(Certificate, person.certificate_id), person.passphrase, [sealed])
        db.session.commit()
    public = send_csrf(app.test_client())
    page = text(public.post("/verify", data={"file": (io.BytesIO(both), "surat.pdf", "application/pdf")},
                            content_type="multipart/form-data"))
    first, second = page.split('data-signature="2"')
    assert "Segel elektronik 1" in first and f"Segel elektronik {case.agency_name}" in first and SEAL_NAME in first
    assert "Penanda tangan" not in first and 'class="verdict ok">Tepercaya' in first
    assert "Wayan Sudarta" in second and "Penanda tangan" in second and "Segel elektronik" not in second

    answer = public.post("/api/v2/verify/pdf", json={"file": base64.b64encode(both).decode()}, headers=case.headers)
    assert answer.status_code == 200, answer.get_json()
    seal_info, person_info = answer.get_json()["signatureInformations"]
    assert seal_info["isSeal"] is True and person_info["isSeal"] is False
    assert seal_info["signerName"] == SEAL_NAME and case.agency_name in json.dumps(seal_info["certificateDetails"])

    record = text(public.get(f"/verify/{public_id}"))
    assert "Catatan segel elektronik" in record and f"Segel elektronik {case.agency_name}" in record
    assert public.get(f"/verify/{public_id}/dokumen").status_code == 404

    with app.app_context():
        head = db.session.get(Account, case.head_id)
        portal = signed_in_client(app, head.get_id())
        [live] = activation.live_activations(db.session.get(Seal, case.seal_id))
        live_id = live.id
    assert portal.get(f"/verify/{public_id}/dokumen").data == sealed  # a custodian may download it
    detail = text(portal.get(f"/segel/{case.seal_id}"))
    assert '<td class="count">1</td>' in detail and detail.count('<td class="count">0</td>') == 13
    assert "Akhiri aktivasi" in detail
    ended = portal.post(f"/segel/{case.seal_id}/aktivasi/{live_id}/akhiri")
    assert ended.status_code == 200 and "Aktivasi diakhiri" in text(ended) and "Akhiri aktivasi" not in text(ended)
    with app.app_context():
        assert db.session.get(SealActivation, live_id).ended_at is not None
    assert portal.post(f"/segel/{case.seal_id}/aktivasi/{live_id}/akhiri").status_code == 404  # no longer live

    asked = portal.post(f"/segel/{case.seal_id}/cabut", data={"reason": "key_compromise"})
    assert asked.status_code == 200 and "Ya, cabut sekarang" in text(asked)
    assert seal_row(app, case.seal_id).status == SealStatus.ISSUE  # only asked to confirm
    revoked = portal.post(f"/segel/{case.seal_id}/cabut", data={"reason": "key_compromise", "confirm": "ya"})
    assert revoked.status_code == 200 and "dicabut" in text(revoked)
    assert seal_row(app, case.seal_id).status == SealStatus.REVOKE
    with app.app_context():
        certificate = db.session.get(Seal, case.seal_id).certificate
        state = keys.cert_state(certificate.serial_int)
    assert isinstance(state, Revoked) and state.reason == "key_compromise"
    assert 'id="certificate-status">REVOKE' in text(public.get(f"/verify/{public_id}"))
