"""Measure Paraf's signing against plain pyHanko, each comparison interleaved A/B/A/B in one run.

Usage: ``.venv/bin/python bench/sign.py [--rounds N]``. It builds a throw-away instance (SoftHSM token, CA
hierarchy, the demo data set with its API client and subscriber) in a temp folder. The baseline is plain
pyHanko signing the same one-page PDF at PAdES B-B with a software RSA-2048 key parsed once, in a separate
process that never imports Paraf (bench/pyhanko_sign.py). Paraf signs through ``POST /api/v2/sign/pdf`` (the
Flask test client: HTTP Basic, JSON and base64, the passphrase's argon2id, the HSM, PAdES B-LT with the
in-process TSA and embedded revocation data), as a batch of 10 files in one call, and visible against
invisible with the key unlocked once. Each row: median (min–max, CPU median) of the rounds, the baseline
measured in the same rounds, their ratio and the target of issue 11.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baseline import PyhankoBaseline  # noqa: E402  (bench/ is on the path when a script runs)
from flask_migrate import upgrade  # noqa: E402
from throwaway import throwaway_app  # noqa: E402
from timing import Sample, interleave, timed  # noqa: E402

from app.api.openapi import example_pdf  # noqa: E402
from app.demo import seed  # noqa: E402
from app.domain import keys  # noqa: E402
from app.domain.signing import signatures  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Account, SubscriberProfile  # noqa: E402

BATCH = 10
STAMP_BOX = (40.0, 60.0, 280.0, 150.0)
VISIBLE = {"tampilan": "VISIBLE", "page": 1, "originX": 40, "originY": 60, "width": 240, "height": 90}


def row(figure: str, paraf: Sample, baseline: Sample | None, target: str, rate: bool = False) -> tuple[str, ...]:
    """Return one printed row: figure, Paraf, baseline, ratio (Paraf time / baseline time: wall, CPU) and target."""
    ratio = f"{paraf.median / baseline.median:.2f}x (CPU {paraf.cpu_median / baseline.cpu_median:.2f}x)" if baseline else "-"
    return figure, paraf.cell(rate), baseline.cell(rate) if baseline else "-", ratio, target


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per comparison")
    args = parser.parse_args()

    app = throwaway_app("paraf-bench-sign-")
    with app.app_context():
        upgrade()
        keys.init_pki()
        credentials = seed()
        db.session.commit()
    api, subscriber = credentials["api_client"], credentials["subscriber"]
    token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    client = app.test_client()
    document = example_pdf()
    encoded = base64.b64encode(document).decode()
    baseline = PyhankoBaseline(document)

    def api_sign(count: int = 1, properties: dict | None = None) -> None:
        body = {"nik": subscriber["nik"], "passphrase": subscriber["passphrase"], "file": [encoded] * count}
        if properties:
            body["signatureProperties"] = properties
        response = client.post("/api/v2/sign/pdf", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()

    rows = []
    try:
        one = interleave({"paraf": timed(api_sign), "baseline": baseline.timed()}, args.rounds)
        rows.append(row("API sign, 1 page, B-LT, passphrase vs pyHanko B-B", one["paraf"], one["baseline"],
                        "p50 <= 100 ms and <= 2.5x"))
        batch = interleave({"paraf": timed(lambda: api_sign(BATCH), BATCH), "baseline": baseline.timed(BATCH)},
                           max(3, args.rounds // 3))
        rows.append(row(f"batch of {BATCH} one-page PDFs in one API call (docs/s)", batch["paraf"], batch["baseline"],
                        ">= 30 docs/s", rate=True))
        api_look = interleave({"visible": timed(lambda: api_sign(properties=VISIBLE)), "invisible": timed(api_sign)},
                              args.rounds)
        rows.append(row("API sign visible / invisible, 1 page", api_look["visible"], api_look["invisible"], "<= 1.2x"))
        with app.app_context():
            account = db.session.execute(
                db.select(Account).join(SubscriberProfile).where(SubscriberProfile.nik == subscriber["nik"])
            ).scalar_one()
            certificate = signatures.signing_certificate(account)
            stamp = keys.Stamp(name=signatures.display_name(account), position="Kepala Bagian Umum",
                               qr_url="https://paraf.example/v/abc")
            with keys.unlocked(certificate, subscriber["passphrase"]) as sign:
                look = interleave({
                    "visible": timed(lambda: sign(document, page=0, box=STAMP_BOX, stamp=stamp)),
                    "invisible": timed(lambda: sign(document)),
                    "B-B": timed(lambda: sign(document, level="B-B")),
                    "baseline": baseline.timed(),
                }, args.rounds)
        rows.append(row("visible / invisible B-LT, key unlocked once", look["visible"], look["invisible"], "<= 1.2x"))
        rows.append(row("B-LT per document, key unlocked once, vs pyHanko B-B", look["invisible"], look["baseline"], "-"))
        rows.append(row("B-B per document, key unlocked once, vs pyHanko B-B", look["B-B"], look["baseline"], "-"))
    finally:
        baseline.close()

    header = ("figure", "Paraf median (min-max, CPU)", "baseline (min-max, CPU)", "ratio", "target")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for line in (header, *rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths)))
    print(f"{args.rounds} rounds; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
