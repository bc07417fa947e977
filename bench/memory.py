"""Measure the resident memory (VmRSS) of a warmed worker, of the worker after 18 MB PDFs, and of each background loop.

Usage: ``.venv/bin/python bench/memory.py [--size-mb 18]``. It builds a throw-away instance (SoftHSM token, CA
hierarchy, the demo data set and its API client), then in fresh processes:

- a worker: the app made as ``wsgi.py`` makes it, a few requests served through the Flask test client (the
  home and verify pages, one API signature and one API verification of a one-page PDF): RSS after warm-up;
  then one API verification and one API signature of an ~18 MB PDF: RSS after them (bodies released) and the
  peak (VmHWM, which includes the test client's own copies of the request and the answer);
- ``flask --app wsgi outbox work --loop`` and ``flask --app wsgi certificates sweep --loop``: RSS a few seconds
  after start, then stopped with SIGTERM.

RSS is read from ``/proc/<pid>/status``. Targets (issue 11): worker ≤ 200 MB after warm-up, ≤ 300 MB after the
large PDFs, each loop ≤ 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("cv2", "numpy", "PIL", "uharfbuzz", "fontTools", "pypdfium2", "fpdf", "qrcode")


def status_mb(pid: int | str = "self") -> dict[str, float]:
    """Return VmRSS and VmHWM of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def worker(instance: str, credentials_file: str, size_mb: int) -> None:
    """Serve a few requests in this fresh process, then large PDFs; print the RSS after each stage as JSON."""
    import base64
    import gc

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    os.environ["PARAF_INSTANCE"] = instance
    from app import create_app

    app = create_app({"LOG_LEVEL": "WARNING"})
    stages = {"app made": status_mb()}
    credentials = json.loads(Path(credentials_file).read_text())
    api, subscriber = credentials["api_client"], credentials["subscriber"]
    token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    client = app.test_client()

    def sign(document: bytes) -> bytes:
        body = {"nik": subscriber["nik"], "passphrase": subscriber["passphrase"], "file": [base64.b64encode(document).decode()]}
        response = client.post("/api/v2/sign/pdf", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()
        return base64.b64decode(response.get_json()["file"][0])

    def verify(document: bytes) -> None:
        response = client.post("/api/v2/verify/pdf", json={"file": base64.b64encode(document).decode()}, headers=headers)
        assert response.status_code == 200 and response.get_json()["conclusion"] == "VALID", response.get_json()

    from app.api.openapi import example_pdf

    for path in ("/", "/verify"):
        assert client.get(path).status_code == 200, path
    signed = sign(example_pdf())
    verify(signed)
    del signed
    gc.collect()
    stages["warmed up"] = status_mb()
    stages["heavy modules"] = sorted(name for name in HEAVY if name in sys.modules)

    from api import padded_pdf  # bench/api.py

    large = padded_pdf(size_mb * 1_000_000)
    large_signed = sign(large)
    del large
    verify(large_signed)
    stages["large PDF bytes"] = len(large_signed) / 1e6
    del large_signed
    gc.collect()
    stages["after large PDFs"] = status_mb()
    print(json.dumps(stages))


def loop_rss(instance: str, command: list[str], settle: float) -> float:
    """Start a background loop of the Flask CLI, wait ``settle`` seconds, return its RSS in MB and stop it."""
    env = {**os.environ, "PARAF_INSTANCE": instance, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(settle)
        if process.poll() is not None:
            raise RuntimeError(f"{' '.join(command)} ended: {process.stderr.read()}")
        return status_mb(process.pid)["VmRSS"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    """Build the instance, measure each process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=18, help="size of the large PDF")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds a loop runs before its RSS is read")
    parser.add_argument("--worker", nargs=2, metavar=("INSTANCE", "CREDENTIALS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.size_mb)
        return

    sys.path.insert(0, str(REPO))
    from flask_migrate import upgrade
    from throwaway import throwaway_app  # bench/ is on the path when a script runs

    from app.demo import seed
    from app.domain import keys
    from app.extensions import db

    app = throwaway_app("paraf-bench-memory-")
    instance = app.config["INSTANCE_PATH"]
    with app.app_context():
        upgrade()
        keys.init_pki()
        credentials = seed()
        db.session.commit()
    credentials_file = Path(instance) / "bench-credentials.json"
    credentials_file.write_text(json.dumps({key: credentials[key] for key in ("api_client", "subscriber")}))

    out = subprocess.run([sys.executable, __file__, "--size-mb", str(args.size_mb), "--worker", instance,
                          str(credentials_file)], check=True, capture_output=True, text=True, cwd=REPO).stdout
    stages = json.loads(out.strip().splitlines()[-1])
    outbox = loop_rss(instance, ["outbox", "work", "--loop"], args.settle)
    sweep = loop_rss(instance, ["certificates", "sweep", "--loop"], args.settle)

    print(f"{'process':58} {'VmRSS MB':>9} {'peak MB':>8} {'target':>7}")
    print(f"{'worker, app made':58} {stages['app made']['VmRSS']:9.0f} {'':8} {'':>7}")
    print(f"{'worker, warmed up (pages, 1-page API sign and verify)':58} {stages['warmed up']['VmRSS']:9.0f}"
          f" {stages['warmed up']['VmHWM']:8.0f} {'<= 200':>7}")
    label = f"worker, after API sign + verify of a {stages['large PDF bytes']:.0f} MB PDF"
    print(f"{label:58} {stages['after large PDFs']['VmRSS']:9.0f} {stages['after large PDFs']['VmHWM']:8.0f} {'<= 300':>7}")
    print(f"{'flask outbox work --loop':58} {outbox:9.0f} {'':8} {'<= 100':>7}")
    print(f"{'flask certificates sweep --loop':58} {sweep:9.0f} {'':8} {'<= 100':>7}")
    print(f"heavy modules loaded in the warmed worker: {', '.join(stages['heavy modules']) or 'none'}")


if __name__ == "__main__":
    main()
