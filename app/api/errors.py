"""Every error of the eSign API v2: HTTP status, stable numeric ``status_code``, Indonesian and English message.

A response is always ``{"status_code": int, "message": str, "error": str, "error_code": key}`` plus, for some
errors, the extra keys named in :data:`EXTRA_KEYS`. ``error`` repeats the message, the sentence clients show the
person; ``error_code`` is the machine-readable key. The message is English when the request's
``Accept-Language`` prefers ``en``, Indonesian otherwise. Messages never echo a secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import jsonify, request


@dataclass(frozen=True)
class Problem:
    """One row of the error table."""

    http: int
    code: int
    id: str
    en: str


ERRORS: dict[str, Problem] = {
    # the request itself
    "malformed_json": Problem(400, 4001, "Badan permintaan bukan JSON yang valid (objek).",
                              "The request body is not a valid JSON object."),
    "missing_field": Problem(400, 4002, "Isian wajib {field} tidak ada.", "The required field {field} is missing."),
    "invalid_field": Problem(400, 4003, "Isian {field} tidak valid.", "The field {field} is not valid."),
    "body_too_large": Problem(413, 4004, "Permintaan terlalu besar (maksimal {mb} MB).",
                              "The request is too large (at most {mb} MB)."),
    "too_many_files": Problem(400, 4005, "Terlalu banyak berkas dalam satu permintaan (maksimal {max}).",
                              "Too many files in one request (at most {max})."),
    "no_files": Problem(400, 4006, "Kirim minimal satu berkas PDF.", "Send at least one PDF file."),
    "unknown_path": Problem(404, 4008, "Alamat API tidak dikenal; lihat /api/v2/docs.",
                            "Unknown API address; see /api/v2/docs."),
    "method_not_allowed": Problem(405, 4009, "Metode HTTP ini tidak dipakai untuk alamat ini; lihat /api/v2/docs.",
                                  "This HTTP method is not used for this address; see /api/v2/docs."),
    "too_many_requests": Problem(429, 4010, "Terlalu banyak permintaan; coba lagi dalam {seconds} detik.",
                                 "Too many requests; try again in {seconds} seconds."),
    "passphrase_required": Problem(
        400, 4007,
        "Paraf membuka kunci penandatanganan hanya dengan passphrase pemilik: kirim passphrase (TOTP hanya faktor kedua).",
        "Paraf unlocks the signing key only with the subscriber's passphrase: send the passphrase (the TOTP is only "
        "a second factor).",
    ),
    # the files
    "file_empty": Problem(400, 4101, "Berkas ke-{index} kosong.", "File {index} is empty."),
    "file_not_base64": Problem(400, 4102, "Berkas ke-{index} bukan base64 yang valid.", "File {index} is not valid base64."),
    "file_not_pdf": Problem(415, 4103, "Berkas ke-{index} bukan PDF.", "File {index} is not a PDF."),
    "file_damaged": Problem(422, 4104, "Berkas ke-{index} rusak dan tidak dapat dibaca.",
                            "File {index} is damaged and cannot be read."),
    "file_encrypted": Problem(422, 4105, "Berkas ke-{index} terenkripsi; kirim kata sandinya (password).",
                              "File {index} is encrypted; send its password."),
    "file_wrong_password": Problem(422, 4106, "Kata sandi tidak membuka berkas ke-{index}.",
                                   "The password does not open file {index}."),
    "file_too_large": Problem(413, 4107, "Berkas ke-{index} terlalu besar (maksimal {mb} MB).",
                              "File {index} is too large (at most {mb} MB)."),
    "file_encrypted_sign": Problem(422, 4108, "Berkas ke-{index} terenkripsi; hapus proteksinya sebelum ditandatangani.",
                                   "File {index} is encrypted; remove the protection before signing it."),
    "file_too_many_pages": Problem(413, 4109, "Berkas ke-{index} memiliki lebih dari {max} halaman (batas Paraf).",
                                   "File {index} has more than {max} pages (Paraf's limit)."),
    "file_too_many_signatures": Problem(
        413, 4110, "Berkas ke-{index} memuat lebih dari {max} tanda tangan; Paraf memeriksa paling banyak {max} per dokumen.",
        "File {index} holds more than {max} signatures; Paraf checks at most {max} per document."),
    "file_too_much_data": Problem(413, 4111, "Isi berkas ke-{index} setelah diurai melebihi {max} MB (batas Paraf).",
                                  "The content of file {index} exceeds {max} MB once decompressed (Paraf's limit)."),
    "file_page_too_large": Problem(413, 4112, "Ada halaman berkas ke-{index} yang lebih besar dari {max} pt, batas format PDF.",
                                   "A page of file {index} is larger than {max} pt, the PDF format's limit."),
    "file_too_complex": Problem(
        413, 4113, "Berkas ke-{index} terlalu rumit atau terlalu besar untuk diperiksa (batas {max} detik dan {mb} MB memori).",
        "File {index} is too complex or too large to check (limits: {max} seconds and {mb} MB of memory)."),
    # signatureProperties
    "properties_count": Problem(400, 4201, "signatureProperties harus berisi satu elemen atau satu per berkas ({files}).",
                                "signatureProperties must hold one element or one per file ({files})."),
    "bad_tampilan": Problem(400, 4202, "tampilan harus VISIBLE atau INVISIBLE (berkas ke-{index}).",
                            "tampilan must be VISIBLE or INVISIBLE (file {index})."),
    "bad_page": Problem(400, 4203, "Halaman {page} tidak ada di berkas ke-{index} ({pages} halaman).",
                        "Page {page} does not exist in file {index} ({pages} pages)."),
    "bad_box": Problem(400, 4204, "originX, originY, width dan height harus angka dengan lebar dan tinggi positif (berkas ke-{index}).",
                       "originX, originY, width and height must be numbers with a positive width and height (file {index})."),
    "bad_image": Problem(400, 4205, "imageBase64 bukan gambar PNG/JPEG yang dapat dibaca (berkas ke-{index}).",
                         "imageBase64 is not a readable PNG/JPEG image (file {index})."),
    "tag_not_found": Problem(422, 4206, "Teks penanda \"{tag}\" tidak ditemukan di berkas ke-{index}.",
                             "The anchor text \"{tag}\" is not found in file {index}."),
    # the subscriber
    "not_registered": Problem(404, 2011, "Pengguna tidak terdaftar.", "The user is not registered."),
    "not_verified": Problem(403, 2012, "Pengguna belum diverifikasi.", "The user is not verified yet."),
    "no_certificate": Problem(403, 2021, "Pengguna belum memiliki sertifikat elektronik.", "The user has no certificate."),
    "certificate_new": Problem(403, 2022, "Sertifikat pengguna belum terbit.", "The user's certificate is not issued yet."),
    "certificate_expired": Problem(403, 2031, "Sertifikat pengguna sudah kedaluwarsa.", "The user's certificate has expired."),
    "certificate_revoked": Problem(403, 2032, "Sertifikat pengguna sudah dicabut.", "The user's certificate is revoked."),
    "account_suspended": Problem(403, 2033, "Akun pengguna ditangguhkan (SUSPEND).", "The user's account is suspended."),
    "update_pending": Problem(403, 2034, "Ada perubahan data pengguna yang menunggu konfirmasi (UPDATE).",
                              "A change of the user's data awaits confirmation (UPDATE)."),
    "signing_locked": Problem(423, 2041, "Penandatanganan dikunci karena passphrase salah berulang kali; lakukan reset passphrase.",
                              "Signing is locked after repeated wrong passphrases; reset the passphrase."),
    "wrong_passphrase": Problem(403, 2042, "Passphrase salah. Sisa {remaining} percobaan sebelum penandatanganan dikunci.",
                                "Wrong passphrase. {remaining} tries left before signing locks."),
    # the TOTP
    "totp_wrong": Problem(403, 2051, "Kode TOTP salah. Sisa {remaining} percobaan.", "Wrong TOTP code. {remaining} tries left."),
    "totp_expired": Problem(403, 2052, "Kode TOTP sudah kedaluwarsa; minta kode baru.", "The TOTP code has expired; ask for a new one."),
    "totp_missing": Problem(403, 2053, "Tidak ada kode TOTP yang menunggu; minta kode baru.", "No TOTP code is waiting; ask for a new one."),
    "totp_locked": Problem(403, 2054, "Kode TOTP salah terlalu sering; minta kode baru.", "Too many wrong TOTP codes; ask for a new one."),
    "totp_throttled": Problem(429, 2055, "Tunggu {seconds} detik sebelum meminta kode baru.",
                              "Wait {seconds} seconds before asking for a new code."),
    "totp_count": Problem(403, 2056, "Kode TOTP ini hanya berlaku untuk {allowed} dokumen.",
                          "This TOTP code covers only {allowed} documents."),
    # eSign v1 documents and user registration
    "document_not_found": Problem(404, 4701, "Dokumen tidak ditemukan atau masa simpannya sudah habis.",
                                  "The document is not found or is no longer kept."),
    "email_registered": Problem(409, 4702, "E-mail ini sudah terdaftar di Paraf.", "This e-mail is already registered in Paraf."),
    "nik_registered": Problem(409, 4703, "NIK ini sudah terdaftar di Paraf.", "This NIK is already registered in Paraf."),
    "domain_not_served": Problem(
        422, 4704, "Domain e-mail {domain} bukan domain instansi yang dilayani aplikasi ini; gunakan e-mail dinas instansi.",
        "The e-mail domain {domain} is not the domain of an agency this application serves; use the agency e-mail."),
    "letter_required": Problem(
        409, 4705, "Instansi ini mewajibkan surat permohonan: daftarkan pengguna lewat verifikator di portal Paraf.",
        "This agency requires a request letter: register the user through its verifier in the Paraf portal."),
    # agency seals
    "seal_not_found": Problem(404, 4601, "Segel elektronik tidak ditemukan.", "The electronic seal is not found."),
    "seal_not_usable": Problem(403, 4602, "Segel elektronik tidak aktif (status {status}).",
                               "The electronic seal is not active (status {status})."),
    "seal_locked": Problem(423, 4603, "Segel dikunci karena kode salah berulang kali; pemegang segel dapat membukanya di portal Paraf.",
                           "The seal is locked after repeated wrong codes; a custodian can lift the lock in the Paraf portal."),
    "seal_code_wrong": Problem(403, 4604, "Kode segel salah. Sisa {remaining} percobaan sebelum segel dikunci.",
                               "Wrong seal code. {remaining} tries left before the seal locks."),
    "seal_code_expired": Problem(403, 4605, "Kode segel atau aktivasinya sudah kedaluwarsa; minta kode atau aktivasi baru.",
                                 "The seal code or its activation has expired; ask for a new code or activation."),
    "seal_code_used": Problem(403, 4606, "Kode segel ini sudah dipakai; minta kode baru.",
                              "This seal code was already used; ask for a new one."),
    "seal_not_activated": Problem(403, 4607, "Aktivasi segel sudah diakhiri; minta aktivasi baru.",
                                  "The seal's activation has ended; ask for a new activation."),
    "seal_code_count": Problem(403, 4608, "Kode segel ini hanya berlaku untuk {allowed} dokumen.",
                               "This seal code covers only {allowed} documents."),
    "seal_no_custodian": Problem(409, 4609, "Segel belum memiliki pemegang segel yang dapat menerima kode aktivasi.",
                                 "The seal has no custodian to receive an activation code."),
    "seal_activation_throttled": Problem(429, 4610, "Tunggu {seconds} detik sebelum meminta aktivasi segel baru.",
                                         "Wait {seconds} seconds before asking for a new seal activation."),
    "seal_documents": Problem(400, 4611, "data harus jumlah dokumen antara 1 dan {max}.",
                              "data must be a number of documents between 1 and {max}."),
    # the server
    "server_error": Problem(503, 5030, "Permintaan gagal di server; coba lagi.", "The request failed on the server; try again."),
    "signing_failed": Problem(503, 5031, "Penandatanganan gagal di server; coba lagi.", "Signing failed on the server; try again."),
}


# Errors whose database changes are committed: the wrong tries they count are the lock's memory.
KEPT = {"wrong_passphrase", "signing_locked", "totp_wrong", "totp_locked", "seal_code_wrong", "seal_locked"}


class ApiError(Exception):
    """Answer the request with the table's ``key`` row; ``values`` fill its placeholders and extra keys."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key = key
        self.values = values

    @property
    def problem(self) -> Problem:
        """Return the table row."""
        return ERRORS[self.key]

    @property
    def keep_changes(self) -> bool:
        """Return whether the request's changes stay although it failed (a counted wrong try)."""
        return self.key in KEPT


EXTRA_KEYS = ("remaining", "field", "index", "tag")


def english() -> bool:
    """Return whether the client prefers English (``Accept-Language: en``); Indonesian is the default."""
    return request.accept_languages.best_match(["id", "en"], default="id") == "en"


def message(key: str, **values) -> str:
    """Return the message of a row in the client's language."""
    problem = ERRORS[key]
    return (problem.en if english() else problem.id).format_map(_Defaults(values))


class _Defaults(dict):
    def __missing__(self, name: str) -> str:
        return "?"


HTTP_ERRORS = {404: "unknown_path", 405: "method_not_allowed"}


def response(error: ApiError):
    """Return the JSON response of an error."""
    problem = error.problem
    text = message(error.key, **error.values)
    body = {"status_code": problem.code, "message": text, "error": text, "error_code": error.key}
    body.update({key: error.values[key] for key in EXTRA_KEYS if key in error.values})
    return jsonify(body), problem.http
