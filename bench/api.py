"""Measure eSign API v2 latency through the Flask test client with HTTP Basic, against the national service's figures.

Usage: ``.venv/bin/python bench/api.py [--rounds N]``. It builds a throw-away instance (SoftHSM token, CA
hierarchy, the demo data set with its API client) in a temp folder, then prints the latency of
``POST /api/v2/sign/pdf`` for a one-page PDF and for the ~4 MB PDF below, each interleaved A/B with plain pyHanko
signing the same file at B-B with a software key parsed once, in a process that never imports Paraf (median,
min–max and CPU time), and the median latency of ``POST /api/v2/verify/pdf`` for the one-page PDF signed
once and for a ~4 MB PDF (an incompressible image) carrying 8 signatures, with a plain pyHanko validation of the same file in this
process as the baseline, and the ratios to the ~0.9 s (sign) and ~40 s (verify) measured on the real service.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asn1crypto import x509  # noqa: E402
from baseline import PyhankoBaseline  # noqa: E402  (bench/ is on the path when a script runs)
from flask_migrate import upgrade  # noqa: E402
from pyhanko.pdf_utils import generic  # noqa: E402
from pyhanko.pdf_utils.generic import pdf_name  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from throwaway import throwaway_app  # noqa: E402
from timing import interleave, median_ms, timed  # noqa: E402

from app.api.openapi import example_pdf  # noqa: E402
from app.demo import seed  # noqa: E402
from app.domain import keys  # noqa: E402
from app.extensions import db  # noqa: E402
from signer import speedups  # noqa: E402

REAL_SIGN_MS, REAL_VERIFY_MS = 900.0, 40_000.0


def padded_pdf(size: int) -> bytes:
    """Return the one-page example PDF carrying an incompressible RGB image of about ``size`` bytes (as an update)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(example_pdf()))
    side = int((size / 3) ** 0.5)
    image = generic.StreamObject({
        pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Image"),
        pdf_name("/Width"): generic.NumberObject(side), pdf_name("/Height"): generic.NumberObject(side),
        pdf_name("/ColorSpace"): pdf_name("/DeviceRGB"), pdf_name("/BitsPerComponent"): generic.NumberObject(8),
    }, stream_data=os.urandom(side * side * 3))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Resources"]["/XObject"] = generic.DictionaryObject({pdf_name("/Im1"): writer.add_object(image)})
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pyhanko_baseline(data: bytes, root: bytes, issuing: bytes) -> None:
    """Validate every signature with plain pyHanko (trust root, no fetching, its own hex-string reader)."""
    speedups.uninstall()  # the app installed it for the whole process
    try:
        context = ValidationContext(trust_roots=[x509.Certificate.load(root)], other_certs=[x509.Certificate.load(issuing)],
                                    allow_fetching=False, revocation_mode="soft-fail")
        reader = PdfFileReader(io.BytesIO(data))
        for signature in reader.embedded_regular_signatures:
            validate_pdf_signature(signature, signer_validation_context=context)
    finally:
        speedups.install()


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds per latency measurement (median)")
    args = parser.parse_args()

    app = throwaway_app("paraf-bench-api-")
    with app.app_context():
        upgrade()
        keys.init_pki()
        credentials = seed()
        db.session.commit()
        hierarchy = keys.context().hierarchy()
        root, issuing = hierarchy.root, hierarchy.issuing
    api, subscriber = credentials["api_client"], credentials["subscriber"]
    token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    client = app.test_client()

    def sign(document: bytes) -> bytes:
        body = {"nik": subscriber["nik"], "passphrase": subscriber["passphrase"], "file": [base64.b64encode(document).decode()]}
        response = client.post("/api/v2/sign/pdf", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return base64.b64decode(response.get_json()["file"][0])

    def verify(document: bytes) -> dict:
        response = client.post("/api/v2/verify/pdf", json={"file": base64.b64encode(document).decode()}, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    one_page = example_pdf()
    big = padded_pdf(4 * 1024 * 1024 - 40_000)
    for _ in range(8):
        big = sign(big)
    answer = verify(big)
    assert answer["signatureCount"] == 8 and answer["conclusion"] == "VALID", answer["conclusion"]
    signed_once = sign(one_page)

    baselines = {"one": PyhankoBaseline(one_page), "big": PyhankoBaseline(big)}
    try:
        sign_one = interleave({"paraf": timed(lambda: sign(one_page)), "baseline": baselines["one"].timed()}, args.rounds)
        sign_big = interleave({"paraf": timed(lambda: sign(big)), "baseline": baselines["big"].timed()}, args.rounds)
    finally:
        for baseline in baselines.values():
            baseline.close()
    sign_ms, sign_big_ms = sign_one["paraf"].median * 1000, sign_big["paraf"].median * 1000
    verify_one_ms = median_ms(lambda: verify(signed_once), args.rounds, warm_up=True)
    verify_big_ms = median_ms(lambda: verify(big), args.rounds, warm_up=True)
    baseline_ms = median_ms(lambda: pyhanko_baseline(big, root, issuing), args.rounds, warm_up=True)

    for label, sample in (("sign one-page PDF, B-LT (POST /api/v2/sign/pdf)", sign_one),
                          (f"sign {len(big) / 1e6:.1f} MB PDF with 8 signatures (a ninth), B-LT", sign_big)):
        print(f"{label}: Paraf {sample['paraf'].cell()} | pyHanko B-B {sample['baseline'].cell()}"
              f" | ratio {sample['paraf'].median / sample['baseline'].median:.2f}x"
              f" (CPU {sample['paraf'].cpu_median / sample['baseline'].cpu_median:.2f}x)")
    rows = [
        ("verify one-page PDF, 1 signature (POST /api/v2/verify/pdf)", verify_one_ms),
        (f"verify {len(big) / 1e6:.1f} MB PDF, 8 signatures (POST /api/v2/verify/pdf)", verify_big_ms),
        ("plain pyHanko validation of the same 8 signatures (baseline)", baseline_ms),
    ]
    print(f"{f'measurement (median of {args.rounds})':66} {'ms':>10}")
    for label, value in rows:
        print(f"{label:66} {value:10.1f}")
    print(f"{'real service sign (~900 ms) / Paraf sign, one page':66} {REAL_SIGN_MS / sign_ms:10.1f} x")
    print(f"{'real service sign (~900 ms) / Paraf sign, 4 MB':66} {REAL_SIGN_MS / sign_big_ms:10.1f} x")
    print(f"{'real service verify 4 MB/8 sigs (~40 s) / Paraf verify':66} {REAL_VERIFY_MS / verify_big_ms:10.1f} x")
    print(f"{'Paraf verify / plain pyHanko baseline':66} {verify_big_ms / baseline_ms:10.2f} x")


if __name__ == "__main__":
    main()
