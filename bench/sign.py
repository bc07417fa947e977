"""Measure signing speed against SoftHSM, with a software-key pyHanko baseline run in the same process.

Usage: ``.venv/bin/python bench/sign.py [--rounds N]``. It builds a throw-away
instance (SoftHSM token, CA hierarchy, one subscriber) in a temp folder and
prints: raw RSA-2048 signs/s in the HSM (1 and 2 threads), unlock+sign
latency, one-page PDF signing latency at B-B and B-LT through Paraf, and the
ratio to plain pyHanko B-B signing with a software key.
"""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import signers  # noqa: E402
from throwaway import throwaway_app  # noqa: E402  (bench/ is on the path when a script runs)
from timing import median_ms  # noqa: E402

from app.domain import keys  # noqa: E402
from app.extensions import db  # noqa: E402
from app.platform.audit import Actor  # noqa: E402
from signer import ca  # noqa: E402
from signer import keys as signer_keys

PASSPHRASE = "Rahasia#123"

PAGE_OBJECTS = (
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
    b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>",
    b"<< /Length 58 >>\nstream\nBT /F1 14 Tf 72 770 Td (Surat Keputusan Nomor 1/2026) Tj ET\nendstream",
)


def one_page_pdf() -> bytes:
    """Return a one-page PDF, written object by object with its cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(PAGE_OBJECTS, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(PAGE_OBJECTS) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Root 1 0 R /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (len(PAGE_OBJECTS) + 1, xref)
    return bytes(out)



def signs_per_second(hsm, threads: int, per_thread: int) -> float:
    """Return RSA-2048 signatures per second with the token's OCSP key, over ``threads`` threads."""
    def work():
        for _ in range(per_thread):
            hsm.sign(ca.OCSP, b"x" * 64)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - start)


def software_signer() -> signers.SimpleSigner:
    """Return a pyHanko signer with an RSA-2048 software key and a self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Baseline")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return signers.SimpleSigner.load_pkcs12_data(
        serialization.pkcs12.serialize_key_and_certificates(
            b"baseline", key, cert, None, serialization.NoEncryption()
        ),
        other_certs=[],
        passphrase=None,
    )


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds per latency measurement (median)")
    args = parser.parse_args()

    app = throwaway_app()
    document = one_page_pdf()
    baseline_signer = software_signer()

    with app.app_context():
        upgrade()
        keys.init_pki()
        certificate = keys.issue_subscriber_certificate(
            {"country_name": "ID", "organization_name": "Bench", "common_name": "Bench Subscriber"}, PASSPHRASE, Actor("bench")
        )
        db.session.commit()
        ctx = keys.context()

        def unlock_and_sign():
            with signer_keys.unlock(ctx.hsm, certificate.key_blob, PASSPHRASE) as key:
                key.sign(b"document digest")

        def baseline():
            out = io.BytesIO()
            signers.sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(document)),
                signers.PdfSignatureMetadata(field_name="Signature1"),
                signer=baseline_signer,
                output=out,
            )

        rows = [
            ("SoftHSM RSA-2048 signs/s, 1 thread", signs_per_second(ctx.hsm, 1, 1000), "/s"),
            ("SoftHSM RSA-2048 signs/s, 2 threads", signs_per_second(ctx.hsm, 2, 1000), "/s"),
            ("unlock (argon2id + unwrap) + sign + destroy", median_ms(unlock_and_sign, args.rounds * 2), "ms"),
        ]
        baseline_ms = median_ms(baseline, args.rounds)
        bb_ms = median_ms(lambda: keys.sign_pdfs(certificate, PASSPHRASE, [document], level="B-B"), args.rounds)
        lt_ms = median_ms(lambda: keys.sign_pdfs(certificate, PASSPHRASE, [document]), args.rounds)
        rows += [
            ("pyHanko B-B, software key (baseline)", baseline_ms, "ms"),
            ("Paraf one-page PDF B-B (HSM, unlock included)", bb_ms, "ms"),
            ("Paraf one-page PDF B-LT (HSM, TSA, OCSP+CRL embedded)", lt_ms, "ms"),
        ]
    print(f"{'measurement':58} {'value':>10}")
    for label, value, unit in rows:
        print(f"{label:58} {value:10.1f} {unit}")
    print(f"{'ratio B-B Paraf / baseline':58} {bb_ms / baseline_ms:10.2f} x")
    print(f"{'ratio B-LT Paraf / baseline':58} {lt_ms / baseline_ms:10.2f} x")
    print(f"{'national service sign via API (measured ~900 ms) / B-LT':58} {900 / lt_ms:10.1f} x")


if __name__ == "__main__":
    main()
