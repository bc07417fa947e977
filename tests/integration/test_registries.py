"""Registry adapters (local tables, HTTP service), CSV imports and `flask registry import`, demo data."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import pytest
from sqlalchemy import delete, select

from app.domain.enrolment import identity, registries
from app.domain.enrolment.identity import InvalidInput
from app.domain.enrolment.registries import (
    CivilServant,
    HttpRegistry,
    ImportReport,
    LocalRegistry,
    Person,
    RegistryUnavailable,
)
from app.extensions import db
from app.models import AsnRecord, AuditEvent, PopulationRecord
from tests.conftest import free_port

TOKEN = "rahasia-registri-123"


def new_nik(birth: date, gender: str) -> str:
    """Return a NIK no other test uses, encoding ``birth`` and ``gender``."""
    day = birth.day + (40 if gender == "P" else 0)
    region = f"35{secrets.randbelow(99) + 1:02d}{secrets.randbelow(99) + 1:02d}"
    return f"{region}{day:02d}{birth:%m%y}{secrets.randbelow(9999) + 1:04d}"


def new_nip(birth: date, gender: str) -> str:
    """Return a NIP no other test uses, encoding ``birth`` and ``gender``."""
    appointed = f"{birth.year + 25}{secrets.randbelow(12) + 1:02d}"
    return f"{birth:%Y%m%d}{appointed}{'1' if gender == 'L' else '2'}{secrets.randbelow(999) + 1:03d}"


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    """Write a CSV file with a header and rows."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def cleanup(app) -> Iterator[dict[str, list[str]]]:
    """Collect the NIKs and NIPs a test stores; delete their rows and photo files afterwards.

    Request it before ``app_ctx`` so that it tears down after ``app_ctx`` has rolled back.
    """
    keys: dict[str, list[str]] = {"nik": [], "nip": []}
    yield keys
    with app.app_context():
        db.session.execute(delete(PopulationRecord).where(PopulationRecord.nik.in_(keys["nik"])))
        db.session.execute(delete(AsnRecord).where(AsnRecord.nip.in_(keys["nip"])))
        db.session.commit()
    for nik in keys["nik"]:
        (Path(app.instance_path) / registries.PHOTO_FOLDER / f"{nik}.jpg").unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- population


def test_import_population_reports_bad_rows_and_stores_good_ones(cleanup, app_ctx, tmp_path, face_photos):
    instance = Path(app_ctx.instance_path)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "budi.jpg").write_bytes(face_photos["obama"])
    png = tmp_path / "siti.png"
    image = cv2.imdecode(np.frombuffer(face_photos["biden"], np.uint8), cv2.IMREAD_COLOR)
    png.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    (tmp_path / "notes.jpg").write_text("bukan foto")

    budi, siti, ani = new_nik(date(1985, 8, 12), "L"), new_nik(date(1990, 2, 1), "P"), new_nik(date(2001, 5, 9), "P")
    other = new_nik(date(1979, 3, 30), "L")
    cleanup["nik"] += [budi, siti, ani, other]
    path = write_csv(
        tmp_path / "penduduk.csv",
        "nik,name,birth_date,gender,photo",
        [
            f"{budi},Budi Santoso,1985-08-12,L,photos/budi.jpg",  # 2
            f"{ani},Ani Lestari,2001-05-09,p,",  # 3
            "12345,Salah Nik,1985-08-12,L,",  # 4
            f"{other},Dr. Joko Widodo,1979-03-30,L,",  # 5
            f"{other},Joko Widodo,1979-03-31,L,",  # 6
            f"{other},Joko Widodo,1979-03-30,P,",  # 7
            f"{other},Joko Widodo,1979-03-30,L,photos/tidak-ada.jpg",  # 8
            f"{budi},Budi Santoso,1985-08-12,L,",  # 9
            f"{siti},Siti Aminah,1990-02-01,P,{png}",  # 10 (absolute path, PNG)
            f"{other},Joko Widodo,30-03-1979,L,",  # 11
            f"{other},Joko Widodo,1979-03-30,X,",  # 12
            f"{other},Joko Widodo,1979-03-30,L,notes.jpg",  # 13
        ],
    )

    report = registries.import_population(path, instance)

    assert (report.imported, report.updated) == (3, 0)
    assert report.errors == [
        (4, "NIK harus 16 digit angka."),
        (5, "Tulis nama tanpa gelar: pindahkan “Dr.” ke kolom gelar depan atau gelar belakang."),
        (6, "Tanggal lahir tidak sama dengan yang tertulis di NIK."),
        (7, "Jenis kelamin tidak sama dengan yang tertulis di NIK."),
        (8, "Berkas foto “photos/tidak-ada.jpg” tidak ditemukan (jalur relatif dihitung dari folder CSV)."),
        (9, "NIK ini sudah ada di baris 2."),
        (11, "Tanggal lahir harus berformat YYYY-MM-DD, misalnya 1985-07-21."),
        (12, "Jenis kelamin harus L (laki-laki) atau P (perempuan)."),
        (13, "Berkas foto “notes.jpg” bukan gambar JPEG atau PNG."),
    ]
    stored = db.session.get(PopulationRecord, budi)
    assert (stored.name, stored.birth_date, stored.gender) == ("Budi Santoso", date(1985, 8, 12), "L")
    assert stored.photo_path == f"registry/photos/{budi}.jpg"
    assert (instance / stored.photo_path).read_bytes() == face_photos["obama"]
    assert db.session.get(PopulationRecord, ani).photo_path is None
    assert db.session.get(PopulationRecord, ani).gender == "P"
    assert db.session.get(PopulationRecord, other) is None
    siti_photo = (instance / db.session.get(PopulationRecord, siti).photo_path).read_bytes()
    assert siti_photo.startswith(b"\xff\xd8\xff")  # PNG stored as JPEG

    local = LocalRegistry(instance)
    assert local.find_person(budi) == Person(budi, "Budi Santoso", date(1985, 8, 12), "L", True)
    assert local.find_person(ani) == Person(ani, "Ani Lestari", date(2001, 5, 9), "P", False)
    assert local.find_person(other) is None
    assert local.photo(budi) == face_photos["obama"]
    assert local.photo(ani) is None and local.photo(other) is None

    # Re-import: a changed name updates the row, an empty photo column keeps the stored photo.
    again = write_csv(tmp_path / "lagi.csv", "nik,name,birth_date,gender,photo", [f"{budi},Budi Hartono,1985-08-12,L,"])
    assert registries.import_population(again, instance) == ImportReport(imported=0, updated=1, errors=[])
    assert local.find_person(budi) == Person(budi, "Budi Hartono", date(1985, 8, 12), "L", True)


def test_missing_photo_file_gives_no_photo(cleanup, app_ctx, tmp_path, face_photos, caplog):
    nik = new_nik(date(1988, 1, 2), "L")
    cleanup["nik"].append(nik)
    (tmp_path / "a.jpg").write_bytes(face_photos["obama2"])
    path = write_csv(tmp_path / "p.csv", "nik,name,birth_date,gender,photo", [f"{nik},Agus Salim,1988-01-02,L,a.jpg"])
    registries.import_population(path, Path(app_ctx.instance_path))
    (Path(app_ctx.instance_path) / registries.PHOTO_FOLDER / f"{nik}.jpg").unlink()
    assert LocalRegistry(Path(app_ctx.instance_path)).photo(nik) is None
    assert "missing" in caplog.text and nik not in caplog.text


def test_csv_header_semicolons_bom_and_encoding(cleanup, app_ctx, tmp_path):
    instance = Path(app_ctx.instance_path)
    nik = new_nik(date(1975, 12, 31), "P")
    cleanup["nik"].append(nik)
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffNIK;Name;Birth_Date;Gender\r\n\r\n".encode()
        + f"{nik};Wulan Sari;1975-12-31;P\r\n\r\n1;Salah;1975-12-31;P\r\n".encode()
    )
    report = registries.import_population(path, instance)  # no photo column needed; blank lines skipped
    assert report == ImportReport(imported=1, errors=[(5, "NIK harus 16 digit angka.")])

    missing = write_csv(tmp_path / "kurang.csv", "nik,name,birth_date", [f"{nik},Wulan Sari,1975-12-31"])
    assert registries.import_population(missing, instance).errors == [
        (1, "Kolom wajib tidak ada di baris judul: gender.")
    ]
    assert registries.import_population(write_csv(tmp_path / "kosong.csv", "", []), instance).errors == [
        (1, "Kolom wajib tidak ada di baris judul: nik, name, birth_date, gender.")
    ]
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("nik,name,birth_date,gender\n3201011208850001,Ñoman,1985-08-12,L\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        registries.import_population(latin1, instance)


# ---------------------------------------------------------------------------------------------- ASN


def test_import_asn(cleanup, app_ctx, tmp_path):
    birth = date(1986, 4, 17)
    nik, nip = new_nik(birth, "P"), new_nip(birth, "P")
    nik2, nip2 = new_nik(date(1970, 1, 1), "L"), new_nip(date(1970, 1, 1), "L")
    cleanup["nip"] += [nip, nip2]
    header = "nip,nik,name,agency_code,unit,position,province"
    path = write_csv(
        tmp_path / "asn.csv",
        header,
        [
            f"{nip},{nik},Dewi Lestari,KOTA-BDG,Dinas Kesehatan,Analis Kepegawaian,Jawa Barat",  # 2
            f"{nip2},{nik},Agus Salim,KOTA-BDG,Inspektorat,Auditor,Jawa Barat",  # 3: NIP of someone else
            f"{nip2},{nik2},Agus Salim,KOTA BDG,Inspektorat,Auditor,Jawa Barat",  # 4
            f"{nip2},{nik2},Agus Salim,KOTA-BDG,Bagian Umum & Kepegawaian,Auditor,Jawa Barat",  # 5
            f"{nip2},{nik2},Agus Salim,KOTA-BDG,Inspektorat,A,Jawa Barat",  # 6
            f"{nip2},{nik2},Agus Salim,KOTA-BDG,Inspektorat,Auditor,Jawa-Barat",  # 7
            f"{nip2[:-1]},{nik2},Agus Salim,KOTA-BDG,Inspektorat,Auditor,Jawa Barat",  # 8
            f"{nip2},{nik2},Agus Salim,KOTA-BDG,Inspektorat,Auditor,Jawa Barat",  # 9
            f"{nip2},{nik2},Agus Salim,KOTA-BDG,Inspektorat,Auditor,Jawa Barat",  # 10
        ],
    )
    report = registries.import_asn(path)
    assert (report.imported, report.updated) == (2, 0)
    assert report.errors == [
        (3, "Tanggal lahir pada NIP tidak sama dengan pada NIK. Periksa kembali NIP dan NIK Anda."),
        (4, "Kode instansi harus 1 sampai 32 karakter: huruf, angka, titik, atau tanda hubung."),
        (5, "Unit kerja hanya boleh berisi huruf, angka, dan spasi."),
        (6, "Jabatan harus 2 sampai 150 karakter."),
        (7, "Provinsi hanya boleh berisi huruf, angka, dan spasi."),
        (8, "NIP harus 18 digit angka."),
        (10, "NIP ini sudah ada di baris 9."),
    ]
    local = LocalRegistry(Path(app_ctx.instance_path))
    assert local.find_civil_servant(nip) == CivilServant(
        nip, nik, "Dewi Lestari", "KOTA-BDG", "Dinas Kesehatan", "Analis Kepegawaian", "Jawa Barat"
    )
    assert local.find_civil_servant(nip2).unit == "Inspektorat"
    assert local.find_civil_servant(new_nip(birth, "L")) is None


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_import_population_commits_good_rows(app, runner, tmp_path, face_photos, cleanup):
    nik, bad = new_nik(date(1992, 7, 7), "L"), new_nik(date(1992, 7, 7), "L")
    cleanup["nik"] += [nik, bad]
    (tmp_path / "foto.jpg").write_bytes(face_photos["obama3"])
    path = write_csv(
        tmp_path / "penduduk.csv",
        "nik,name,birth_date,gender,photo",
        [f"{nik},Fajar Nugroho,1992-07-07,L,foto.jpg", f"{bad},Fajar Nugroho S.Kom,1992-07-07,L,"],
    )
    result = runner.invoke(args=["registry", "import", "population", str(path)])
    assert result.exit_code == 0, result.output
    assert "row 3: Tulis nama tanpa gelar: pindahkan “S.Kom” ke kolom gelar depan atau gelar belakang." in result.stderr
    assert "population: 1 imported, 0 updated, 1 rejected" in result.stdout
    with app.app_context():  # committed: visible from a fresh session
        row = db.session.get(PopulationRecord, nik)
        assert row.name == "Fajar Nugroho" and row.photo_path == f"registry/photos/{nik}.jpg"
        assert db.session.get(PopulationRecord, bad) is None
        event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        assert (event.action, event.subject_id) == ("registry.import", "population")
        assert json.loads(event.details) == {"file": "penduduk.csv", "imported": 1, "updated": 0, "rejected": 1}
    assert (Path(app.instance_path) / "registry" / "photos" / f"{nik}.jpg").read_bytes() == face_photos["obama3"]


def test_cli_import_fails_when_every_row_fails(app, runner, tmp_path, cleanup):
    nik = new_nik(date(1992, 7, 7), "L")
    cleanup["nik"].append(nik)
    path = write_csv(tmp_path / "p.csv", "nik,name,birth_date,gender", [f"{nik},Fajar2,1992-07-07,L", "1,A,B,C"])
    result = runner.invoke(args=["registry", "import", "population", str(path)])
    assert result.exit_code == 1
    assert "row 2: Nama lengkap tidak boleh berisi angka." in result.stderr
    assert "row 3: NIK harus 16 digit angka." in result.stderr
    assert "nothing was imported" in result.stderr

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("nik,name,birth_date,gender\n,Ñ,,\n".encode("latin-1"))
    result = runner.invoke(args=["registry", "import", "population", str(latin1)])
    assert result.exit_code == 1 and "UTF-8" in result.output
    result = runner.invoke(args=["registry", "import", "asn", str(tmp_path / "tidak-ada.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_cli_import_asn(app, runner, tmp_path, cleanup):
    birth = date(1980, 10, 10)
    nip = new_nip(birth, "L")
    cleanup["nip"].append(nip)
    path = write_csv(
        tmp_path / "asn.csv",
        "nip,nik,name,agency_code,unit,position,province",
        [f"{nip},{new_nik(birth, 'L')},Hendra Wijaya,KAB-01,Bagian Hukum,Kepala Bagian,Bali"],
    )
    result = runner.invoke(args=["registry", "import", "asn", str(path)])
    assert result.exit_code == 0, result.output
    assert "asn: 1 imported, 0 updated, 0 rejected" in result.stdout
    result = runner.invoke(args=["registry", "import", "asn", str(path)])
    assert "asn: 0 imported, 1 updated, 0 rejected" in result.stdout
    with app.app_context():
        assert db.session.get(AsnRecord, nip).position == "Kepala Bagian"


# ---------------------------------------------------------------------------------------------- HTTP registry


class RegistryHandler(BaseHTTPRequestHandler):
    """A registry service: people and civil servants by key, a photo, and some broken answers."""

    people: ClassVar[dict] = {}
    servants: ClassVar[dict] = {}
    photo: ClassVar[bytes] = b""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, b"{}")
        kind, _, key = self.path.strip("/").partition("/")
        if kind == "broken":
            return self.answer(500, b"internal error")
        if kind == "garbage":
            return self.answer(200, b"<html>not json</html>")
        if kind == "photos":
            return self.answer(200, self.photo, "image/jpeg")
        found = {"population": self.people, "asn": self.servants}.get(kind, {}).get(key)
        if found is None:
            return self.answer(404, b'{"error": "not found"}')
        return self.answer(200, json.dumps(found).encode())

    def answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture()
def registry_server(face_photos) -> Iterator[str]:
    """Serve a registry on loopback and return its base URL."""
    RegistryHandler.people = {
        "3201011208850001": {
            "nik": "3201011208850001",
            "name": "Budi Santoso",
            "birth_date": "1985-08-12",
            "gender": "L",
            "photo_url": "/photos/3201011208850001.jpg",
        },
        "3201015208850002": {"nik": "3201015208850002", "name": "Siti", "birth_date": "1985-08-12", "gender": "P"},
        "3201015208850003": {"nik": "3201015208850003", "name": "Rusak", "birth_date": "12-08-1985", "gender": "P"},
    }
    RegistryHandler.servants = {
        "198508122010011001": {
            "nip": "198508122010011001",
            "nik": "3201011208850001",
            "name": "Budi Santoso",
            "agency_code": "KOTA-BDG",
            "unit": "Bagian Umum",
            "position": "Arsiparis",
            "province": "Jawa Barat",
        }
    }
    RegistryHandler.photo = face_photos["obama"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), RegistryHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_http_registry_finds_people_and_civil_servants(registry_server, face_photos):
    remote = HttpRegistry(registry_server + "/", TOKEN, timeout=5)
    assert remote.find_person("3201011208850001") == Person(
        "3201011208850001", "Budi Santoso", date(1985, 8, 12), "L", True
    )
    assert remote.find_person("3201015208850002").has_photo is False
    assert remote.find_person("3201019999999999") is None
    assert remote.find_person("../asn/198508122010011001") is None  # keys are quoted into one path segment
    assert remote.find_civil_servant("198508122010011001") == CivilServant(
        "198508122010011001", "3201011208850001", "Budi Santoso", "KOTA-BDG", "Bagian Umum", "Arsiparis", "Jawa Barat"
    )
    assert remote.find_civil_servant("198508122010011002") is None
    assert remote.photo("3201011208850001") == face_photos["obama"]
    assert remote.photo("3201015208850002") is None
    assert remote.photo("3201019999999999") is None
    assert TOKEN not in repr(remote)


def test_http_registry_failures_are_unavailable(registry_server, caplog):
    message = "Layanan registri sedang tidak dapat dihubungi, coba lagi nanti."
    cases = [
        (HttpRegistry(registry_server, "salah-token"), "3201011208850001"),  # 401
        (HttpRegistry(registry_server + "/broken", TOKEN), "3201011208850001"),  # 500
        (HttpRegistry(registry_server + "/garbage", TOKEN), "3201011208850001"),  # not JSON
        (HttpRegistry(registry_server, TOKEN), "3201015208850003"),  # malformed record
        (HttpRegistry(f"http://127.0.0.1:{free_port()}", TOKEN, timeout=2), "3201011208850001"),  # server down
    ]
    for remote, nik in cases:
        with pytest.raises(RegistryUnavailable) as caught:
            remote.find_person(nik)
        assert str(caught.value) == message
    with pytest.raises(RegistryUnavailable):
        HttpRegistry(registry_server + "/broken", TOKEN).find_civil_servant("198508122010011001")
    assert TOKEN not in caplog.text and "salah-token" not in caplog.text
    assert "3201011208850001" not in caplog.text  # no NIK in logs


def test_registry_follows_config(app_ctx, monkeypatch):
    assert isinstance(registries.registry(), LocalRegistry)
    monkeypatch.setitem(app_ctx.config, "REGISTRY_URL", "http://registri.example/api")
    monkeypatch.setitem(app_ctx.config, "REGISTRY_TOKEN", TOKEN)
    remote = registries.registry()
    assert isinstance(remote, HttpRegistry)
    assert (remote.base_url, remote.token) == ("http://registri.example/api", TOKEN)


# ---------------------------------------------------------------------------------------------- demo data


def test_demo_people_are_consistent():
    pairs = registries.demo_people(200, agency_code="DEMO-01", seed=7)
    assert len(pairs) == 200
    assert registries.demo_people(200, agency_code="DEMO-01", seed=7) == pairs
    assert registries.demo_people(5, seed=8) != pairs[:5]
    assert len({person["nik"] for person, _ in pairs}) == 200
    assert len({servant["nip"] for _, servant in pairs}) == 200
    for person, servant in pairs:
        nik = identity.parse_nik(person["nik"])
        nip = identity.parse_nip(servant["nip"])
        identity.check_nip_matches_nik(nip, nik)
        assert (nik.birth_date, nik.gender) == (person["birth_date"], person["gender"])
        assert servant["nik"] == person["nik"] and servant["name"] == person["name"]
        assert identity.check_name(person["name"]) == person["name"]
        assert servant["agency_code"] == "DEMO-01"
        for label, value in (
            ("Unit", servant["unit"]),
            ("Jabatan", servant["position"]),
            ("Provinsi", servant["province"]),
        ):
            assert identity.check_free_text(value, label) == value
        assert servant["province"] == identity.PROVINCES[person["nik"][:2]]
        assert set(person) == {"nik", "name", "birth_date", "gender", "has_photo"}
    assert {person["gender"] for person, _ in pairs} == {"L", "P"}
