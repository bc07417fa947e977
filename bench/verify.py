"""Measure Paraf's verification against plain pyHanko on ~4 MB PDFs carrying 1, 4, 8 and 16 signatures.

Usage: ``.venv/bin/python bench/verify.py [--rounds N] [--counts 1,4,8,16]``. It builds a throw-away instance
(SoftHSM token, CA hierarchy, the demo data set and its API client), signs a ~4 MB PDF (an incompressible image)
16 times through ``POST /api/v2/sign/pdf`` and, for each signature count, runs interleaved rounds of:

- Paraf's validator in-process (``validation.check_pdf``: every signature, the CRLs, Paraf's records);
- ``POST /api/v2/verify/pdf`` through the Flask test client (the JSON body built once, outside the timing);
- plain pyHanko (``validate_pdf_signature`` for each signature, soft-fail, no fetching, the trust root and the
  issuing CA parsed once) in a separate process started with ``python -I`` that never imports Paraf.

It prints medians with min–max and CPU time, the ratios to plain pyHanko and the growth from 8 to 16 signatures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COUNTS = (1, 4, 8, 16)


def baseline_process(folder: str) -> None:
    """Answer ``<count>`` lines on stdin with the wall and CPU seconds of a plain pyHanko validation of sig<count>.pdf."""
    import io

    from asn1crypto import x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    assert not any(name == "app" or name.startswith(("app.", "signer")) for name in sys.modules), "Paraf imported"
    base = Path(folder)
    root = x509.Certificate.load((base / "root.der").read_bytes())
    issuing = x509.Certificate.load((base / "issuing.der").read_bytes())
    documents = {count: (base / f"sig{count}.pdf").read_bytes() for count in COUNTS if (base / f"sig{count}.pdf").exists()}
    for line in sys.stdin:
        data = documents[int(line)]
        wall, cpu = time.perf_counter(), time.process_time()
        context = ValidationContext(trust_roots=[root], other_certs=[issuing], allow_fetching=False,
                                    revocation_mode="soft-fail")
        reader = PdfFileReader(io.BytesIO(data))
        statuses = [validate_pdf_signature(sig, signer_validation_context=context)
                    for sig in reader.embedded_regular_signatures]
        assert all(status.bottom_line for status in statuses), "plain pyHanko found a bad signature"
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}), flush=True)


class Baseline:
    """The plain-pyHanko process of :func:`baseline_process`."""

    def __init__(self, folder: str):
        self._process = subprocess.Popen([sys.executable, "-I", __file__, "--baseline-process", folder],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def timed(self, count: int):
        """Return a round validating the document with ``count`` signatures in the baseline process."""

        def run() -> tuple[float, float]:
            self._process.stdin.write(f"{count}\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError("the pyHanko baseline process ended")
            answer = json.loads(line)
            return answer["wall"], answer["cpu"]

        return run

    def close(self) -> None:
        """End the baseline process."""
        self._process.stdin.close()
        self._process.wait(timeout=30)


def main() -> None:
    """Build the documents, run the interleaved rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds per signature count (median)")
    parser.add_argument("--counts", default=",".join(map(str, COUNTS)), help="signature counts, comma-separated")
    parser.add_argument("--baseline-process", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_process:
        baseline_process(args.baseline_process)
        return

    import base64
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from api import padded_pdf  # bench/ is on the path when a script runs
    from flask_migrate import upgrade
    from throwaway import throwaway_app
    from timing import interleave, timed

    from app.demo import seed
    from app.domain import keys
    from app.domain.signing import validation
    from app.extensions import db

    counts = [int(count) for count in args.counts.split(",")]
    app = throwaway_app("paraf-bench-verify-")
    with app.app_context():
        upgrade()
        keys.init_pki()
        credentials = seed()
        db.session.commit()
        hierarchy = keys.context().hierarchy()
    api, subscriber = credentials["api_client"], credentials["subscriber"]
    token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    client = app.test_client()

    folder = tempfile.mkdtemp(prefix="paraf-bench-verify-docs-")
    Path(folder, "root.der").write_bytes(hierarchy.root)
    Path(folder, "issuing.der").write_bytes(hierarchy.issuing)
    documents, document = {}, padded_pdf(4 * 1024 * 1024 - 40_000)
    for count in range(1, max(counts) + 1):
        body = {"nik": subscriber["nik"], "passphrase": subscriber["passphrase"], "file": [base64.b64encode(document).decode()]}
        response = client.post("/api/v2/sign/pdf", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        document = base64.b64decode(response.get_json()["file"][0])
        if count in counts:
            documents[count] = document
            Path(folder, f"sig{count}.pdf").write_bytes(document)

    def check(data: bytes) -> None:
        with app.app_context():
            result = validation.check_pdf("bench.pdf", data)
            db.session.commit()  # a stale CRL re-signed on the way, as the request would
        assert all(signature.report.ok for signature in result.signatures)

    def verify(body: str, count: int) -> None:
        response = client.post("/api/v2/verify/pdf", data=body, content_type="application/json", headers=headers)
        answer = response.get_json()
        assert response.status_code == 200 and answer["signatureCount"] == count and answer["conclusion"] == "VALID", answer

    baseline = Baseline(folder)
    results = {}
    try:
        for count in counts:
            data = documents[count]
            body = json.dumps({"file": base64.b64encode(data).decode("ascii")})
            results[count] = interleave({
                "paraf": timed(lambda data=data: check(data)),
                "api": timed(lambda body=body, count=count: verify(body, count)),
                "pyhanko": baseline.timed(count),
            }, args.rounds)
    finally:
        baseline.close()

    load = os.getloadavg()
    print(f"verify, {args.rounds} interleaved rounds each (median (min–max, CPU median)); load {load[0]:.2f} {load[1]:.2f}")
    print(f"{'sigs':>4} {'MB':>5}  {'Paraf validator':36} {'API verify':36} {'plain pyHanko':36} {'val/pH':>6} {'API/pH':>6}")
    for count, sample in results.items():
        paraf, api_sample, plain = sample["paraf"], sample["api"], sample["pyhanko"]
        print(f"{count:4} {len(documents[count]) / 1e6:5.1f}  {paraf.cell():36} {api_sample.cell():36} {plain.cell():36}"
              f" {paraf.median / plain.median:6.2f} {api_sample.median / plain.median:6.2f}")
    if 8 in results and 16 in results:
        for name, label in (("paraf", "Paraf validator"), ("api", "API verify"), ("pyhanko", "plain pyHanko")):
            growth = results[16][name].median / results[8][name].median
            print(f"growth 8 -> 16 signatures, {label}: {growth:.2f}x (linear would be about 2x)")


if __name__ == "__main__":
    main()
