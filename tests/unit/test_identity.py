"""Names, titles, NIK, NIP, phone numbers and free text as people type them."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.enrolment.identity import (
    PROVINCES,
    InvalidInput,
    NikInfo,
    NipInfo,
    check_free_text,
    check_name,
    check_nip_matches_nik,
    check_title,
    normalise_phone,
    parse_nik,
    parse_nip,
)

TODAY = date(2025, 6, 15)


def rejects(func, raw, message, *args, **kwargs):
    """Assert ``func(raw)`` raises InvalidInput whose message contains ``message``."""
    with pytest.raises(InvalidInput) as caught:
        func(raw, *args, **kwargs)
    assert message in caught.value.message
    assert str(caught.value) == caught.value.message
    return caught.value


# --------------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Budi Santoso", "Budi Santoso"),
        ("  budi   santoso\t", "budi santoso"),
        ("Ñoman Érik", "Ñoman Érik"),
        ("N\u0303oman", "Ñoman"),  # combining tilde is composed, not refused as punctuation
        ("Ni Luh Putu Ayu", "Ni Luh Putu Ayu"),
        ("Yu", "Yu"),
        ("A" * 100, "A" * 100),
        ("Siti Hajar", "Siti Hajar"),  # tokens that merely start like a title are fine
        ("Drajat Irawan", "Drajat Irawan"),
    ],
)
def test_name_accepted(raw, expected):
    assert check_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("B", "Nama lengkap harus 2 sampai 100 karakter."),
        ("   ", "Nama lengkap harus 2 sampai 100 karakter."),
        (None, "Nama lengkap harus 2 sampai 100 karakter."),
        ("A" * 101, "Nama lengkap harus 2 sampai 100 karakter."),
        ("Budi Santoso 2", "Nama lengkap tidak boleh berisi angka."),
        ("Budi²", "Nama lengkap tidak boleh berisi angka."),
        ("O'Neil Santoso", "Nama lengkap hanya boleh berisi huruf dan spasi, tanpa tanda baca."),
        ("Budi-Santoso", "Nama lengkap hanya boleh berisi huruf dan spasi, tanpa tanda baca."),
        ("Budi Santoso.", "Nama lengkap hanya boleh berisi huruf dan spasi, tanpa tanda baca."),
        ("Budi_Santoso", "Nama lengkap hanya boleh berisi huruf dan spasi, tanpa tanda baca."),
    ],
)
def test_name_refused(raw, message):
    error = rejects(check_name, raw, message)
    assert error.field == "name"


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Dr. Budi Santoso", "Dr."),
        ("Dr Budi Santoso", "Dr"),
        ("dr Budi Santoso", "dr"),
        ("Ir Budi Santoso", "Ir"),
        ("Drs. Budi Santoso", "Drs."),
        ("Prof Budi Santoso", "Prof"),
        ("H Ahmad Dahlan", "H"),
        ("H. Ahmad Dahlan", "H."),
        ("Hj Siti Aminah", "Hj"),
        ("Budi Santoso, S.Kom", "S.Kom"),
        ("Budi Santoso S.Kom.", "S.Kom."),
        ("Budi Santoso M.Kom", "M.Kom"),
        ("Budi Santoso SE", "SE"),
        ("Budi Santoso ST", "ST"),
        ("Budi Santoso MM", "MM"),
        ("Budi Santoso S.H., M.H.", "S.H."),
    ],
)
def test_name_with_title_refused(raw, title):
    rejects(check_name, raw, f"Tulis nama tanpa gelar: pindahkan “{title}” ke kolom gelar depan atau gelar belakang.")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        (None, ""),
        ("Dr.", "Dr."),
        (" S.Kom.,  M.Kom. ", "S.Kom., M.Kom."),
        ("Ph.D", "Ph.D"),
        ("x" * 60, "x" * 60),
    ],
)
def test_title_accepted(raw, expected):
    assert check_title(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("x" * 61, "Gelar paling banyak 60 karakter."),
        ("S2", "Gelar hanya boleh berisi huruf, titik, koma, dan spasi"),
        ("S.Kom (Hons)", "Gelar hanya boleh berisi huruf, titik, koma, dan spasi"),
        ("M.Sc/MBA", "Gelar hanya boleh berisi huruf, titik, koma, dan spasi"),
    ],
)
def test_title_refused(raw, message):
    assert rejects(check_title, raw, message, field="front_title").field == "front_title"


# --------------------------------------------------------------------------------------------------- NIK


@pytest.mark.parametrize(
    ("nik", "expected"),
    [
        ("3201011208850001", NikInfo("320101", date(1985, 8, 12), "L", "0001")),
        ("3201015208850002", NikInfo("320101", date(1985, 8, 12), "P", "0002")),
        ("3174054102050003", NikInfo("317405", date(2005, 2, 1), "P", "0003")),
        ("9601013112249999", NikInfo("960101", date(2024, 12, 31), "L", "9999")),
        ("1101010101250001", NikInfo("110101", date(2025, 1, 1), "L", "0001")),  # YY up to this year: 20YY
        ("1101010101260001", NikInfo("110101", date(1926, 1, 1), "L", "0001")),  # YY after this year: 19YY
        ("1101016902000001", NikInfo("110101", date(2000, 2, 29), "P", "0001")),
        (" 3201011208850001 ", NikInfo("320101", date(1985, 8, 12), "L", "0001")),
    ],
)
def test_nik_parsed(nik, expected):
    assert parse_nik(nik, today=TODAY) == expected


def test_nik_uses_today_by_default():
    assert parse_nik("3201011208850001").birth_date == date(1985, 8, 12)


def test_every_province_code_is_accepted():
    assert len(PROVINCES) == 38
    for code in PROVINCES:
        assert parse_nik(f"{code}01011208850001", today=TODAY).region_code == f"{code}0101"


@pytest.mark.parametrize(
    ("nik", "message"),
    [
        ("320101120885000", "NIK harus 16 digit angka."),
        ("32010112088500011", "NIK harus 16 digit angka."),
        ("32010112088500O1", "NIK harus 16 digit angka."),
        ("3201-0112-0885-0001", "NIK harus 16 digit angka."),
        ("٣٢٠١٠١١٢٠٨٨٥٠٠٠١", "NIK harus 16 digit angka."),
        ("", "NIK harus 16 digit angka."),
        (None, "NIK harus 16 digit angka."),
        (3201011208850001, "NIK harus 16 digit angka."),
        ("1001011208850001", "Kode provinsi pada NIK (2 digit pertama) tidak dikenal."),
        ("2001011208850001", "Kode provinsi pada NIK (2 digit pertama) tidak dikenal."),
        ("9901011208850001", "Kode provinsi pada NIK (2 digit pertama) tidak dikenal."),
        ("3200011208850001", "Kode kabupaten/kota dan kecamatan pada NIK (digit 3–6) tidak boleh 00."),
        ("3201001208850001", "Kode kabupaten/kota dan kecamatan pada NIK (digit 3–6) tidak boleh 00."),
        ("3201010008850001", "Tanggal lahir pada NIK (digit 7–12, DDMMYY; perempuan +40 pada tanggal) tidak valid."),
        ("3201013208850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201014008850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201017208850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201011213850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201011200850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201013002850001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201012902230001", "Tanggal lahir pada NIK (digit 7–12"),
        ("3201010107250001", "Tanggal lahir pada NIK tidak boleh di masa depan."),
        ("9601013112250001", "Tanggal lahir pada NIK tidak boleh di masa depan."),  # 25 is 2025, never 1925
        ("3201011208850000", "Nomor urut pada NIK (4 digit terakhir) tidak boleh 0000."),
    ],
)
def test_nik_refused(nik, message):
    error = rejects(parse_nik, nik, message, today=TODAY)
    assert error.field == "nik"
    assert error.message.endswith(".")


# --------------------------------------------------------------------------------------------------- NIP


@pytest.mark.parametrize(
    ("nip", "expected"),
    [
        ("198508122010011001", NipInfo(date(1985, 8, 12), (2010, 1), "L", "001")),
        ("198508122010122002", NipInfo(date(1985, 8, 12), (2010, 12), "P", "002")),
        ("198508122002011999", NipInfo(date(1985, 8, 12), (2002, 1), "L", "999")),  # birth year + 17 is allowed
        ("199001012025061001", NipInfo(date(1990, 1, 1), (2025, 6), "L", "001")),  # this month is allowed
    ],
)
def test_nip_parsed(nip, expected):
    assert parse_nip(nip, today=TODAY) == expected


@pytest.mark.parametrize(
    ("nip", "message"),
    [
        ("19850812201001100", "NIP harus 18 digit angka."),
        ("1985081220100110011", "NIP harus 18 digit angka."),
        ("19850812 201001 1 001", "NIP harus 18 digit angka."),
        ("1985081220100110A1", "NIP harus 18 digit angka."),
        (None, "NIP harus 18 digit angka."),
        ("198513122010011001", "Tanggal lahir pada NIP (digit 1–8, YYYYMMDD) tidak valid."),
        ("198502302010011001", "Tanggal lahir pada NIP (digit 1–8, YYYYMMDD) tidak valid."),
        ("000001012010011001", "Tanggal lahir pada NIP (digit 1–8, YYYYMMDD) tidak valid."),
        ("185001011900011001", "Tanggal lahir pada NIP (digit 1–8, YYYYMMDD) tidak valid."),
        ("202507012025071001", "Tanggal lahir pada NIP tidak boleh di masa depan."),
        ("198508122010001001", "Bulan TMT CPNS pada NIP (digit 13–14) harus 01 sampai 12."),
        ("198508122010131001", "Bulan TMT CPNS pada NIP (digit 13–14) harus 01 sampai 12."),
        ("198508122001121001", "TMT CPNS pada NIP (digit 9–14) terlalu dekat dengan tanggal lahir."),
        ("198508122025071001", "TMT CPNS pada NIP (digit 9–14) tidak boleh di masa depan."),
        ("198508122010013001", "Digit ke-15 NIP (jenis kelamin) harus 1 (laki-laki) atau 2 (perempuan)."),
        ("198508122010010001", "Digit ke-15 NIP (jenis kelamin) harus 1 (laki-laki) atau 2 (perempuan)."),
        ("198508122010011000", "Nomor urut pada NIP (3 digit terakhir) tidak boleh 000."),
    ],
)
def test_nip_refused(nip, message):
    assert rejects(parse_nip, nip, message, today=TODAY).field == "nip"


def test_nip_matches_nik():
    nik = parse_nik("3201015208850002", today=TODAY)
    check_nip_matches_nik(parse_nip("198508122010012002", today=TODAY), nik)  # no exception
    with pytest.raises(InvalidInput, match="Tanggal lahir pada NIP tidak sama dengan pada NIK"):
        check_nip_matches_nik(parse_nip("198508132010012002", today=TODAY), nik)
    with pytest.raises(InvalidInput, match="Jenis kelamin pada NIP tidak sama dengan pada NIK"):
        check_nip_matches_nik(parse_nip("198508122010011002", today=TODAY), nik)


# --------------------------------------------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("08123456789", "+628123456789"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812 3456 7890", "+6281234567890"),
        ("+62-812-3456-7890", "+6281234567890"),
        ("628123456789", "+628123456789"),
        ("+628123456789", "+628123456789"),
        (" 0812345678 ", "+62812345678"),  # 9 digits after +62
        ("0812345678901", "+62812345678901"),  # 12 digits after +62
    ],
)
def test_phone_normalised(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0212345678",  # landline
        "081234567",  # 8 digits after the prefix
        "08123456789012",  # 13 digits after the prefix
        "+6308123456789",  # another country
        "+6208123456789",  # trunk zero kept after +62
        "8123456789",  # no prefix
        "0812.3456.7890",
        "0812-3456-789O",
        "+62 812 3456 7890 ext 1",
        "",
        None,
    ],
)
def test_phone_refused(raw):
    error = rejects(normalise_phone, raw, "Nomor HP harus nomor seluler Indonesia, misalnya 0812 3456 7890")
    assert error.field == "phone"


# --------------------------------------------------------------------------------------------------- free text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dinas Kesehatan", "Dinas Kesehatan"),
        ("  Bidang   TI 2 ", "Bidang TI 2"),
        ("Jawa Barat", "Jawa Barat"),
        ("ab", "ab"),
        ("a" * 150, "a" * 150),
    ],
)
def test_free_text_accepted(raw, expected):
    assert check_free_text(raw, "Unit kerja") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a", "Unit kerja harus 2 sampai 150 karakter."),
        (None, "Unit kerja harus 2 sampai 150 karakter."),
        ("a" * 151, "Unit kerja harus 2 sampai 150 karakter."),
        ("Bagian Umum & Kepegawaian", "Unit kerja hanya boleh berisi huruf, angka, dan spasi."),
        ("Bagian Umum, Kepegawaian", "Unit kerja hanya boleh berisi huruf, angka, dan spasi."),
        ("Bidang TI²", "Unit kerja hanya boleh berisi huruf, angka, dan spasi."),
    ],
)
def test_free_text_refused(raw, message):
    assert rejects(check_free_text, raw, message, "Unit kerja").field == "Unit kerja"
