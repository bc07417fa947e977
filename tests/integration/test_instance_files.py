"""Files under the instance folder are for Paraf's own user only: folders 0700, files 0600."""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

import pytest

from app.domain.enrolment import csv_import, request_letters
from app.extensions import db
from app.models import Agency, Role
from app.platform.audit import Actor
from tests.pdfs import make_pdf
from tests.subscribers import create_agency, create_staff, create_subscriber, signed_in_client


def mode(path: Path) -> int:
    """Return the permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def open_umask():
    """Run the test under the usual 022 umask, to show the writers set their modes themselves."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_instance_folder_and_database_are_private(app):
    instance = Path(app.instance_path)
    assert mode(instance) == 0o700
    database = instance / "paraf.db"
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the database is not a file under the instance")
    for path in (database, database.with_name("paraf.db-wal")):
        assert mode(path) == 0o600, path  # created by SQLite under the umask create_app sets


def test_signing_and_enrolment_files_are_private(app, open_umask):
    instance = Path(app.instance_path)
    subscriber = create_subscriber(app)
    client = signed_in_client(app, subscriber.user_id)
    response = client.post("/tandatangan", data={"files": (io.BytesIO(make_pdf()), "surat.pdf")}, content_type="multipart/form-data")
    batch = instance / "uploads" / response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    uploaded = {path: mode(path) for path in batch.iterdir()}
    assert client.get(f"/tandatangan/{batch.name}/halaman/0/0.png").status_code == 200
    uploaded |= {path: mode(path) for path in batch.iterdir()}
    assert mode(batch) == 0o700
    response = client.post(f"/tandatangan/{batch.name}", data={"mode": "visible", "page": "0", "x": "300", "y": "40",
                                                                "passphrase": subscriber.passphrase})
    assert response.status_code == 303, response.get_data(as_text=True)
    public_id = re.search(r"/tandatangan/unduh/([0-9a-f]{32})", client.get(response.headers["Location"]).get_data(as_text=True)).group(1)
    signed = instance / "documents" / f"{public_id}.pdf"

    agency = create_agency(app)
    verifier = create_staff(app, Role.VERIFIER, agency.id)
    with app.app_context():
        job = csv_import.start(agency.id, b"name,nik,nip,email,phone\r\n", verifier.id)
        letter = request_letters.record_letter(
            db.session.get(Agency, agency.id),
            request_letters.validate({"number": "800/1/2026", "letter_date": "2026-01-05", "sender_unit": "BKPSDM",
                                      "subject": "Pendaftaran TTE", "persons": "2 pegawai"}),
            Actor("test"), "surat.pdf", make_pdf(),
        )
        letter_file = request_letters.pdf_path(letter)
        db.session.commit()
    imports = instance / "imports"

    files = {**uploaded, signed: mode(signed), letter_file: mode(letter_file),
             **{path: mode(path) for path in imports.glob(f"{job.id}.*")}}
    assert len(files) >= 7  # 0.pdf, manifest.json, the thumbnail, the signed PDF, the letter, the job's .json and .csv
    assert {str(path): oct(bits) for path, bits in files.items() if bits != 0o600} == {}
    folders = [instance / "uploads", instance / "documents", imports, letter_file.parent, letter_file.parent.parent]
    assert {str(path): oct(mode(path)) for path in folders if mode(path) != 0o700} == {}
