"""PDF signing and validation against a real SoftHSM token (no mocks of pyHanko)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from PIL import Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signer import keys, revocation
from signer.ca import utcnow
from signer.errors import AppearanceError, NotAPdf, PdfDamaged, PdfEncrypted, PdfError, SigningFailed
from signer.pdf import PadesLevel, RevocationData, SignatureField, add_signature_fields, sign_pdf
from signer.stamp import Stamp, StampStyle
from signer.validate import validate_pdf
from tests.pdfs import A4, make_pdf

NAME = "Dr. Ir. Ñoman Séptiadi Ğ, M.Kom."
BOX = (300, 60.5, 560.25, 140)
STATEMENT = "Ditandatangani secara elektronik menggunakan sertifikat elektronik yang diterbitkan oleh Paraf CA"


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return make_pdf()


@pytest.fixture
def signing(pdf_pki):
    """Sign with the session subscriber; keyword arguments go to :func:`sign_pdf`."""

    def sign(data: bytes, subscriber=None, **kwargs) -> bytes:
        subscriber = subscriber or pdf_pki.subscriber
        kwargs.setdefault("timestamper", pdf_pki.timestamper())
        kwargs.setdefault("revocation", pdf_pki.revocation())
        with keys.unlock(pdf_pki.hsm, subscriber.blob, pdf_pki.passphrase) as key:
            return sign_pdf(data, key, subscriber.cert, pdf_pki.chain, **kwargs)

    return sign


def validate(pdf_pki, data: bytes, rev: RevocationData | None = None):
    rev = rev if rev is not None else pdf_pki.revocation()
    return validate_pdf(data, pdf_pki.hierarchy.root, [pdf_pki.hierarchy.issuing], rev.crls, rev.ocsps)


def render(data: bytes, tmp_path, dpi: int = 50) -> Image.Image:
    """Render page 1 with poppler and return it as an RGB image."""
    source = tmp_path / "in.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", source, tmp_path / "page"], check=True)
    with Image.open(tmp_path / "page.png") as image:
        return image.convert("RGB")


def region(image: Image.Image, box, dpi: int = 50, inset: float = 0) -> Image.Image:
    """Crop a PDF-point box (origin bottom left) out of a rendering of an A4 page."""
    scale = dpi / 72
    x1, y1, x2, y2 = box
    return image.crop((
        round((x1 + inset) * scale), round((A4[3] - y2 + inset) * scale),
        round((x2 - inset) * scale), round((A4[3] - y1 - inset) * scale),
    ))


def dark_pixels(image: Image.Image) -> int:
    return sum(image.convert("L").histogram()[:128])


def pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    raw = image.convert("RGB").tobytes()
    return [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]


def test_bb_signature_validates_and_pdfsig_accepts_it(pdf_pki, signing, pdf, tmp_path):
    assert validate(pdf_pki, pdf) == []
    signed = signing(pdf, level="B-B")
    assert signed.startswith(pdf)  # an incremental update
    [report] = validate(pdf_pki, signed)
    assert report.intact and report.valid and report.trusted and report.ok
    assert report.signer_name == NAME
    assert report.pades_level == "B-B"
    assert report.revocation == "good" and report.revocation_checked
    assert report.covers_whole_file and not report.modified and report.modification_level == "none"
    assert not report.timestamp_present and report.signing_time is not None

    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    result = subprocess.run(["pdfsig", path], capture_output=True, text=True)
    assert "Signature is Valid." in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
def test_levels_with_timestamps_and_embedded_revocation_data(pdf_pki, signing, pdf, level):
    signed = signing(pdf, level=level)
    [report] = validate(pdf_pki, signed)
    assert report.pades_level == level
    assert report.ok and report.trusted and not report.modified
    assert report.timestamp_present and report.timestamp_valid
    assert report.signing_time == report.timestamp_time
    assert report.timestamp_time.tzinfo is not None
    if level != "B-T":
        # The DSS alone (no revocation data from the caller) is enough while it is fresh.
        [offline] = validate_pdf(signed, pdf_pki.hierarchy.root)
        assert offline.trusted and offline.revocation == "good"
        assert offline.modification_level == "lta_updates"


def test_lt_signing_requires_revocation_data(signing, pdf):
    with pytest.raises(SigningFailed, match="certificate"):
        signing(pdf, level=PadesLevel.B_LT, revocation=RevocationData())


def test_timestamped_levels_need_a_timestamper(signing, pdf):
    with pytest.raises(ValueError, match="time stamper"):
        signing(pdf, level="B-T", timestamper=None)


def test_visible_stamp_renders_with_embedded_font(pdf_pki, signing, pdf, tmp_path):
    stamp = Stamp(
        name=NAME,
        position="Kepala Dinas Komunikasi dan Informatika",
        qr_url="https://paraf.example.go.id/verify/3f9c2a",
    )
    style = StampStyle(statement=STATEMENT, utc_offset_minutes=7 * 60, zone_label="WIB")
    signed = signing(pdf, level="B-B", box=BOX, stamp=stamp, style=style)
    path = tmp_path / "visible.pdf"
    path.write_bytes(signed)
    fonts = subprocess.run(["pdffonts", path], capture_output=True, text=True, check=True).stdout
    assert "DejaVuSans" in fonts and "CID TrueType" in fonts
    text = " ".join(subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout.split())
    assert NAME in text
    assert "Kepala Dinas Komunikasi dan Informatika" in text
    assert "WIB" in text and "Paraf CA" in text
    page = render(signed, tmp_path)
    assert dark_pixels(region(page, BOX)) > 200
    [report] = validate(pdf_pki, signed)
    assert report.ok


def test_long_text_shrinks_and_stays_inside_a_small_box(signing, pdf, tmp_path):
    box = (380, 60, 540, 100)
    stamp = Stamp(
        name=NAME + " " + NAME,
        position="Kepala Sub Bagian Perencanaan, Evaluasi dan Pelaporan pada Sekretariat Dinas Komunikasi, "
        "Informatika, Statistik dan Persandian Kabupaten Kepulauan Seribu Provinsi Daerah Khusus Jakarta " * 3,
        qr_url="https://paraf.example.go.id/verify/3f9c2a",
    )
    signed = signing(pdf, level="B-B", box=box, stamp=stamp)
    page = render(signed, tmp_path, dpi=100)
    assert dark_pixels(region(page, box, dpi=100)) > 100
    outside = page.copy()
    outside.paste((255, 255, 255), (round(box[0] * 100 / 72) - 2, round((842 - box[3]) * 100 / 72) - 2,
                                    round(box[2] * 100 / 72) + 2, round((842 - box[1]) * 100 / 72) + 2))
    outside.paste((255, 255, 255), (0, 0, outside.width, round(100 * 100 / 72)))  # the page's own text line
    assert dark_pixels(outside) == 0


def test_stamp_with_image_and_custom_style(pdf_pki, signing, pdf, tmp_path):
    logo = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (10, 10, 110, 50))
    png = io.BytesIO()
    logo.save(png, format="PNG")
    style = StampStyle(date_label="Waktu", zone_label="WITA", utc_offset_minutes=8 * 60, background=None)
    signed = signing(pdf, level="B-B", box=BOX, stamp=Stamp(name=NAME, image=png.getvalue()), style=style)
    page = render(signed, tmp_path)
    stamp_area = region(page, BOX)
    assert any(r > 150 and g < 80 and b < 80 for r, g, b in pixels(stamp_area))  # the red logo
    path = tmp_path / "image.pdf"
    path.write_bytes(signed)
    text = subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
    assert "Waktu:" in text and "WITA" in text
    assert validate(pdf_pki, signed)[0].ok


def test_bad_stamp_image_is_refused(signing, pdf):
    with pytest.raises(AppearanceError):
        signing(pdf, level="B-B", box=BOX, stamp=Stamp(name=NAME, image=b"GIF89a not really"))


@pytest.mark.parametrize(
    "box, stamp",
    [
        (BOX, Stamp(name="")),
        ((300, 60, 312, 66), Stamp(name=NAME, qr_url="https://x/verify/1")),
        ((300, 60, 560, 64), Stamp(name=NAME)),
    ],
    ids=["empty-name", "tiny-box", "flat-box"],
)
def test_degenerate_stamps_still_sign(pdf_pki, signing, pdf, box, stamp):
    assert validate(pdf_pki, signing(pdf, level="B-B", box=box, stamp=stamp))[0].ok


def test_second_signature_keeps_the_first_valid(pdf_pki, signing, pdf):
    second = pdf_pki.issue("Siti Rahayu, S.H.")
    rev = pdf_pki.revocation()
    rev = RevocationData(
        crls=rev.crls,
        ocsps=rev.ocsps + (revocation.ocsp_response_for(pdf_pki.hsm, pdf_pki.hierarchy, second.cert, "good"),),
    )
    once = signing(pdf, level="B-LT", box=BOX, stamp=Stamp(name=NAME))
    twice = signing(once, subscriber=second, level="B-LT", revocation=rev, box=(40, 60, 290, 140), stamp=Stamp(name="Siti Rahayu, S.H."))
    assert twice.startswith(once)
    first, last = validate(pdf_pki, twice, rev)
    assert first.signer_name == NAME and last.signer_name == "Siti Rahayu, S.H."
    for report in (first, last):
        assert report.intact and report.valid and report.trusted and report.ok, report
        assert not report.modified
    assert first.modification_level == "form_filling"
    assert last.pades_level == "B-LT"


def test_levels_of_signatures_added_over_an_archive_timestamp(pdf_pki, signing, pdf):
    first = signing(pdf, level="B-LTA")
    second = signing(first, level="B-T")
    third = signing(second, level="B-LTA")
    reports = validate(pdf_pki, third)
    assert [r.pades_level for r in reports] == ["B-LTA", "B-LTA", "B-LTA"]
    assert all(r.ok for r in reports), reports
    assert [r.pades_level for r in validate(pdf_pki, second)] == ["B-LTA", "B-T"]


def test_sequential_signing_into_prepared_fields(pdf_pki, signing, tmp_path):
    prepared = add_signature_fields(
        make_pdf(pages=2),
        [("Pemeriksa", 0, (40, 60, 290, 140)), SignatureField("Penyetuju", -1, BOX)],
    )
    first = signing(prepared, level="B-T", field="Pemeriksa", stamp=Stamp(name=NAME, position="Pemeriksa"))
    second = signing(first, level="B-T", field="Penyetuju", stamp=Stamp(name=NAME, position="Penyetuju"))
    reports = validate(pdf_pki, second)
    assert [r.field_name for r in reports] == ["Pemeriksa", "Penyetuju"]
    source = tmp_path / "sequential.pdf"
    source.write_bytes(second)
    for page, role in ((1, "Pemeriksa"), (2, "Penyetuju")):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), source, "-"], capture_output=True, text=True, check=True)
        assert role in text.stdout
    assert all(r.ok and not r.modified for r in reports)
    with pytest.raises(PdfError, match="already signed"):
        signing(second, level="B-B", field="Penyetuju")
    with pytest.raises(PdfError, match="already has a signature field"):
        add_signature_fields(prepared, [("Pemeriksa", 0, BOX)])
    with pytest.raises(PdfError, match="page 5"):
        add_signature_fields(prepared, [("Lain", 5, BOX)])


def _append_update(data: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_content_changed_after_signing_is_reported(pdf_pki, signing, pdf):
    signed = signing(pdf, level="B-T")

    def cover_text(writer):
        writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=b"1 1 1 rg 60 750 300 40 re f")))

    tampered = _append_update(signed, cover_text)
    [report] = validate(pdf_pki, tampered)
    assert report.intact and report.valid  # the signed bytes themselves are unchanged
    assert report.modified and report.modification_level == "other"
    assert not report.covers_whole_file
    assert not report.ok
    assert report.findings[0] == "trusted" and "modified" in report.findings


def test_annotation_added_after_signing_is_reported(pdf_pki, signing, pdf):
    signed = signing(pdf, level="B-B")

    def annotate(writer):
        page_ref = writer.find_page_for_modification(0)[0]
        note = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Text"),
            pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in (50, 50, 70, 70)]),
            pdf_name("/Contents"): generic.TextStringObject("catatan"),
        })
        writer.register_annotation(page_ref, writer.add_object(note))

    [report] = validate(pdf_pki, _append_update(signed, annotate))
    assert report.intact and not report.covers_whole_file
    assert report.modified and not report.ok


def test_revoked_certificate(pdf_pki, signing, pdf):
    doomed = pdf_pki.issue("Pegawai Dicabut")
    signed = signing(pdf, subscriber=doomed, level="B-B")
    serial = x509.Certificate.load(doomed.cert).serial_number
    rev = pdf_pki.revocation(revoked=(revocation.Revoked(serial, utcnow(), "key_compromise"),))
    [report] = validate(pdf_pki, signed, rev)
    assert report.intact and report.valid
    assert not report.trusted and not report.ok
    assert report.revocation == "revoked" and report.revoked_at is not None
    assert report.problem == "REVOKED_NO_POE"
    with pytest.raises(SigningFailed):
        signing(pdf, subscriber=doomed, level="B-LT", revocation=rev)


def other_root() -> bytes:
    """Return an unrelated self-signed CA certificate (DER)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "Other Root")])
    now = datetime.now(timezone.utc)
    cert = (
        cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(cx509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_signature_under_another_root_is_not_trusted(pdf_pki, signing, pdf):
    signed = signing(pdf, level="B-B")
    [report] = validate_pdf(signed, other_root(), [pdf_pki.hierarchy.issuing])
    assert report.intact and report.valid
    assert not report.trusted and not report.ok
    assert report.problem == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.revocation == "unknown"


@pytest.mark.parametrize(
    "data, error, message",
    [
        (b"Hello, this is a plain text file, not a PDF at all.\n" * 20, NotAPdf, "not a PDF"),
        (make_pdf()[:300], PdfDamaged, "damaged"),
        (make_pdf(encrypt="rahasia"), PdfEncrypted, "encrypted"),
    ],
    ids=["not-pdf", "truncated", "encrypted"],
)
def test_bad_input_raises_a_typed_pdf_error(pdf_pki, signing, data, error, message):
    with pytest.raises(error, match=message) as info:
        signing(data, level="B-B")
    if error is PdfDamaged:
        assert info.value.__cause__ is not None  # raised from pyHanko's own error
    with pytest.raises(error, match=message):
        validate(pdf_pki, data)
    with pytest.raises(error, match=message):
        add_signature_fields(data, [("Tanda", 0, BOX)])


def test_sign_from_inside_a_running_event_loop(pdf_pki, signing, pdf):
    async def main():
        return signing(pdf, level="B-B")

    assert validate(pdf_pki, asyncio.run(main()))[0].ok


def test_concurrent_signing_from_four_threads(pdf_pki, signing, pdf):
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []
    rev = pdf_pki.revocation()

    def work(number: int) -> None:
        try:
            for round_ in range(2):
                level = "B-LT" if round_ == 0 else "B-LTA"
                results[number * 10 + round_] = signing(
                    pdf, level=level, revocation=rev, box=BOX, stamp=Stamp(name=f"{NAME} {number}", qr_url=f"https://x/verify/{number}")
                )
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 8
    for signed in results.values():
        [report] = validate(pdf_pki, signed, rev)
        assert report.ok and report.pades_level in ("B-LT", "B-LTA")
        assert report.signing_time.tzinfo is not None and report.signing_time.utcoffset() == timezone.utc.utcoffset(None)


def test_signature_info_read_in_a_fresh_process_after_pickling(pdf_pki):
    """What a sandbox child sends back is readable in a process that never parsed a certificate itself."""
    import pickle
    import sys

    from signer.signature_info import SignatureInfo

    root = x509.Certificate.load(pdf_pki.hierarchy.root)
    assert root.subject.human_friendly  # parsed here, as the child parses it before sending
    info = SignatureInfo(field_name="Signature1", reason=None, location=None, contact_info=None,
                         digest_algorithm="sha256", signature_algorithm="sha256_rsa", docmdp_level=None,
                         chain=(root,), tsa_name=None)
    reader = "import pickle, sys; print(pickle.load(sys.stdin.buffer).chain[0].subject.human_friendly)"
    shown = subprocess.run([sys.executable, "-c", reader], input=pickle.dumps(info), capture_output=True, check=False)
    assert shown.returncode == 0, shown.stderr.decode()
    assert shown.stdout.decode().strip() == root.subject.human_friendly
