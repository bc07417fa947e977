"""Request letters (F16) through the real pages and the service: the chain in order, 15-minute clocks, CSV, registration gate."""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.domain.enrolment import request_letters
from app.extensions import db
from app.models import Agency, AuditEvent, RequestLetter, Role, SubscriberProfile
from app.models.types import utcnow
from app.platform.audit import Actor
from tests.enrolment_helpers import registration_form
from tests.pdfs import make_pdf
from tests.subscribers import create_agency, create_staff, signed_in_client

FORM = {"number": "B/123/XI/2026", "letter_date": "2026-11-20", "sender_unit": "Biro Umum", "subject": "Permohonan akun TTE",
        "persons": "Budi Santoso; Siti Aminah"}


def text(response) -> str:
    """Return a response body as text."""
    return response.get_data(as_text=True)


def new_letter(client, **changes):
    """Record a letter through the form."""
    return client.post("/verifikator/surat/baru", data={**FORM, **changes}, content_type="multipart/form-data")


def letter_of(app, number: str) -> tuple[int, list[int]]:
    """Return a letter's id and its steps' ids, in chain order."""
    with app.app_context():
        letter = db.session.execute(select(RequestLetter).where(RequestLetter.number == number)).scalar_one()
        return letter.id, [step.id for step in letter.steps]


def staff(app, role: Role, agency_id: int | None) -> tuple[int, object]:
    """Create a staff account and return its id and a client signed in as it."""
    person = create_staff(app, role, agency_id)
    return person.id, signed_in_client(app, person.user_id)


def other_agency(app) -> int:
    """Create another agency and return its id."""
    return create_agency(app, "O", "Dinas").id


def test_chain_is_followed_in_order_with_on_time_and_late_steps(app, agency):
    t0 = utcnow().replace(microsecond=0)
    with app.test_request_context("/"):
        row = db.session.get(Agency, agency["id"])
        data = request_letters.validate(FORM, today=date(2026, 11, 26))
        letter = request_letters.record_letter(row, data, Actor("v"), now=t0)
        steps = letter.steps
        assert [s.title for s in steps] == ["Kepala Pusat", "Kepala Bidang", "Kepala Subbidang", "Verifikator"]
        assert steps[0].started_at == t0 and steps[1].started_at is None
        with pytest.raises(request_letters.LetterError, match="Kepala Pusat"):
            request_letters.act(letter, steps[1].id, "", Actor("kabid"), now=t0 + timedelta(minutes=1))
        assert steps[1].acted_at is None
        request_letters.act(letter, steps[0].id, "Segera", Actor("kapus"), now=t0 + timedelta(minutes=15))
        assert request_letters.on_time(steps[0]) is True and steps[1].started_at == t0 + timedelta(minutes=15)
        late_clock = t0 + timedelta(minutes=31)
        assert request_letters.on_time(steps[1], late_clock) is False  # still running, already late
        assert request_letters.on_time(steps[1], t0 + timedelta(minutes=20)) is None  # running, within target
        request_letters.act(letter, steps[1].id, "", Actor("kabid"), now=t0 + timedelta(minutes=15, seconds=61 * 15))
        assert request_letters.on_time(steps[1]) is False
        request_letters.act(letter, steps[2].id, "", Actor("kasubbid"), now=t0 + timedelta(minutes=40))
        assert letter.completed_at is None
        request_letters.act(letter, steps[3].id, "Diproses", Actor("verifikator"), now=t0 + timedelta(minutes=44))
        assert letter.completed_at == t0 + timedelta(minutes=44)
        assert [request_letters.on_time(s) for s in steps] == [True, False, True, True]
        with pytest.raises(request_letters.LetterError, match="sudah selesai"):
            request_letters.act(letter, steps[3].id, "", Actor("v"), now=t0 + timedelta(minutes=50))
        rows = list(csv.DictReader(io.StringIO(request_letters.export_csv([letter]))))
        assert [(r["langkah"], r["jabatan"], r["oleh"], r["menit"], r["tepat_waktu"]) for r in rows] == [
            ("1", "Kepala Pusat", "kapus", "15", "ya"), ("2", "Kepala Bidang", "kabid", "15", "tidak"),
            ("3", "Kepala Subbidang", "kasubbid", "9", "ya"), ("4", "Verifikator", "verifikator", "4", "ya")]
        assert rows[0]["mulai"].endswith("+07:00") and rows[0]["catatan"] == "Segera"
        db.session.rollback()


def test_letters_through_the_pages_with_pdf_filters_and_csv(app, agency, verifier_client):
    refused = new_letter(verifier_client, number="", file=(io.BytesIO(make_pdf()), "s.pdf"))
    assert refused.status_code == 422 and "Isi nomor surat" in text(refused)
    future = new_letter(verifier_client, letter_date=(date.today() + timedelta(days=3)).isoformat())
    assert future.status_code == 422 and "masa depan" in text(future)
    folder = Path(app.instance_path) / "letters" / str(agency["id"])
    not_pdf = new_letter(verifier_client, number="X/1", file=(io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(100)), "surat.pdf"))
    assert not_pdf.status_code == 422 and "bukan PDF" in text(not_pdf)
    assert not (folder.exists() and list(folder.iterdir()))
    with app.app_context():
        assert db.session.execute(select(RequestLetter).where(RequestLetter.number == "X/1")).first() is None

    number = f"B/{secrets.token_hex(3)}/2026"
    pdf = make_pdf()
    done = new_letter(verifier_client, number=number, file=(io.BytesIO(pdf), "surat.pdf"))
    assert done.status_code == 302
    letter_id, steps = letter_of(app, number)
    page = text(verifier_client.get(f"/verifikator/surat/{letter_id}"))
    assert "Teruskan" in page and "berjalan" in page and "surat.pdf" in page
    assert verifier_client.get(f"/verifikator/surat/{letter_id}/berkas").data == pdf

    out_of_order = verifier_client.post(f"/verifikator/surat/{letter_id}/langkah/{steps[2]}", data={"note": ""})
    assert out_of_order.status_code == 409 and "bukan giliran" in text(out_of_order)
    for step_id in steps:
        assert verifier_client.post(f"/verifikator/surat/{letter_id}/langkah/{step_id}", data={"note": "ok"}).status_code == 302
    page = text(verifier_client.get(f"/verifikator/surat/{letter_id}"))
    assert "Disposisi selesai" in page and "tepat waktu" in page and "Teruskan" not in page

    other = f"C/{secrets.token_hex(3)}/2026"
    assert new_letter(verifier_client, number=other, letter_date="2026-01-05").status_code == 302
    listing = text(verifier_client.get("/verifikator/surat", query_string={"state": "selesai"}))
    assert f">{number}</a>" in listing and f">{other}</a>" not in listing
    dated = text(verifier_client.get("/verifikator/surat", query_string={"dari": "2026-01-01", "sampai": "2026-01-31"}))
    assert f">{other}</a>" in dated and f">{number}</a>" not in dated

    export = verifier_client.get("/verifikator/surat.csv", query_string={"q": number})
    assert export.status_code == 200 and export.mimetype == "text/csv" and export.mimetype_params["charset"] == "utf-8"
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8"))))
    assert len(rows) == 4 and {r["nomor_surat"] for r in rows} == {number}
    assert [r["jabatan"] for r in rows] == ["Kepala Pusat", "Kepala Bidang", "Kepala Subbidang", "Verifikator"]
    assert all(r["tepat_waktu"] == "ya" and r["oleh"] == agency["username"] and r["selesai"] for r in rows)

    _id, outsider = staff(app, Role.VERIFIER, other_agency(app))
    assert outsider.get(f"/verifikator/surat/{letter_id}").status_code == 404
    assert outsider.get(f"/verifikator/surat/{letter_id}/berkas").status_code == 404
    assert outsider.post(f"/verifikator/surat/{letter_id}/langkah/{steps[0]}").status_code == 404
    assert number not in text(outsider.get("/verifikator/surat"))
    assert number not in outsider.get("/verifikator/surat.csv").data.decode()
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(AuditEvent.subject_type == "request_letter",
                                                             AuditEvent.subject_id == str(letter_id))
                                    .order_by(AuditEvent.id)).scalars().all()
        assert [e.action for e in events] == ["letter.recorded"] + ["letter.forwarded"] * 3 + ["letter.completed"]


def test_registration_needs_a_completed_letter_when_the_agency_requires_it(app, agency, verifier_client):
    _ra_id, ra = staff(app, Role.CENTRAL_RA, None)
    assert "Wajibkan surat" in text(ra.get("/ra/surat-permohonan"))
    empty = ra.post(f"/ra/surat-permohonan/{agency['id']}", data={"requires": "yes", "disposition_chain": " , "})
    assert empty.status_code == 422 and "minimal satu jabatan" in text(empty)
    assert ra.post(f"/ra/surat-permohonan/{agency['id']}",
                   data={"requires": "yes", "disposition_chain": "Kapusdatin,  Kabid Jementa Sis Ap , Verifikator"}).status_code == 302
    with app.app_context():
        row = db.session.get(Agency, agency["id"])
        assert row.requires_request_letter and row.disposition_chain == "Kapusdatin, Kabid Jementa Sis Ap, Verifikator"

    person, servant = agency["add_person"]()
    form = registration_form(person, servant, agency)
    missing = verifier_client.post("/verifikator/daftar", data=form)
    assert missing.status_code == 422 and "mewajibkan surat permohonan" in text(missing)
    number = f"D/{secrets.token_hex(3)}/2026"
    assert new_letter(verifier_client, number=number).status_code == 302
    letter_id, steps = letter_of(app, number)
    assert len(steps) == 3
    assert f'value="{letter_id}"' not in text(verifier_client.get("/verifikator/daftar"))  # not offered yet
    pending = verifier_client.post("/verifikator/daftar", data={**form, "letter": str(letter_id)})
    assert pending.status_code == 422 and "belum selesai" in text(pending)
    csv_body = "name,nik,nip,email,phone\n" + ",".join(form[k] for k in ("name", "nik", "nip", "email", "phone")) + "\n"
    blocked = verifier_client.post("/verifikator/impor", data={"file": (io.BytesIO(csv_body.encode()), "p.csv")},
                                   content_type="multipart/form-data")
    assert blocked.status_code == 422 and "mewajibkan surat permohonan" in text(blocked)
    with app.app_context():
        assert db.session.execute(select(SubscriberProfile).where(SubscriberProfile.nik == person["nik"])).first() is None

    for step_id in steps:
        verifier_client.post(f"/verifikator/surat/{letter_id}/langkah/{step_id}", data={})
    assert f'value="{letter_id}"' in text(verifier_client.get("/verifikator/daftar"))
    done = verifier_client.post("/verifikator/daftar", data={**form, "letter": str(letter_id)})
    assert done.status_code == 302
    with app.app_context():
        account_id = db.session.execute(select(SubscriberProfile.account_id).where(SubscriberProfile.nik == person["nik"])).scalar_one()
        event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.register",
                                                            AuditEvent.subject_id == str(account_id))).scalar_one()
        assert json.loads(event.details)["letter"] == letter_id
        db.session.get(Agency, agency["id"]).requires_request_letter = False
        db.session.commit()
