"""Check and parse what people type about themselves: names, titles, NIK, NIP, phone numbers, free text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from flask_babel import gettext

from ..errors import InputError

Gender = Literal["L", "P"]

# Province codes as used in the first two digits of a NIK (Kemendagri), with their names.
PROVINCES = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

# Academic, religious and professional titles (lower case, dots removed) that belong in the title fields.
TITLES = frozenset(
    ("dr", "drs", "dra", "ir", "prof", "h", "hj", "kh")  # front
    + ("skom", "mkom", "se", "st", "mm", "sh", "mh", "spd", "mpd", "sag", "mag", "ssos", "msi", "sip", "ssi")
    + ("skm", "sked", "mkes", "sfarm", "apt", "spog", "sst", "mt", "msc", "bsc", "mba", "phd", "amd", "sth")
    + ("sikom", "mikom")
)

NAME_MIN, NAME_MAX = 2, 100
TITLE_MAX = 60
FREE_TEXT_MIN, FREE_TEXT_MAX = 2, 150


class InvalidInput(InputError):
    """A value a person typed that cannot be accepted; the message (Indonesian msgid, translated) says what to fix."""



@dataclass(frozen=True)
class NikInfo:
    """What a NIK (Nomor Induk Kependudukan) encodes."""

    region_code: str
    birth_date: date
    gender: Gender
    sequence: str


@dataclass(frozen=True)
class NipInfo:
    """What a NIP (Nomor Induk Pegawai) encodes."""

    birth_date: date
    appointed: tuple[int, int]
    gender: Gender
    sequence: str


def collapse(raw: object) -> str:
    """Return ``raw`` as NFC text with surrounding spaces trimmed and inner runs of spaces made single."""
    text = unicodedata.normalize("NFC", raw if isinstance(raw, str) else "")
    return " ".join(text.split())


def check_name(raw: object) -> str:
    """Return the cleaned full name, or raise InvalidInput: letters and single spaces, no titles."""
    name = collapse(raw)
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise InvalidInput(gettext("Nama lengkap harus %(min)d sampai %(max)d karakter.", min=NAME_MIN, max=NAME_MAX), "name")
    if any(ch.isdigit() for ch in name):
        raise InvalidInput(gettext("Nama lengkap tidak boleh berisi angka."), "name")
    for token in re.split(r"[\s,]+", name):
        if token.replace(".", "").lower() in TITLES:
            raise InvalidInput(
                gettext(
                    "Tulis nama tanpa gelar: pindahkan “%(title)s” ke kolom gelar depan atau gelar belakang.", title=token
                ),
                "name",
            )
    if not all(ch.isalpha() or ch == " " for ch in name):
        raise InvalidInput(gettext("Nama lengkap hanya boleh berisi huruf dan spasi, tanpa tanda baca."), "name")
    return name


def check_title(raw: object, field: str = "title") -> str:
    """Return the cleaned front or back title (may be empty), or raise InvalidInput."""
    title = collapse(raw)
    if len(title) > TITLE_MAX:
        raise InvalidInput(gettext("Gelar paling banyak %(max)d karakter.", max=TITLE_MAX), field)
    if not all(ch.isalpha() or ch in " .," for ch in title):
        raise InvalidInput(gettext("Gelar hanya boleh berisi huruf, titik, koma, dan spasi, misalnya “S.Kom., M.Kom.”."), field)
    return title


def check_free_text(raw: object, label: str) -> str:
    """Return cleaned free text (letters, digits, spaces; 2..150 characters), or raise InvalidInput naming ``label``."""
    text = collapse(raw)
    if not FREE_TEXT_MIN <= len(text) <= FREE_TEXT_MAX:
        raise InvalidInput(
            gettext("%(label)s harus %(min)d sampai %(max)d karakter.", label=label, min=FREE_TEXT_MIN, max=FREE_TEXT_MAX), label
        )
    if not all(ch.isalpha() or ch in "0123456789 " for ch in text):
        raise InvalidInput(gettext("%(label)s hanya boleh berisi huruf, angka, dan spasi.", label=label), label)
    return text


def two_digit_century(yy: int, today: date) -> int:
    """Return the full year for a two-digit year: later than this year's two digits means the 1900s."""
    return 1900 + yy if yy > today.year % 100 else 2000 + yy


def parse_nik(nik: object, today: date | None = None) -> NikInfo:
    """Return what a 16-digit NIK encodes, or raise InvalidInput saying which part is wrong."""
    today = today or date.today()
    if not isinstance(nik, str) or not re.fullmatch(r"[0-9]{16}", nik.strip()):
        raise InvalidInput(gettext("NIK harus 16 digit angka."), "nik")
    nik = nik.strip()
    if nik[:2] not in PROVINCES:
        raise InvalidInput(gettext("Kode provinsi pada NIK (2 digit pertama) tidak dikenal. Periksa kembali NIK Anda."), "nik")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise InvalidInput(
            gettext("Kode kabupaten/kota dan kecamatan pada NIK (digit 3–6) tidak boleh 00. Periksa kembali NIK Anda."), "nik"
        )
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    gender: Gender = "P" if day > 40 else "L"
    if day > 40:
        day -= 40
    try:
        birth = date(two_digit_century(yy, today), month, day)
    except ValueError:
        raise InvalidInput(
            gettext(
                "Tanggal lahir pada NIK (digit 7–12, DDMMYY; perempuan +40 pada tanggal) tidak valid. "
                "Periksa kembali NIK Anda."
            ),
            "nik",
        ) from None
    if birth > today:
        raise InvalidInput(gettext("Tanggal lahir pada NIK tidak boleh di masa depan. Periksa kembali NIK Anda."), "nik")
    if nik[12:] == "0000":
        raise InvalidInput(gettext("Nomor urut pada NIK (4 digit terakhir) tidak boleh 0000. Periksa kembali NIK Anda."), "nik")
    return NikInfo(region_code=nik[:6], birth_date=birth, gender=gender, sequence=nik[12:])


def parse_nip(nip: object, today: date | None = None) -> NipInfo:
    """Return what an 18-digit NIP encodes, or raise InvalidInput saying which part is wrong."""
    today = today or date.today()
    if not isinstance(nip, str) or not re.fullmatch(r"[0-9]{18}", nip.strip()):
        raise InvalidInput(gettext("NIP harus 18 digit angka."), "nip")
    nip = nip.strip()
    try:
        birth = date(int(nip[:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900:
        raise InvalidInput(gettext("Tanggal lahir pada NIP (digit 1–8, YYYYMMDD) tidak valid. Periksa kembali NIP Anda."), "nip")
    if birth > today:
        raise InvalidInput(gettext("Tanggal lahir pada NIP tidak boleh di masa depan. Periksa kembali NIP Anda."), "nip")
    year, month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= month <= 12:
        raise InvalidInput(gettext("Bulan TMT CPNS pada NIP (digit 13–14) harus 01 sampai 12. Periksa kembali NIP Anda."), "nip")
    if year < birth.year + 17:
        raise InvalidInput(
            gettext("TMT CPNS pada NIP (digit 9–14) terlalu dekat dengan tanggal lahir. Periksa kembali NIP Anda."), "nip"
        )
    if (year, month) > (today.year, today.month):
        raise InvalidInput(gettext("TMT CPNS pada NIP (digit 9–14) tidak boleh di masa depan. Periksa kembali NIP Anda."), "nip")
    if nip[14] not in "12":
        raise InvalidInput(
            gettext("Digit ke-15 NIP (jenis kelamin) harus 1 (laki-laki) atau 2 (perempuan). Periksa kembali NIP Anda."), "nip"
        )
    if nip[15:] == "000":
        raise InvalidInput(gettext("Nomor urut pada NIP (3 digit terakhir) tidak boleh 000. Periksa kembali NIP Anda."), "nip")
    return NipInfo(birth_date=birth, appointed=(year, month), gender="L" if nip[14] == "1" else "P", sequence=nip[15:])


def check_nip_matches_nik(nip_info: NipInfo, nik_info: NikInfo) -> None:
    """Raise InvalidInput unless the NIP and the NIK give the same birth date and gender."""
    if nip_info.birth_date != nik_info.birth_date:
        raise InvalidInput(
            gettext("Tanggal lahir pada NIP tidak sama dengan pada NIK. Periksa kembali NIP dan NIK Anda."), "nip"
        )
    if nip_info.gender != nik_info.gender:
        raise InvalidInput(
            gettext("Jenis kelamin pada NIP tidak sama dengan pada NIK. Periksa kembali NIP dan NIK Anda."), "nip"
        )


def normalise_phone(raw: object) -> str:
    """Return an Indonesian mobile number as ``+628…``, or raise InvalidInput."""
    digits = re.sub(r"[ -]", "", raw if isinstance(raw, str) else "")  # spaces and dashes, as people group digits
    for prefix in ("+62", "62", "0"):
        if digits.startswith(prefix):
            national = digits[len(prefix) :]
            if re.fullmatch(r"8[0-9]{8,11}", national):
                return "+62" + national
            break
    raise InvalidInput(
        gettext("Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890 atau +62 812 3456 7890."), "phone"
    )
