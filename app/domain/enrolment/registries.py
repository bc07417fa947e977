"""Population (Dukcapil) and civil-service (BKN) registries: local copies or an HTTP service, CSV imports, demo data."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from flask import current_app
from flask_babel import gettext

from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...models import AsnRecord, PopulationRecord
from ..errors import Unavailable
from . import identity
from .identity import InvalidInput

log = logging.getLogger(__name__)

PHOTO_FOLDER = Path("registry") / "photos"
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
POPULATION_COLUMNS = ("nik", "name", "birth_date", "gender", "photo")
ASN_COLUMNS = ("nip", "nik", "name", "agency_code", "unit", "position", "province")


class RegistryUnavailable(Unavailable):
    """The registry service could not be reached or answered nonsense."""

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("Layanan registri sedang tidak dapat dihubungi, coba lagi nanti."))


@dataclass(frozen=True)
class Person:
    """A person as the population registry knows them."""

    nik: str
    name: str
    birth_date: date
    gender: str
    has_photo: bool


@dataclass(frozen=True)
class CivilServant:
    """A civil servant as the civil-service registry knows them."""

    nip: str
    nik: str
    name: str
    agency_code: str
    unit: str
    position: str
    province: str


class Registry(Protocol):
    """Where people and civil servants are looked up."""

    def find_person(self, nik: str) -> Person | None:
        """Return the person with this NIK, or None."""

    def find_civil_servant(self, nip: str) -> CivilServant | None:
        """Return the civil servant with this NIP, or None."""

    def photo(self, nik: str) -> bytes | None:
        """Return the registry photo of the person with this NIK, or None."""


class LocalRegistry:
    """The registries as imported into this database; photos are files under the instance folder."""

    def __init__(self, instance: Path):
        self.instance = Path(instance).resolve()

    def find_person(self, nik: str) -> Person | None:
        """Return the person with this NIK, or None."""
        row = db.session.get(PopulationRecord, nik)
        if row is None:
            return None
        return Person(row.nik, row.name, row.birth_date, row.gender, row.photo_path is not None)

    def find_civil_servant(self, nip: str) -> CivilServant | None:
        """Return the civil servant with this NIP, or None."""
        row = db.session.get(AsnRecord, nip)
        if row is None:
            return None
        return CivilServant(row.nip, row.nik, row.name, row.agency_code, row.unit, row.position, row.province)

    def photo(self, nik: str) -> bytes | None:
        """Return the stored photo of the person with this NIK, or None."""
        row = db.session.get(PopulationRecord, nik)
        if row is None or row.photo_path is None:
            return None
        path = (self.instance / row.photo_path).resolve()
        if not path.is_relative_to(self.instance) or not path.is_file():
            log.warning("a registry photo file named in the population table is missing")
            return None
        return path.read_bytes()


class HttpRegistry:
    """A registry service over HTTP: ``GET {base}/population/{nik}`` and ``GET {base}/asn/{nip}``, bearer token."""

    def __init__(self, base_url: str, token: str = "", timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpRegistry({self.base_url!r})"  # never the token

    def get(self, url: str, limit: int, what: str) -> bytes | None:
        """Return the body of a GET, None on 404; raise RegistryUnavailable on anything else (logs name ``what``)."""
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            log.warning("registry %s: URL is not http(s)", what)
            raise RegistryUnavailable()
        headers = {"Accept": "application/json, image/jpeg, image/png"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout) as resp:
                body = resp.read(limit + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return None
            log.warning("registry %s: HTTP %s", what, exc.code)
            raise RegistryUnavailable() from None
        except (OSError, ValueError) as exc:
            log.warning("registry %s: unreachable (%s)", what, type(exc).__name__)
            raise RegistryUnavailable() from None
        if len(body) > limit:
            log.warning("registry %s: answer larger than %d bytes", what, limit)
            raise RegistryUnavailable()
        return body

    def get_json(self, kind: str, key: str) -> dict | None:
        """Return ``{base}/{kind}/{key}`` as a JSON object, or None on 404."""
        body = self.get(f"{self.base_url}/{kind}/{urllib.parse.quote(key, safe='')}", MAX_JSON_BYTES, kind)
        if body is None:
            return None
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("registry %s: answer is not a JSON object", kind)
            raise RegistryUnavailable()
        return data

    def find_person(self, nik: str) -> Person | None:
        """Return the person with this NIK, or None."""
        data = self.get_json("population", nik)
        if data is None:
            return None
        try:
            gender = str(data["gender"]).upper()
            if gender not in ("L", "P"):
                raise ValueError("gender")
            return Person(
                str(data["nik"]),
                str(data["name"]),
                date.fromisoformat(data["birth_date"]),
                gender,
                bool(data.get("photo_url")),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("registry population: answer is malformed")
            raise RegistryUnavailable() from None

    def find_civil_servant(self, nip: str) -> CivilServant | None:
        """Return the civil servant with this NIP, or None."""
        data = self.get_json("asn", nip)
        if data is None:
            return None
        try:
            return CivilServant(*(str(data[name]) for name in ASN_COLUMNS))
        except (KeyError, TypeError):
            log.warning("registry asn: answer is malformed")
            raise RegistryUnavailable() from None

    def photo(self, nik: str) -> bytes | None:
        """Return the registry photo of the person with this NIK (from their ``photo_url``), or None."""
        data = self.get_json("population", nik)
        if data is None or not data.get("photo_url"):
            return None
        return self.get(urllib.parse.urljoin(self.base_url + "/", str(data["photo_url"])), MAX_PHOTO_BYTES, "photo")


def registry() -> Registry:
    """Return the configured registry: the HTTP service at ``REGISTRY_URL``, or the local copy when it is empty."""
    config = current_app.config
    if config.get("REGISTRY_URL"):
        return HttpRegistry(config["REGISTRY_URL"], config.get("REGISTRY_TOKEN") or "")
    return LocalRegistry(Path(current_app.instance_path))


# ---------------------------------------------------------------------------------------------- CSV imports


@dataclass
class ImportReport:
    """What a CSV import did: rows added, rows changed, and rejected rows as (row number, message)."""

    imported: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        """Return how many rows were stored."""
        return self.imported + self.updated


def read_rows(path: Path, columns: tuple[str, ...], report: ImportReport):
    """Yield (row number, row dict) from a CSV with a header (comma or semicolon), reporting a bad header."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(gettext("Berkas CSV harus berenkode UTF-8. Simpan ulang sebagai “CSV UTF-8”.")) from None
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in columns if name not in fields and name != "photo"]
    if missing:
        report.errors.append((1, gettext("Kolom wajib tidak ada di baris judul: %(columns)s.", columns=", ".join(missing))))
        return
    reader.fieldnames = fields
    for row in reader:  # line_num: the file's line number, right even after blank lines
        yield reader.line_num, {name: (row.get(name) or "").strip() for name in columns}


def check_gender(raw: str) -> str:
    """Return L or P, or raise InvalidInput."""
    gender = raw.strip().upper()
    if gender not in ("L", "P"):
        raise InvalidInput(gettext("Jenis kelamin harus L (laki-laki) atau P (perempuan)."))
    return gender


def check_date(raw: str) -> date:
    """Return a YYYY-MM-DD date, or raise InvalidInput."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(gettext("Tanggal lahir harus berformat YYYY-MM-DD, misalnya 1985-07-21.")) from None


def read_photo(raw: str, folder: Path) -> bytes:
    """Return the bytes of a JPEG or PNG named in a CSV row (relative to the CSV's folder, or absolute)."""
    path = Path(raw)
    path = path if path.is_absolute() else folder / path
    if not path.is_file():
        raise InvalidInput(gettext("Berkas foto “%(file)s” tidak ditemukan (jalur relatif dihitung dari folder CSV).", file=raw))
    if path.stat().st_size > MAX_PHOTO_BYTES:
        raise InvalidInput(gettext("Berkas foto “%(file)s” lebih dari 10 MB; kecilkan ukurannya.", file=raw))
    data = path.read_bytes()
    if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        raise InvalidInput(gettext("Berkas foto “%(file)s” bukan gambar JPEG atau PNG.", file=raw))
    return data


def store_photo(instance: Path, nik: str, data: bytes) -> str:
    """Write a registry photo as ``registry/photos/<nik>.jpg`` under the instance folder; return that relative path."""
    if not data.startswith(b"\xff\xd8\xff"):  # PNG: store as JPEG so every registry photo is one kind of file
        import cv2
        import numpy as np

        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        ok, encoded = (
            cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95]) if image is not None else (False, None)
        )
        if not ok:
            raise InvalidInput(gettext("Berkas foto PNG tidak dapat dibaca; periksa berkasnya."))
        data = encoded.tobytes()
    relative = PHOTO_FOLDER / f"{nik}.jpg"
    target = Path(instance) / relative
    private_folder(target.parent)
    temporary = target.with_suffix(".part")
    write_private(temporary, data)
    os.replace(temporary, target)
    return relative.as_posix()


def import_population(path: Path, instance: Path) -> ImportReport:
    """Upsert population rows (nik,name,birth_date,gender[,photo]) from a CSV; report the rows rejected."""
    report, seen = ImportReport(), {}
    for number, row in read_rows(path, POPULATION_COLUMNS, report):
        try:
            nik = identity.parse_nik(row["nik"])
            name = identity.check_name(row["name"])
            birth_date, gender = check_date(row["birth_date"]), check_gender(row["gender"])
            if birth_date != nik.birth_date:
                raise InvalidInput(gettext("Tanggal lahir tidak sama dengan yang tertulis di NIK."))
            if gender != nik.gender:
                raise InvalidInput(gettext("Jenis kelamin tidak sama dengan yang tertulis di NIK."))
            key = row["nik"].strip()
            if key in seen:
                raise InvalidInput(gettext("NIK ini sudah ada di baris %(row)d.", row=seen[key]))
            photo = read_photo(row["photo"], Path(path).parent) if row["photo"] else None
            photo_path = store_photo(instance, key, photo) if photo else None
        except InvalidInput as exc:
            report.errors.append((number, exc.message))
            continue
        seen[key] = number
        record = db.session.get(PopulationRecord, key)
        if record is None:
            record = PopulationRecord(nik=key)
            db.session.add(record)
            report.imported += 1
        else:
            report.updated += 1
        record.name, record.birth_date, record.gender = name, birth_date, gender
        if photo_path:  # an empty photo column keeps the photo already stored
            record.photo_path = photo_path
    db.session.flush()
    return report


def import_asn(path: Path) -> ImportReport:
    """Upsert civil-service rows (nip,nik,name,agency_code,unit,position,province) from a CSV; report rejects."""
    report, seen = ImportReport(), {}
    for number, row in read_rows(path, ASN_COLUMNS, report):
        try:
            nip_info = identity.parse_nip(row["nip"])
            identity.check_nip_matches_nik(nip_info, identity.parse_nik(row["nik"]))
            values = {
                "nik": row["nik"].strip(),
                "name": identity.check_name(row["name"]),
                "agency_code": check_agency_code(row["agency_code"]),
                "unit": identity.check_free_text(row["unit"], gettext("Unit kerja")),
                "position": identity.check_free_text(row["position"], gettext("Jabatan")),
                "province": identity.check_free_text(row["province"], gettext("Provinsi")),
            }
            key = row["nip"].strip()
            if key in seen:
                raise InvalidInput(gettext("NIP ini sudah ada di baris %(row)d.", row=seen[key]))
        except InvalidInput as exc:
            report.errors.append((number, exc.message))
            continue
        seen[key] = number
        record = db.session.get(AsnRecord, key)
        if record is None:
            record = AsnRecord(nip=key)
            db.session.add(record)
            report.imported += 1
        else:
            report.updated += 1
        for name, value in values.items():
            setattr(record, name, value)
    db.session.flush()
    return report


def check_agency_code(raw: str) -> str:
    """Return an agency code (letters, digits, dots, dashes; 1..32), or raise InvalidInput."""
    code = raw.strip()
    if not 1 <= len(code) <= 32 or not all(ch.isascii() and (ch.isalnum() or ch in ".-_") for ch in code):
        raise InvalidInput(gettext("Kode instansi harus 1 sampai 32 karakter: huruf, angka, titik, atau tanda hubung."))
    return code


# ---------------------------------------------------------------------------------------------- demo data

MALE_NAMES = (
    "Budi",
    "Agus",
    "Joko",
    "Andi",
    "Dedi",
    "Hendra",
    "Rudi",
    "Eko",
    "Bambang",
    "Wahyu",
    "Yusuf",
    "Arif",
    "Fajar",
    "Rizki",
    "Dimas",
    "Ahmad",
    "Made",
    "Ketut",
    "Nyoman",
    "Teguh",
    "Sigit",
    "Irfan",
    "Bayu",
    "Putu",
)
FEMALE_NAMES = (
    "Siti",
    "Dewi",
    "Sri",
    "Rina",
    "Ayu",
    "Fitri",
    "Lestari",
    "Indah",
    "Wulan",
    "Ratna",
    "Nur",
    "Yuni",
    "Ani",
    "Putri",
    "Kartika",
    "Intan",
    "Rahma",
    "Nanda",
    "Wayan",
    "Mega",
    "Desi",
    "Lina",
    "Sari",
    "Tuti",
)
FAMILY_NAMES = (
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Nugroho",
    "Setiawan",
    "Pratama",
    "Kurniawan",
    "Siregar",
    "Nasution",
    "Harahap",
    "Simanjuntak",
    "Lubis",
    "Hasibuan",
    "Sembiring",
    "Purba",
    "Lestari",
    "Rahmawati",
    "Susanti",
    "Wulandari",
    "Permana",
    "Gunawan",
    "Suryadi",
    "Halim",
    "Tanjung",
    "Manurung",
    "Pohan",
    "Daulay",
)
UNITS = (
    "Sekretariat Daerah",
    "Bagian Umum",
    "Bagian Hukum",
    "Bagian Organisasi",
    "Dinas Kesehatan",
    "Dinas Pendidikan",
    "Dinas Komunikasi dan Informatika",
    "Badan Kepegawaian Daerah",
    "Badan Keuangan Daerah",
    "Dinas Pekerjaan Umum",
    "Dinas Kependudukan dan Pencatatan Sipil",
    "Inspektorat",
)
POSITIONS = (
    "Kepala Bagian",
    "Kepala Subbagian",
    "Analis Kepegawaian",
    "Pranata Komputer",
    "Arsiparis",
    "Analis Kebijakan",
    "Auditor",
    "Perencana",
    "Pengelola Keuangan",
    "Penata Laksana Barang",
    "Sekretaris",
    "Kepala Seksi",
)


def demo_people(
    count: int, agency_code: str = "DEMO", seed: int = 0, today: date | None = None
) -> list[tuple[dict, dict]]:
    """Return ``count`` synthetic (person, civil servant) pairs with consistent NIK, NIP, birth date and gender."""
    today = today or date.today()
    rng = random.Random(seed)
    people, niks, nips = [], set(), set()
    while len(people) < count:
        gender = rng.choice("LP")
        given = rng.choice(MALE_NAMES if gender == "L" else FEMALE_NAMES)
        name = f"{given} {rng.choice(FAMILY_NAMES)}"
        birth = date(rng.randint(1965, today.year - 25), rng.randint(1, 12), rng.randint(1, 28))
        province = rng.choice(sorted(identity.PROVINCES))
        day = birth.day + (40 if gender == "P" else 0)
        nik = (
            f"{province}{rng.randint(1, 30):02d}{rng.randint(1, 40):02d}"
            f"{day:02d}{birth.month:02d}{birth.year % 100:02d}{rng.randint(1, 9999):04d}"
        )
        latest = min(today.year - 1, birth.year + 40)
        appointed = (rng.randint(birth.year + 21, latest), rng.randint(1, 12))
        nip = (
            f"{birth:%Y%m%d}{appointed[0]:04d}{appointed[1]:02d}{'1' if gender == 'L' else '2'}"
            f"{rng.randint(1, 999):03d}"
        )
        if nik in niks or nip in nips:
            continue
        niks.add(nik)
        nips.add(nip)
        person = Person(nik, name, birth, gender, has_photo=False)
        servant = CivilServant(
            nip, nik, name, agency_code, rng.choice(UNITS), rng.choice(POSITIONS), identity.PROVINCES[province]
        )
        people.append((asdict(person), asdict(servant)))
    return people
