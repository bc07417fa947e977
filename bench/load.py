"""Load-test a real Paraf server: many concurrent clients against one sequential client, measured in the same run.

Usage: ``.venv/bin/python bench/load.py [--clients 50] [--seconds 120] [--sequential-seconds 60]``. It builds a
throw-away instance (SoftHSM token, CA hierarchy, the demo data set with its API client), serves it with gunicorn
exactly as ``make run`` does (gthread, the Makefile's ``WORKERS`` and ``THREADS`` unless given) on a free loopback
port, and drives it with plain threads and ``http.client``, each call mixing API sign (one page, B-LT, passphrase),
API verify (that one-page PDF signed once) and portal pages (GET). Interleaved rounds (``--rounds``, 4): one
sequential client, then ``--clients`` at once, again and again; each ends by itself. It prints per mode the
calls, throughput, p50/p99/max, errors by kind, the server's CPU time (master and workers, with the cores it
kept busy) and the bench's own, then the ratio of concurrent to sequential throughput (over all rounds, and
the median with min–max by round) against the issue's targets (0 errors, ≥ 1.7×, p99 ≤ 2 s). ``DATABASE_URL``
(e.g. ``postgresql+psycopg://…``) picks the database; it must be empty (the bench refuses one with tables)
and is left filled.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.append(sys.path.pop(1))  # bench/ last: its queue.py must not hide the standard library's (psycopg uses it)

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import inspect, select  # noqa: E402
from throwaway import throwaway_app  # noqa: E402  (bench/ is on the path when a script runs)
from timing import free_port, tree_cpu_seconds  # noqa: E402

from app.api.openapi import example_pdf  # noqa: E402
from app.demo import seed  # noqa: E402
from app.domain import keys  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import SignedDocument  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO, TARGET_P99_S = 1.7, 2.0
CALL_TIMEOUT_S = 60
MIX = (("sign", 1), ("verify", 1), ("browse", 2))
"""Operations and their weights: one API sign and one API verify for every two portal pages."""


def makefile_default(name: str) -> int:
    """Return the Makefile's ``NAME ?= value`` default, so the bench serves as ``make run`` does."""
    match = re.search(rf"^{name} \?= (\d+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    return int(match.group(1))



@dataclass
class Calls:
    """What the clients of one phase saw: latencies, calls by operation, errors by kind."""

    latencies: list[float] = field(default_factory=list)
    by_operation: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, seconds: float, error: str | None) -> None:
        """Record one finished call (``error`` is its kind, or None when the answer was right)."""
        with self.lock:
            self.latencies.append(seconds)
            self.by_operation.setdefault(operation, []).append(seconds)
            if error:
                self.errors[f"{operation}: {error}"] += 1


class Workload:
    """The calls one client makes: sign, verify and portal pages, checked for the right answer."""

    def __init__(self, port: int, headers: dict, sign_body: bytes, verify_body: bytes, pages: list[str]):
        self.port, self.headers, self.pages = port, headers, pages
        self.bodies = {"sign": sign_body, "verify": verify_body}

    def call(self, operation: str, rng: random.Random) -> str | None:
        """Make one call; return None when it answered right, else the kind of error."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CALL_TIMEOUT_S)
        try:
            if operation == "browse":
                connection.request("GET", rng.choice(self.pages))
            else:
                path = "/api/v2/sign/pdf" if operation == "sign" else "/api/v2/verify/pdf"
                connection.request("POST", path, body=self.bodies[operation],
                                   headers={**self.headers, "Content-Type": "application/json"})
            answer = connection.getresponse()
            body = answer.read()
        except TimeoutError:
            return "timeout"
        except OSError as exc:
            return type(exc).__name__
        finally:
            connection.close()
        return self.judge(operation, answer, body)

    @staticmethod
    def judge(operation: str, answer: http.client.HTTPResponse, body: bytes) -> str | None:
        """Return None for a right answer, else a short kind: status, API error key or a bare (non-API) answer."""
        if operation == "browse":
            return None if answer.status == 200 else f"HTTP {answer.status}"
        try:
            data = json.loads(body)
        except ValueError:
            return f"HTTP {answer.status} (not JSON)"
        if answer.status != 200:
            return f"HTTP {answer.status} {data.get('error_code', '(not the API shape)')}"
        if operation == "sign" and not data.get("file"):
            return "no signed file"
        if operation == "verify" and data.get("conclusion") != "VALID":
            return f"conclusion {data.get('conclusion')}"
        return None


def run_phase(workload: Workload, clients: int, seconds: float, seed_value: int, calls: Calls) -> float:
    """Run ``clients`` closed-loop clients (no pause between calls) for ``seconds`` into ``calls``; return the time."""
    deadline = time.monotonic() + seconds
    operations, weights = zip(*MIX)

    def client(number: int) -> None:
        rng = random.Random(seed_value * 1000 + number)
        while time.monotonic() < deadline:
            operation = rng.choices(operations, weights)[0]
            started = time.perf_counter()
            error = workload.call(operation, rng)
            calls.add(operation, time.perf_counter() - started, error)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + CALL_TIMEOUT_S + 5)
    return time.perf_counter() - started


@dataclass
class Mode:
    """One side of the comparison summed over its rounds: the calls, wall time, server and bench CPU seconds."""

    label: str
    clients: int
    calls: Calls = field(default_factory=Calls)
    wall: float = 0.0
    cpu: float = 0.0
    client_cpu: float = 0.0
    rates: list[float] = field(default_factory=list)

    def run(self, workload: Workload, seconds: float, seed_value: int, server_pid: int) -> None:
        """Run one round of this mode and add it up."""
        cpu, client_cpu, done = tree_cpu_seconds(server_pid), time.process_time(), len(self.calls.latencies)
        wall = run_phase(workload, self.clients, seconds, seed_value, self.calls)
        self.wall += wall
        self.cpu += tree_cpu_seconds(server_pid) - cpu
        self.client_cpu += time.process_time() - client_cpu
        self.rates.append((len(self.calls.latencies) - done) / wall)



def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def prepare(app) -> tuple[dict, dict]:
    """Make the schema, the CA hierarchy and the demo data; return the API client's and subscriber's credentials."""
    with app.app_context():
        tables = inspect(db.engine).get_table_names()
        if tables:
            sys.exit(f"the database at DATABASE_URL already has {len(tables)} tables; give the bench an empty one")
        upgrade()
        keys.init_pki()
        credentials = seed()
        db.session.commit()
    return credentials["api_client"], credentials["subscriber"]


def serve(instance: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    """Start gunicorn as ``make run`` does on this instance and port; return once ``/healthz`` answers."""
    env = {**os.environ, "PARAF_INSTANCE": str(instance), "SOFTHSM2_CONF": str(instance / "softhsm" / "softhsm2.conf"),
           "HOST": "127.0.0.1", "PORT": str(port), "LOG_LEVEL": "WARNING"}
    command = [str(REPO / ".venv" / "bin" / "gunicorn"), "--worker-class", "gthread", "--workers", str(workers),
               "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10",
               "--access-logfile", "-", "--error-logfile", "-", "wsgi:app"]
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited ({server.returncode}); see {instance / 'gunicorn.log'}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not answer /healthz within a minute")


def row(mode: Mode) -> tuple[str, str]:
    """Return the table row of a mode and its errors line."""
    lat, calls = mode.calls.latencies, mode.calls
    count = len(lat)
    text = (f"{mode.label:16} {count:6d} {count / mode.wall:8.2f} {statistics.median(lat) * 1000:8.0f} "
            f"{percentile(lat, 0.99) * 1000:8.0f} {max(lat) * 1000:8.0f} {sum(calls.errors.values()):6d} "
            f"{mode.cpu:9.1f} {mode.cpu / mode.wall:6.2f} {mode.cpu / count * 1000:11.1f} {mode.client_cpu:11.1f}")
    errors = ", ".join(f"{kind} ×{n}" for kind, n in calls.errors.most_common()) or "none"
    return text, f"  errors ({mode.label}): {errors}"


def main() -> None:
    """Run the three phases and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients in the concurrent phase")
    parser.add_argument("--seconds", type=float, default=120, help="concurrent time in all, split over the rounds")
    parser.add_argument("--sequential-seconds", type=float, default=60, help="sequential time in all, split likewise")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of sequential then concurrent (A B A B …)")
    parser.add_argument("--workers", type=int, default=makefile_default("WORKERS"), help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=makefile_default("THREADS"), help="threads per worker")
    parser.add_argument("--keep", action="store_true", help="keep the throw-away instance folder")
    args = parser.parse_args()

    app = throwaway_app("paraf-bench-load-")
    instance = Path(app.instance_path)
    server = None
    try:
        api, subscriber = prepare(app)
        port = free_port()
        server = serve(instance, port, args.workers, args.threads)
        token = base64.b64encode(f"{api['username']}:{api['password']}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        one_page = base64.b64encode(example_pdf()).decode()
        sign_body = json.dumps({"nik": subscriber["nik"], "passphrase": subscriber["passphrase"], "file": [one_page]})
        probe = Workload(port, headers, sign_body.encode(), b"", [])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
        connection.request("POST", "/api/v2/sign/pdf", body=probe.bodies["sign"],
                           headers={**headers, "Content-Type": "application/json"})
        signed = json.loads(connection.getresponse().read())["file"][0]
        with app.app_context():
            record = db.session.execute(select(SignedDocument.public_id)).scalars().first()
        pages = ["/", "/login", "/daftar", "/verify", f"/verify/{record}", "/api/v2/docs"]
        workload = Workload(port, headers, sign_body.encode(), json.dumps({"file": signed}).encode(), pages)
        warm_up = Calls()
        run_phase(workload, 2 * args.workers * args.threads, 5, 0, warm_up)
        if warm_up.errors:
            print(f"warm-up errors: {dict(warm_up.errors)}")

        load_before = os.getloadavg()
        sequential, concurrent = Mode("1 sequential", 1), Mode(f"{args.clients} concurrent", args.clients)
        for number in range(1, args.rounds + 1):
            sequential.run(workload, args.sequential_seconds / args.rounds, 2 * number, server.pid)
            concurrent.run(workload, args.seconds / args.rounds, 2 * number + 1, server.pid)
        load_after = os.getloadavg()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        if not args.keep:
            shutil.rmtree(instance, ignore_errors=True)

    database = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"gunicorn gthread, {args.workers} workers × {args.threads} threads on {database}; "
          f"mix {', '.join(f'{name} ×{weight}' for name, weight in MIX)} (browse: {len(pages)} portal pages); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs")
    print(f"{args.rounds} rounds of {args.sequential_seconds / args.rounds:.0f} s sequential then "
          f"{args.seconds / args.rounds:.0f} s concurrent")
    print(f"{'mode':16} {'calls':>6} {'calls/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>6} "
          f"{'srv CPU s':>9} {'cores':>6} {'CPU ms/call':>11} {'bench CPU s':>11}")
    lines = [row(mode) for mode in (sequential, concurrent)]
    print("\n".join([text for text, _errors in lines] + [errors for _text, errors in lines]))
    for operation, values in sorted(concurrent.calls.by_operation.items()):
        print(f"  {concurrent.label}, {operation}: {len(values)} calls, p50 {statistics.median(values) * 1000:.0f} ms, "
              f"p99 {percentile(values, 0.99) * 1000:.0f} ms")
    ratios = [b / a for a, b in zip(sequential.rates, concurrent.rates)]
    print("  calls/s by round (sequential → concurrent): "
          + ", ".join(f"{a:.1f} → {b:.1f}" for a, b in zip(sequential.rates, concurrent.rates)))
    ratio = (len(concurrent.calls.latencies) / concurrent.wall) / (len(sequential.calls.latencies) / sequential.wall)
    p99 = percentile(concurrent.calls.latencies, 0.99)
    errors = sum(sum(mode.calls.errors.values()) for mode in (sequential, concurrent))
    print(f"concurrent / sequential throughput: {ratio:.2f}× over all rounds, median {statistics.median(ratios):.2f}× "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}) by round (target ≥ {TARGET_RATIO}×); "
          f"concurrent p99 {p99:.2f} s (target ≤ {TARGET_P99_S:.0f} s); errors {errors} (target 0)")


if __name__ == "__main__":
    main()
