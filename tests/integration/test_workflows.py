"""Sequential signing workflows (F7): turn order, decline, access, validation, and a three-signer PDF that stays valid."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.signing import workflows
from app.domain.signing.signatures import Upload
from app.extensions import db
from app.models import Account, AuditEvent, Role, SignedDocument, Workflow, WorkflowSigner, WorkflowStatus
from app.platform.audit import Actor
from signer import pdf as signer_pdf
from tests.pdfs import make_pdf
from tests.subscribers import create_agency
from tests.workflow_helpers import (
    PASSPHRASE,
    check_final_pdf,
    deliver,
    make_subscriber,
    signed_in,
)

HX = {"HX-Request": "true"}


@pytest.fixture()
def team(app):
    """Return an agency with an owner and three signers holding ISSUE certificates."""
    agency_id = create_agency(app, "W").id
    people = {
        "owner": make_subscriber(app, agency_id, "Sri Wahyuni"),
        "s1": make_subscriber(app, agency_id, "Agus Salim"),
        "s2": make_subscriber(app, agency_id, "Dewi Sartika"),
        "s3": make_subscriber(app, agency_id, "Hadi Prasetyo"),
    }
    return {"agency_id": agency_id, **people}


def create_through_form(client, title: str, signers: list[tuple[int, str, str]], data: bytes | None = None, pages: int = 2):
    """Post the new-workflow form: ``signers`` are (account id, page text, position name)."""
    form = {"title": title, "file": (io.BytesIO(data if data is not None else make_pdf(pages)), "surat.pdf")}
    form["signer"] = [str(s[0]) for s in signers]
    form["page"] = [s[1] for s in signers]
    form["slot"] = [s[2] for s in signers]
    return client.post("/alur/baru", data=form, content_type="multipart/form-data")


def start(app, team, title: str = "Nota Dinas 12/2026", signers=("s1", "s2", "s3")) -> str:
    """Create a workflow through the form as the owner and return its public id."""
    owner = signed_in(app, team["owner"])
    slots = ("1-kiri", "1-tengah", "1-kanan")
    response = create_through_form(owner, title, [(team[key].id, "", slots[i]) for i, key in enumerate(signers)])
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def state(app, public_id: str):
    """Return (status, [signed?], current file bytes, number of signed documents) of a workflow."""
    with app.app_context():
        workflow = workflows.get(public_id)
        documents = db.session.execute(
            select(func.count()).select_from(SignedDocument).where(SignedDocument.workflow_id == workflow.id)
        ).scalar()
        return (workflow.status, [s.signed_at is not None for s in workflow.signers],
                workflows.current_file(workflow).read_bytes(), documents)


def sign(client, public_id: str, passphrase: str = PASSPHRASE, **headers):
    return client.post(f"/alur/{public_id}/tandatangani", data={"passphrase": passphrase}, headers=headers)


def test_signer_two_is_refused_before_signer_one_and_nothing_changes(app, team):
    public_id = start(app, team)
    before = state(app, public_id)
    signer2 = signed_in(app, team["s2"])

    page = signer2.get(f"/alur/{public_id}").get_data(as_text=True)
    assert "Anda adalah penandatangan ke-2 dari 3" in page
    assert "Belum giliran Anda: menunggu penandatangan ke-1 (Agus Salim)." in page
    assert 'id="sign-form"' not in page and 'id="decline-form"' not in page

    refused = sign(signer2, public_id, **HX)
    assert refused.status_code == 409
    assert "Belum giliran Anda: menunggu penandatangan ke-1 (Agus Salim)." in refused.get_data(as_text=True)
    declined = signer2.post(f"/alur/{public_id}/tolak", data={"reason": "Tidak setuju"})
    assert declined.status_code == 409
    assert state(app, public_id) == before
    assert before[0] == WorkflowStatus.ACTIVE and before[1] == [False, False, False] and before[3] == 0
    with app.app_context():
        assert db.session.get(Account, team["s2"].id).wrong_passphrases == 0

    english = signer2.get(f"/alur/{public_id}?lang=en").get_data(as_text=True)
    assert "You are signer 2 of 3." in english
    assert "It is not your turn yet: waiting for signer 1 (Agus Salim)." in english


def test_fields_are_created_in_one_revision_before_any_signature(app, team):
    public_id = start(app, team)
    with app.app_context():
        workflow = workflows.get(public_id)
        data = workflows.current_file(workflow).read_bytes()
        names = [s.field_name for s in workflow.signers]
        pages = [s.page for s in workflow.signers]
    assert pages == [2, 2, 2]  # an empty page means the last page
    assert signer_pdf.signature_fields(signer_pdf.open_pdf(data)) == dict.fromkeys(names, False)
    original = make_pdf(2)
    assert data.count(b"%%EOF") == original.count(b"%%EOF") + 1  # the original plus exactly one revision


def test_order_is_enforced_and_each_signer_is_told_in_turn(app, team, smtp_server):
    public_id = start(app, team, title="Surat Edaran Berurutan")
    deliver(app)
    first = smtp_server.wait_for(team["s1"].email, subject="Surat Edaran Berurutan")
    assert f"/alur/{public_id}" in first.text and "penandatangan ke-1 dari 3" in first.text
    assert smtp_server.messages_to(team["s2"].email) == []

    signer1, signer2, signer3 = (signed_in(app, team[k]) for k in ("s1", "s2", "s3"))
    assert sign(signer3, public_id, **HX).status_code == 409
    done = sign(signer1, public_id, **HX)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert "Dokumen sudah Anda tandatangani" in done.get_data(as_text=True)
    assert sign(signer1, public_id, **HX).status_code == 422  # not twice
    refused = sign(signer3, public_id, **HX)
    assert refused.status_code == 409
    assert "menunggu penandatangan ke-2 (Dewi Sartika)" in refused.get_data(as_text=True)
    assert state(app, public_id)[1] == [True, False, False]

    deliver(app)
    second = smtp_server.wait_for(team["s2"].email, subject="Surat Edaran Berurutan")
    assert "penandatangan ke-2 dari 3" in second.text and f"/alur/{public_id}" in second.text
    assert sign(signer2, public_id).status_code == 302  # without HTMX: back to the page
    assert sign(signer3, public_id, **HX).status_code == 200
    status, signed, _data, documents = state(app, public_id)
    assert status == WorkflowStatus.COMPLETED and signed == [True, True, True] and documents == 3

    deliver(app)
    for key in ("owner", "s1", "s2", "s3"):
        smtp_server.wait_for(team[key].email, subject="selesai ditandatangani")
    with app.app_context():
        actions = db.session.execute(
            select(AuditEvent.action).where(AuditEvent.subject_type == "workflow", AuditEvent.subject_id == public_id)
            .order_by(AuditEvent.id)
        ).scalars().all()
    assert actions == ["workflow.create", "workflow.sign", "workflow.sign", "workflow.sign", "workflow.complete"]

    final = signer1.get(f"/alur/{public_id}").get_data(as_text=True)
    assert "3 dari 3 sudah menandatangani" in final and 'id="completed"' in final
    listing = signed_in(app, team["owner"]).get("/alur").get_data(as_text=True)
    assert "Surat Edaran Berurutan" in listing and "3 dari 3 sudah menandatangani" in listing


def test_wrong_passphrase_is_counted_and_changes_nothing_else(app, team):
    public_id = start(app, team)
    before = state(app, public_id)
    response = sign(signed_in(app, team["s1"]), public_id, passphrase="salah-sekali", **HX)
    assert response.status_code == 422
    assert "Passphrase salah" in response.get_data(as_text=True)
    assert state(app, public_id) == before
    with app.app_context():
        assert db.session.get(Account, team["s1"].id).wrong_passphrases == 1
        assert PASSPHRASE not in " ".join(db.session.execute(select(AuditEvent.details)).scalars())


def test_decline_stops_the_workflow_and_tells_the_owner(app, team, smtp_server):
    public_id = start(app, team, title="Berita Acara Ditolak")
    signer1, signer2 = signed_in(app, team["s1"]), signed_in(app, team["s2"])
    assert sign(signer1, public_id, **HX).status_code == 200

    empty = signer2.post(f"/alur/{public_id}/tolak", data={"reason": "  "}, headers=HX)
    assert empty.status_code == 422 and "Tulis alasan penolakan" in empty.get_data(as_text=True)
    response = signer2.post(f"/alur/{public_id}/tolak", data={"reason": "Nomor surat salah, mohon diperbaiki."}, headers=HX)
    assert response.status_code == 200
    assert "Alur dihentikan" in response.get_data(as_text=True)

    status, signed, data, documents = state(app, public_id)
    assert status == WorkflowStatus.DECLINED and signed == [True, False, False] and documents == 1
    with app.app_context():
        workflow = workflows.get(public_id)
        assert workflow.decline_reason == "Nomor surat salah, mohon diperbaiki."
        assert workflow.signers[1].declined_at is not None
    deliver(app)
    mail = smtp_server.wait_for(team["owner"].email, subject="Berita Acara Ditolak")
    assert "Dewi Sartika" in mail.text and "Nomor surat salah, mohon diperbaiki." in mail.text
    assert f"/alur/{public_id}" in mail.text
    assert smtp_server.messages_to(team["s3"].email) == []  # signer 3 is never asked

    closed = sign(signed_in(app, team["s3"]), public_id, **HX)
    assert closed.status_code == 422 and "dihentikan" in closed.get_data(as_text=True)
    owner_view = signed_in(app, team["owner"]).get(f"/alur/{public_id}").get_data(as_text=True)
    assert "Nomor surat salah, mohon diperbaiki." in owner_view and 'id="declined"' in owner_view
    assert state(app, public_id)[2] == data


def test_outsiders_get_404(app, team):
    public_id = start(app, team, signers=("s1",))
    colleague = make_subscriber(app, team["agency_id"], "Rina Kusuma")
    stranger = make_subscriber(app, create_agency(app, "W").id, "Joko Widodo")
    for person in (colleague, stranger):
        client = signed_in(app, person)
        assert client.get(f"/alur/{public_id}").status_code == 404
        assert client.get(f"/alur/{public_id}/pdf").status_code == 404
        assert sign(client, public_id).status_code == 404
        assert client.post(f"/alur/{public_id}/tolak", data={"reason": "x"}).status_code == 404
        assert public_id not in client.get("/alur").get_data(as_text=True)
    for key in ("owner", "s1"):
        with signed_in(app, team[key]).get(f"/alur/{public_id}/pdf") as response:
            assert response.status_code == 200 and response.data.startswith(b"%PDF-")
            assert response.headers["Cache-Control"] == "private, no-store"
    stranger = app.test_client().get(f"/alur/{public_id}")  # not signed in: to the sign-in page, and back after it
    assert stranger.status_code == 302 and stranger.headers["Location"] == f"/login?next=%2Falur%2F{public_id}"


def test_staff_cannot_open_workflows(app, team):
    from app.domain.accounts.passwords import hash_password

    with app.app_context():
        verifier = Account(role=Role.VERIFIER, agency_id=team["agency_id"], email=f"v{team['owner'].id}@x.go.id",
                           username=f"verif-wf-{team['owner'].id}", password_hash=hash_password("x"), name="Verifikator")
        db.session.add(verifier)
        db.session.commit()
        user_id = verifier.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    assert client.get("/alur").status_code == 403


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("other_agency", "Penandatangan ke-2 tidak ditemukan"),  # never named: see agency_account
        ("no_certificate", "belum memiliki sertifikat elektronik yang aktif"),
        ("duplicate", "tercantum dua kali"),
        ("page_out_of_range", "Halaman 5 untuk penandatangan ke-2 tidak ada: PDF ini hanya 2 halaman."),
        ("overlap", "bertumpuk di halaman 1"),
        ("no_signers", "Tambahkan minimal satu penandatangan."),
        ("no_title", "Isi judul dokumen"),
        ("not_a_pdf", "bukan PDF"),
        ("bad_page", "harus berupa angka"),
        ("superscript_page", "harus berupa angka"),
        ("huge_signer_id", "Penandatangan ke-2 tidak ditemukan"),
    ],
)
def test_bad_workflow_is_refused_with_a_message_and_nothing_is_stored(app, team, instance_dir, case, message):
    owner = signed_in(app, team["owner"])
    s1, s2 = team["s1"].id, team["s2"].id
    title, data = "Surat Uji", None
    signers = [(s1, "1", "1-kiri"), (s2, "2", "1-kiri")]
    if case == "other_agency":
        signers[1] = (make_subscriber(app, create_agency(app, "W").id, "Orang Lain").id, "1", "1-kanan")
    elif case == "no_certificate":
        signers[1] = (make_subscriber(app, team["agency_id"], "Belum Terbit", certificate=False).id, "1", "1-kanan")
    elif case == "duplicate":
        signers[1] = (s1, "2", "1-kanan")
    elif case == "page_out_of_range":
        signers[1] = (s2, "5", "1-kanan")
    elif case == "overlap":
        signers[1] = (s2, "1", "1-kiri")
    elif case == "no_signers":
        signers = []
    elif case == "no_title":
        title = "   "
    elif case == "not_a_pdf":
        data = b"bukan pdf sama sekali"
    elif case == "bad_page":
        signers[1] = (s2, "dua", "1-kanan")
    elif case == "superscript_page":
        signers[1] = (s2, "\u00b2", "1-kanan")  # "²" is a digit to str.isdigit(), not to int()
    elif case == "huge_signer_id":
        signers[1] = ("9" * 30, "1", "1-kanan")  # beyond any database integer
    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Workflow)).scalar()
    files = sorted((Path(instance_dir) / "workflows").glob("*.pdf")) if (Path(instance_dir) / "workflows").exists() else []

    response = create_through_form(owner, title, signers, data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Workflow)).scalar() == count
    after = sorted((Path(instance_dir) / "workflows").glob("*.pdf")) if (Path(instance_dir) / "workflows").exists() else []
    assert after == files


def test_service_refuses_too_many_signers_and_a_box_off_the_page(app, team):
    with app.app_context():
        owner = db.session.get(Account, team["owner"].id)
        s1 = db.session.get(Account, team["s1"].id)
        upload = Upload("a.pdf", make_pdf())
        with pytest.raises(workflows.WorkflowError, match="Paling banyak 10"):
            workflows.create(owner, "Judul", upload, [(s1, 1, "1-kiri")] * 11, Actor("test"))
        with pytest.raises(workflows.WorkflowError, match="tidak muat di halaman 1"):
            workflows.create(owner, "Judul", upload, [(s1, 1, (500, 10, 700, 80))], Actor("test"))
        db.session.rollback()


def test_signer_search_is_scoped_to_the_agency_and_to_issued_certificates(app, team):
    pending = make_subscriber(app, team["agency_id"], "Dewi Belum", certificate=False)
    make_subscriber(app, create_agency(app, "W").id, "Dewi Luar")
    with app.app_context():
        found = [a.id for a in workflows.search_signers(team["agency_id"], "dewi")]
        assert found == [team["s2"].id]
        assert [a.id for a in workflows.search_signers(team["agency_id"], team["s3"].nip[:12])] == [team["s3"].id]
        assert [a.id for a in workflows.search_signers(team["agency_id"], team["s1"].email.split("@")[0])] == [team["s1"].id]
        assert workflows.search_signers(team["agency_id"], "d") == []
        assert workflows.eligible_signer(team["agency_id"], pending.id) is None
    owner = signed_in(app, team["owner"])
    results = owner.get("/alur/cari?q=dewi", headers=HX).get_data(as_text=True)
    assert "Dewi Sartika" in results and "Dewi Luar" not in results and "Dewi Belum" not in results
    row = owner.get(f"/alur/penandatangan?akun={team['s2'].id}&n=1", headers=HX)
    assert row.status_code == 200 and f'value="{team["s2"].id}"' in row.get_data(as_text=True)
    assert 'value="1-tengah" selected' in row.get_data(as_text=True)
    assert owner.get(f"/alur/penandatangan?akun={pending.id}", headers=HX).status_code == 404


def test_new_workflow_form_never_names_another_agencys_account(app, team):
    outsider = make_subscriber(app, create_agency(app, "W").id, "Rudi Luarinstansi")
    owner = signed_in(app, team["owner"])
    for title in ("", "Nota Dinas 13/2026"):  # re-shown for a missing title, and refused as a signer
        response = create_through_form(owner, title, [(team["s1"].id, "", "1-kiri"), (outsider.id, "", "1-kanan")])
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "Rudi Luarinstansi" not in page and f'value="{outsider.id}"' not in page
        assert "Penandatangan ke-2 tidak ditemukan" in page and "Agus Salim" in page
    assert "Rudi Luarinstansi" not in owner.get("/alur/cari?q=rudi", headers=HX).get_data(as_text=True)
    assert owner.get(f"/alur/penandatangan?akun={outsider.id}", headers=HX).status_code == 404


# --- the signed PDF, checked by poppler's pdfsig (NSS) and by pyHanko ---------------------------


def test_three_signer_pdf_keeps_every_signature_valid(app, team, live_server, nss_db, tmp_path):
    public_id = start(app, team, title="Keputusan Bersama")
    for key in ("s1", "s2", "s3"):
        response = sign(signed_in(app, team[key]), public_id, **HX)
        assert response.status_code == 200, response.get_data(as_text=True)
    status, signed, data, _documents = state(app, public_id)
    assert status == WorkflowStatus.COMPLETED and signed == [True, True, True]
    with signed_in(app, team["owner"]).get(f"/alur/{public_id}/pdf?unduh=1") as download:
        assert download.data == data
        assert re.search(r'attachment; filename="?surat-ditandatangani\.pdf', download.headers["Content-Disposition"])
    check_final_pdf(app, data, ["Agus Salim", "Dewi Sartika", "Hadi Prasetyo"], nss_db, tmp_path)
    with app.app_context():
        rows = db.session.execute(
            select(WorkflowSigner).join(Workflow).where(Workflow.public_id == public_id).order_by(WorkflowSigner.position)
        ).scalars().all()
        assert all(row.document_id is not None for row in rows)
