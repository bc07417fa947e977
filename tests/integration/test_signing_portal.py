"""The signing portal (F6) through its pages: uploads checked, placement, one unlock per batch, the lock, downloads."""

from __future__ import annotations

import io
import re
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.domain import keys
from app.domain.signing import signatures, uploads
from app.domain.signing.uploads import PageGeometry
from app.extensions import db
from app.lifecycle import AccountStatus
from app.models import Account, Role, SignedDocument
from app.platform.audit import Actor
from signer import keys as signer_keys
from signer.validate import validate_pdf
from tests.pdfs import make_pdf
from tests.subscribers import signed_in_client

HX = {"HX-Request": "true"}


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def pdf_file(data: bytes, name: str):
    """Return a file tuple for a multipart form."""
    return (io.BytesIO(data), name, "application/pdf")


def post_files(client, path: str, data: dict):
    """POST a multipart form encoded in memory (werkzeug would spool a large body into a file it never closes)."""
    fields = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                stream, name, mimetype = item
                item = FileStorage(stream, filename=name, content_type=mimetype)
            fields.add(key, item)
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, *files, expect: int = 303):
    """Upload files to the portal; return the batch id (on success) and the response."""
    response = post_files(client, "/tandatangan", {"files": list(files)})
    assert response.status_code == expect, text(response)
    if expect != 303:
        return None, response
    location = response.headers["Location"]
    return location.rstrip("/").rsplit("/", 1)[-1], response


def sign(client, batch_id: str, passphrase: str, **fields):
    """Submit the signing form of a batch."""
    form = {"mode": "visible", "page": "0", "x": "300", "y": "40", "reason": "", "location": "", "acting_kind": "",
            "acting_position": "", "passphrase": passphrase, **fields}
    return client.post(f"/tandatangan/{batch_id}", data=form)


def validate(data: bytes):
    """Validate with pyHanko, trusting Paraf's root, with the current CRLs of both CAs."""
    hierarchy = keys.context().hierarchy()
    return validate_pdf(data, hierarchy.root, [hierarchy.issuing], crls=[keys.latest_crl(i).der for i in keys.CRL_ISSUERS])


def stored_batches(app) -> set[str]:
    """Return the batch folders under instance/uploads."""
    folder = Path(app.instance_path) / "uploads"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def signed_count(app, account_id: int) -> int:
    """Return how many documents the account signed."""
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(SignedDocument).where(SignedDocument.account_id == account_id)
        ).scalar()


@pytest.fixture()
def subscriber(subscriber_with_certificate):
    """Return the subscriber and a client signed in as them."""
    return subscriber_with_certificate


@pytest.fixture()
def client(app, subscriber):
    """Return a test client signed in as the subscriber."""
    return signed_in_client(app, subscriber.user_id)


def test_anonymous_is_sent_to_login_and_staff_get_403(app):
    assert app.test_client().get("/tandatangan").status_code == 302
    with app.app_context():
        staff = Account(role=Role.VERIFIER, email="staf@contoh.go.id", username="staf-tandatangan", name="Staf")
        db.session.add(staff)
        db.session.commit()
        user_id = staff.get_id()
    staff_client = signed_in_client(app, user_id)
    for path in ("/tandatangan", "/tandatangan/riwayat", "/tandatangan/unduh/abc"):
        assert staff_client.get(path).status_code == 403, path


def test_upload_page_and_nav(client):
    page = text(client.get("/tandatangan"))
    assert 'type="file"' in page and "multiple" in page and "maksimal 20 MB per berkas" in page
    assert 'href="/tandatangan/riwayat"' in page and 'href="/verify"' in page


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("rahasia.pdf", make_pdf(encrypt="x"), "rahasia.pdf terenkripsi"),
        ("rusak.pdf", make_pdf()[:300], "rusak.pdf rusak"),
        ("kosong.pdf", b"", "kosong.pdf kosong (0 byte)"),
        ("catatan.pdf", b"bukan sebuah PDF, hanya teks biasa", "catatan.pdf bukan PDF"),
    ],
)
def test_bad_files_are_refused_by_name_and_nothing_is_stored(app, client, subscriber, name, data, message):
    before = stored_batches(app)
    _batch, response = upload(client, pdf_file(make_pdf(), "baik.pdf"), pdf_file(data, name), expect=422)
    assert message in text(response)
    assert "baik.pdf" not in text(response)  # only the bad file is named
    assert stored_batches(app) == before
    with client.session_transaction() as session:
        assert not session.get("signing_batches")


def test_file_over_the_limit_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PDF_BYTES", 1024 * 1024)
    big = make_pdf() + b"%" + b"x" * (1024 * 1024) + b"\n"
    before = stored_batches(app)
    _batch, response = upload(client, pdf_file(big, "besar.pdf"), expect=422)
    assert "besar.pdf terlalu besar (maksimal 1 MB)" in text(response)
    assert stored_batches(app) == before


def test_request_over_max_content_length_gets_a_clear_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    _batch, response = upload(client, pdf_file(make_pdf() + b"%" + b"x" * 70_000, "besar.pdf"), expect=413)
    assert "Unggahan terlalu besar" in text(response) and "maksimal 20 MB" in text(response)


def test_no_file_chosen(client):
    response = client.post("/tandatangan", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Pilih minimal satu berkas PDF." in text(response)


def test_batch_of_three_signs_with_one_unlock_and_the_zip_validates(app, client, subscriber, monkeypatch):
    unlocks = []
    real_unlock = signer_keys.unlock

    def counting_unlock(*args, **kwargs):
        unlocks.append(1)
        return real_unlock(*args, **kwargs)

    monkeypatch.setattr(signer_keys, "unlock", counting_unlock)
    files = [pdf_file(make_pdf(pages=n), f"surat-{n}.pdf") for n in (1, 2, 3)]
    batch_id, _response = upload(client, *files)
    assert len(stored_batches(app) & {batch_id}) == 1

    place = text(client.get(f"/tandatangan/{batch_id}"))
    assert "3 berkas" in place and "surat-3.pdf" in place
    assert place.count('class="page-thumb"') == 1  # pages of the first file (1 page)
    thumb = client.get(f"/tandatangan/{batch_id}/halaman/0/0.png")
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    image = Image.open(io.BytesIO(thumb.data))
    assert image.width == uploads.THUMBNAIL_WIDTH and abs(image.height - round(360 * 842 / 595)) <= 1

    started = time.perf_counter()
    response = sign(client, batch_id, subscriber.passphrase, reason="Menyetujui", location="Denpasar")
    elapsed = time.perf_counter() - started
    assert response.status_code == 303, text(response)
    print(f"\nbatch of 3 signed through the portal in {elapsed:.2f} s")
    assert len(unlocks) == 1
    assert batch_id not in stored_batches(app)  # the uploads are gone once signed

    results = text(client.get(response.headers["Location"]))
    assert "3 berkas berhasil ditandatangani." in results
    ids = re.findall(r"/tandatangan/unduh/([0-9a-f]{32})", results)
    assert len(ids) == 3

    archive = client.get(f"/tandatangan/hasil/{batch_id}/zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zipped:
        names = sorted(zipped.namelist())
        assert names == [f"surat-{n}-ditandatangani.pdf" for n in (1, 2, 3)]
        with app.app_context():
            for name in names:
                [report] = validate(zipped.read(name))
                assert report.intact and report.valid and report.trusted and report.pades_level == "B-LT", report.findings
                assert report.signer_name == subscriber.name and report.signer_title == subscriber.position

    one = client.get(f"/tandatangan/unduh/{ids[0]}")
    assert one.status_code == 200 and one.mimetype == "application/pdf"
    assert "ditandatangani.pdf" in one.headers["Content-Disposition"]

    history = text(client.get("/tandatangan/riwayat"))
    positions = [history.index(f"surat-{n}.pdf") for n in (1, 2, 3)]
    assert len(positions) == 3
    with app.app_context():
        rows = db.session.execute(select(SignedDocument).where(SignedDocument.public_id.in_(ids))).scalars().all()
        assert {r.reason for r in rows} == {"Menyetujui"} and {r.location for r in rows} == {"Denpasar"}
        assert all(r.visible and r.page == 0 for r in rows)


def test_another_subscriber_gets_404(app, client, subscriber, make_subscriber_with_certificate):
    batch_id, _ = upload(client, pdf_file(make_pdf(2), "a.pdf"))
    other = signed_in_client(app, make_subscriber_with_certificate(name="Made Wirawan").user_id)
    assert other.get(f"/tandatangan/{batch_id}/halaman/0/0.png").status_code == 404
    assert other.get(f"/tandatangan/{batch_id}").status_code == 303  # "not found or expired", back to upload
    assert other.post(f"/tandatangan/{batch_id}", data={"passphrase": "x"}).status_code == 303
    response = sign(client, batch_id, subscriber.passphrase)
    assert response.status_code == 303
    public_id = re.search(r"/tandatangan/unduh/([0-9a-f]{32})", text(client.get(response.headers["Location"]))).group(1)
    assert other.get(f"/tandatangan/unduh/{public_id}").status_code == 404
    assert other.get(f"/tandatangan/hasil/{batch_id}").status_code == 404
    assert other.get(f"/tandatangan/hasil/{batch_id}/zip").status_code == 404
    assert public_id not in text(other.get("/tandatangan/riwayat"))
    # the owner: a page that does not exist is a 404 too
    assert client.get(f"/tandatangan/{batch_id}/halaman/0/9.png").status_code == 404


def test_wrong_passphrases_lock_signing(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "kunci.pdf"))
    for remaining in (4, 3, 2, 1):
        response = sign(client, batch_id, "salah-" + subscriber.passphrase)
        assert response.status_code == 422
        assert f"Sisa {remaining} percobaan" in text(response)
        assert subscriber.passphrase not in text(response)
    with app.app_context():
        assert db.session.get(Account, subscriber.id).wrong_passphrases == 4
    locked = sign(client, batch_id, "salah-lagi")
    assert locked.status_code == 409 and "dikunci" in text(locked)
    again = sign(client, batch_id, subscriber.passphrase)
    assert again.status_code == 409 and "dikunci" in text(again)
    with app.app_context():
        account = db.session.get(Account, subscriber.id)
        assert account.wrong_passphrases == 5 and account.signing_locked_at is not None
    assert signed_count(app, subscriber.id) == 0
    assert "dikunci" in text(client.get("/tandatangan"))  # the upload page says why, before any upload


def test_a_good_passphrase_resets_the_counter(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "a.pdf"))
    assert "Sisa 4" in text(sign(client, batch_id, "salah"))
    assert sign(client, batch_id, subscriber.passphrase).status_code == 303
    with app.app_context():
        assert db.session.get(Account, subscriber.id).wrong_passphrases == 0


def test_wrong_passphrase_over_htmx_returns_the_form(client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "a.pdf"))
    response = client.post(f"/tandatangan/{batch_id}", headers=HX,
                           data={"mode": "invisible", "passphrase": "salah", "reason": "Mengetahui"})
    assert response.status_code == 422
    body = text(response)
    assert body.startswith('<form id="sign-form"') and "Sisa 4 percobaan" in body
    assert 'value="Mengetahui"' in body and 'name="passphrase" type="password" autocomplete="off" required>' in body
    done = client.post(f"/tandatangan/{batch_id}", headers=HX, data={"mode": "invisible", "passphrase": subscriber.passphrase})
    assert done.status_code == 200 and done.headers["HX-Redirect"].startswith("/tandatangan/hasil/")


def _set_status(app, account_id: int, status: AccountStatus) -> None:
    with app.app_context():
        account = db.session.get(Account, account_id)
        account.status = status  # the transitions come with their own features; set it directly here
        db.session.commit()


def test_update_account_cannot_sign(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "a.pdf"))
    _set_status(app, subscriber.id, AccountStatus.UPDATE)
    response = sign(client, batch_id, subscriber.passphrase)
    assert response.status_code == 409 and "status UPDATE" in text(response)
    assert signed_count(app, subscriber.id) == 0
    page = client.get("/tandatangan")
    assert "status UPDATE" in text(page) and 'type="file"' not in text(page)
    refused = post_files(client, "/tandatangan", {"files": [pdf_file(make_pdf(), "b.pdf")]})
    assert refused.status_code == 409
    with app.app_context():
        assert db.session.get(Account, subscriber.id).wrong_passphrases == 0  # refused before the passphrase is tried


def test_suspended_account_cannot_sign(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "a.pdf"))
    _set_status(app, subscriber.id, AccountStatus.SUSPENDED)
    response = sign(client, batch_id, subscriber.passphrase)
    if response.status_code == 302:  # the session of a suspended account ends...
        assert "/login" in response.headers["Location"]
    else:  # ...or it is still open and the portal says why
        assert response.status_code == 409 and "SUSPENDED" in text(response)
    assert signed_count(app, subscriber.id) == 0
    with app.test_request_context("/"):  # and the service refuses whoever calls it (API, workflows)
        account = db.session.get(Account, subscriber.id)
        with pytest.raises(signatures.SigningRefused, match="SUSPENDED"):
            signatures.sign_documents(account, subscriber.passphrase, [signatures.Upload("a.pdf", make_pdf())],
                                   signatures.Placement(), signatures.Details(), Actor("test"))
        db.session.rollback()
    assert signed_count(app, subscriber.id) == 0


def test_placement_page_is_refused_on_a_page_a_file_does_not_have(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(3), "tiga.pdf"), pdf_file(make_pdf(1), "satu.pdf"))
    page = text(client.get(f"/tandatangan/{batch_id}"))
    assert page.count('class="page-thumb"') == 3
    response = sign(client, batch_id, subscriber.passphrase, page="2")
    assert response.status_code == 422 and "satu.pdf hanya memiliki 1 halaman" in text(response)
    assert sign(client, batch_id, subscriber.passphrase, x="abc").status_code == 422
    response = sign(client, batch_id, subscriber.passphrase, acting_kind="Plh.")
    assert response.status_code == 422 and "Isi jabatan yang Anda wakili" in text(response)
    assert signed_count(app, subscriber.id) == 0


def test_expired_batch_is_swept(app, client, subscriber, monkeypatch):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "lama.pdf"))
    monkeypatch.setitem(app.config, "SIGNING_UPLOAD_TTL_MINUTES", 0)
    response = client.get(f"/tandatangan/{batch_id}", follow_redirects=True)
    assert "sudah kedaluwarsa" in text(response)
    assert batch_id not in stored_batches(app)
    other, _ = upload(client, pdf_file(make_pdf(), "baru.pdf"))
    folder = Path(app.instance_path) / "uploads" / other
    old = time.time() - 120
    import os

    os.utime(folder, (old, old))
    with app.app_context():
        assert uploads.sweep() >= 1
    assert other not in stored_batches(app)


def test_geometry_converts_shown_points_to_user_space():
    a4 = PageGeometry((0, 0, 595, 842))
    assert a4.display_size == (595, 842)
    assert a4.stamp_box(100, 50) == (100, 50, 340, 140)
    assert a4.stamp_box(500, 800) == (355, 752, 595, 842)  # clamped inside the page
    assert a4.stamp_box(-20, -5) == (0, 0, 240, 90)
    offset = PageGeometry((10, 20, 605, 862))
    assert offset.stamp_box(0, 0) == (10, 20, 250, 110)
    landscape = PageGeometry((0, 0, 595, 842), rotation=90)  # shown 842 wide, 595 high
    assert landscape.display_size == (842, 595)
    # the shown lower-left corner is the user-space top-left corner... rotated: x_user = 595 - y_shown, y_user = x_shown
    assert landscape.to_user(0, 0) == (595, 0) and landscape.to_user(842, 595) == (0, 842)
    assert landscape.stamp_box(0, 0) == (505, 0, 595, 240)
    upside = PageGeometry((0, 0, 595, 842), rotation=180)
    assert upside.stamp_box(0, 0) == (355, 752, 595, 842)
    left = PageGeometry((0, 0, 595, 842), rotation=270)
    assert left.to_user(0, 0) == (0, 842) and left.stamp_box(0, 0) == (0, 602, 90, 842)
    tiny = PageGeometry((0, 0, 200, 80))
    assert tiny.stamp_box(50, 50) == (0, 0, 200, 80)


NAME = "Ni Luh Putu Ayu Sékar Ñoman Çahyaningrum"
POSITION = ("Kepala Bidang Perencanaan, Pengendalian dan Evaluasi Pembangunan Daerah pada Badan Perencanaan Pembangunan, "
            "Penelitian dan Pengembangan Daerah Provinsi Nusa Tenggara Timur")


def _render_page(pdf_path: Path, out_prefix: Path) -> Image.Image:
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-f", "1", "-l", "1", str(pdf_path), str(out_prefix)], check=True, timeout=60)
    [png] = sorted(out_prefix.parent.glob(out_prefix.name + "*.png"))
    return Image.open(png).convert("L")


def test_stamp_with_diacritics_and_a_long_position_stays_inside_the_box(app, make_subscriber_with_certificate, tmp_path):
    person = make_subscriber_with_certificate(name=NAME, position=POSITION, front_title="Dr. Ir.", back_title="M.Sc.")
    client = signed_in_client(app, person.user_id)
    batch_id, _ = upload(client, pdf_file(make_pdf(), "cap.pdf"))
    response = sign(client, batch_id, person.passphrase, x="200", y="300")
    assert response.status_code == 303, text(response)
    public_id = re.search(r"/tandatangan/unduh/([0-9a-f]{32})", text(client.get(response.headers["Location"]))).group(1)
    signed = client.get(f"/tandatangan/unduh/{public_id}").data
    path = tmp_path / "cap.pdf"
    path.write_bytes(signed)

    extracted = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert f"Dr. Ir. {NAME}, M.Sc." in extracted or all(part in extracted for part in NAME.split())
    assert "Sékar" in extracted and "Ñoman" in extracted and "Çahyaningrum" in extracted
    assert "Paraf CA" in extracted and "WIB" in extracted

    image = _render_page(path, tmp_path / "page")
    assert image.size == (595, 842)
    x1, y1, x2, y2 = 200, 300, 440, 390  # the box in PDF points = pixels at 72 dpi; image rows run top-down
    top, bottom = 842 - y2, 842 - y1
    inside = image.crop((x1 + 2, top + 2, x2 - 2, bottom - 2))
    assert sum(1 for value in inside.tobytes() if value < 100) > 400  # text and the QR code are drawn
    ring = [image.crop(box) for box in ((x1 - 8, top - 8, x2 + 8, top - 2), (x1 - 8, bottom + 2, x2 + 8, bottom + 8),
                                         (x1 - 8, top, x1 - 2, bottom), (x2 + 2, top, x2 + 8, bottom))]
    assert all(min(part.tobytes()) > 200 for part in ring), "ink just outside the stamp box"

    with app.app_context():
        [report] = validate(signed)
        assert report.ok and report.signer_name == NAME


def test_acting_line_replaces_the_position_and_invisible_signing(app, client, subscriber, tmp_path):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "plt.pdf"))
    response = sign(client, batch_id, subscriber.passphrase, acting_kind="Plt.", acting_position="Kepala Dinas Kesehatan")
    assert response.status_code == 303, text(response)
    public_id = re.search(r"/tandatangan/unduh/([0-9a-f]{32})", text(client.get(response.headers["Location"]))).group(1)
    path = tmp_path / "plt.pdf"
    path.write_bytes(client.get(f"/tandatangan/unduh/{public_id}").data)
    extracted = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split())
    assert "Plt. Kepala Dinas Kesehatan" in extracted and subscriber.position not in extracted
    with app.app_context():
        row = db.session.execute(select(SignedDocument).where(SignedDocument.public_id == public_id)).scalar_one()
        assert row.acting_as == "Plt. Kepala Dinas Kesehatan"

    batch_id, _ = upload(client, pdf_file(make_pdf(), "diam.pdf"))
    assert sign(client, batch_id, subscriber.passphrase, mode="invisible").status_code == 303
    with app.app_context():
        row = db.session.execute(
            select(SignedDocument).where(SignedDocument.account_id == subscriber.id).order_by(SignedDocument.id.desc())
        ).scalars().first()
        assert row.filename == "diam.pdf" and not row.visible and row.page is None


def test_history_is_paginated_newest_first(app, client, subscriber, monkeypatch):
    from app.signing import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    batch_id, _ = upload(client, *[pdf_file(make_pdf(), f"r{n}.pdf") for n in range(3)])
    assert sign(client, batch_id, subscriber.passphrase, mode="invisible").status_code == 303
    first = text(client.get("/tandatangan/riwayat"))
    assert "r2.pdf" in first and "r1.pdf" in first and "r0.pdf" not in first
    before = re.search(r"sebelum=(\d+)", first).group(1)
    second = text(client.get(f"/tandatangan/riwayat?sebelum={before}", headers=HX))
    assert second.startswith('<div id="history"') and "r0.pdf" in second and "r1.pdf" not in second


def test_english_pages(client, subscriber):
    client.get("/tandatangan?lang=en")
    page = text(client.get("/tandatangan"))
    assert "Sign documents" in page and "Tanda tangan dokumen" not in page
    batch_id, _ = upload(client, pdf_file(make_pdf(), "a.pdf"))
    place = text(client.get(f"/tandatangan/{batch_id}"))
    assert "Place the stamp and sign" in place
    wrong = text(sign(client, batch_id, "salah"))
    assert "4 tries left" in wrong


def test_single_signing_timing(app, client, subscriber):
    batch_id, _ = upload(client, pdf_file(make_pdf(), "satu.pdf"))
    started = time.perf_counter()
    assert sign(client, batch_id, subscriber.passphrase).status_code == 303
    print(f"\none PDF signed through the portal in {time.perf_counter() - started:.2f} s")
