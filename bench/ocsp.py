"""Bench Paraf's OCSP responder against ``openssl ocsp`` as responder: one sequential keep-alive client, A B A B.

Usage (as root): ``.venv/bin/python bench/ocsp.py [--rounds 7] [--requests 400] [--certificates 5]``. OpenSSL 3.0's
``ocsp -port`` binds every interface, so the whole bench re-runs itself inside a private network namespace (loopback
only) and deletes it afterwards. Inside it builds a throw-away Paraf instance (SoftHSM token, CA hierarchy,
``--certificates`` subscriber certificates) served by gunicorn as ``make run`` does (gthread), and an openssl CA in a
temp folder with the same key sizes and the same number of certificates, answered by ``openssl ocsp -index``. One
``http.client`` connection per server sends POST requests one after another, nonce-less (the same request each time)
and with a fresh nonce each time, in interleaved rounds. It prints per server and mode the median requests/s with
min–max, the server's CPU time per request (``/proc/<pid>/stat`` of the server and its children, before and after),
the connections opened, and Paraf/openssl ratios per round against the issue's targets (≥ 2× / ≥ 1×). A third
server, the floor, is gunicorn with the same flags answering Paraf's saved answer with no work behind it: what any
Python app served this way can reach.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "bench"))  # for timing, also when gunicorn imports this file as bench.ocsp

from asn1crypto import core, ocsp  # noqa: E402
from timing import free_port, tree_cpu_seconds  # noqa: E402

TARGETS = {"nonce-less": 2.0, "nonce": 1.0}


def openssl(*args: str, cwd: Path) -> str:
    """Run openssl in ``cwd`` and return its output."""
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout



def with_nonce(request_der: bytes) -> bytes:
    """Return the request with a fresh random nonce extension."""
    request = ocsp.OCSPRequest.load(request_der)
    tbs = request["tbs_request"]
    tbs["request_extensions"] = [{"extn_id": "nonce", "extn_value": core.OctetString(secrets.token_bytes(16))}]
    return ocsp.OCSPRequest({"tbs_request": tbs}).dump()


def paraf_material(folder: Path, certificates: int) -> tuple[Path, list[Path]]:
    """Make a throw-away Paraf instance with ``certificates`` subscribers; return its folder and their PEM files."""
    from flask_migrate import upgrade
    from throwaway import throwaway_app

    from app.domain import keys
    from app.extensions import db
    from app.platform.audit import Actor

    app = throwaway_app()
    pems = []
    with app.app_context():
        upgrade()
        keys.init_pki()
        (folder / "issuing.der").write_bytes(keys.published_certificate("issuing"))
        (folder / "root.der").write_bytes(keys.published_certificate("root"))
        for number in range(certificates):
            row = keys.issue_subscriber_certificate(
                {"country_name": "ID", "organization_name": "Bench", "common_name": f"Bench {number}"},
                "bench passphrase 1", Actor("bench"))
            (folder / f"sub{number}.der").write_bytes(row.der)
            pems.append(folder / f"sub{number}.pem")
        db.session.commit()
    for name in ["issuing", "root", *(p.stem for p in pems)]:
        openssl("x509", "-inform", "der", "-in", f"{name}.der", "-out", f"{name}.pem", cwd=folder)
    return Path(app.instance_path), pems


def openssl_material(folder: Path, certificates: int) -> list[Path]:
    """Make an openssl CA (root and issuing RSA 3072, responder and subscribers RSA 2048) and its index."""
    def make(name: str, bits: int, issuer: str | None, extensions: str) -> None:
        openssl("req", "-new", "-newkey", f"rsa:{bits}", "-nodes", "-keyout", f"{name}.key", "-subj", f"/CN={name}",
                "-out", f"{name}.csr", cwd=folder)
        (folder / f"{name}.ext").write_text(extensions)
        signer = ["-signkey", f"{name}.key"] if issuer is None else ["-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key"]
        openssl("x509", "-req", "-in", f"{name}.csr", *signer, "-days", "30", "-set_serial",
                str(secrets.randbits(120)), "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)

    make("root", 3072, None, "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
    make("issuing", 3072, "root", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
    make("responder", 2048, "issuing", "keyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n")
    index = []
    pems = []
    for number in range(certificates):
        make(f"sub{number}", 2048, "issuing", "keyUsage=critical,digitalSignature,nonRepudiation\n")
        serial = openssl("x509", "-in", f"sub{number}.pem", "-noout", "-serial", cwd=folder).strip().split("=")[1]
        index.append(f"V\t300101000000Z\t\t{serial}\tunknown\t/CN=sub{number}\n")
        pems.append(folder / f"sub{number}.pem")
    (folder / "index.txt").write_text("".join(index))
    return pems


def request_der(folder: Path, cert: Path) -> bytes:
    """Return a nonce-less OCSP request (SHA-1 CertID, as openssl makes it) about ``cert``."""
    openssl("ocsp", "-issuer", "issuing.pem", "-cert", cert.name, "-no_nonce", "-reqout", "req.der", cwd=folder)
    return (folder / "req.der").read_bytes()


def wait_for(port: int, server: subprocess.Popen, body: bytes) -> None:
    """Return once the server answers an OCSP POST on ``port``."""
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"server exited ({server.returncode})")
        try:
            post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), body)
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"no answer on port {port} within a minute")


def post(connection: http.client.HTTPConnection, body: bytes) -> bytes:
    """POST one OCSP request on a keep-alive connection and return the answer (openssl answers on any path)."""
    connection.request("POST", "/pki/ocsp", body,
                       {"Content-Type": "application/ocsp-request", "Connection": "keep-alive"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return data


def nonce_of(der: bytes, field: str) -> bytes | None:
    """Return the nonce of an OCSP request (``tbs_request``) or basic response (``tbs_response_data``)."""
    message = ocsp.OCSPRequest.load(der) if field == "tbs_request" else ocsp.OCSPResponse.load(der).basic_ocsp_response
    extensions = message[field]["request_extensions" if field == "tbs_request" else "response_extensions"]
    return next((e["extn_value"].native for e in extensions or [] if e["extn_id"].native == "nonce"), None)


def check(folder: Path, cert: Path, request: bytes, answer: bytes) -> None:
    """Exit unless openssl verifies ``answer`` about ``cert`` as good and the request's nonce, if any, is echoed."""
    (folder / "resp.der").write_bytes(answer)
    out = subprocess.run(["openssl", "ocsp", "-respin", "resp.der", "-issuer", "issuing.pem", "-cert", cert.name,
                          "-CAfile", "root.pem", "-no_nonce"], cwd=folder, capture_output=True, text=True, check=False)
    if "Response verify OK" not in out.stderr + out.stdout or f"{cert.name}: good" not in out.stdout:
        sys.exit(f"openssl did not verify the answer from {folder}: {out.stdout}{out.stderr}")
    if nonce_of(request, "tbs_request") != nonce_of(answer, "tbs_response_data"):
        sys.exit(f"the answer from {folder} does not echo the request's nonce")


def batch(port: int, pid: int, bodies: list[bytes]) -> tuple[float, float, int]:
    """Send ``bodies`` one after another on one connection; return requests/s, server CPU ms per request, connects."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connects = 0
    cpu = tree_cpu_seconds(pid)
    start = time.perf_counter()
    for body in bodies:
        connects += connection.sock is None
        post(connection, body)
    wall = time.perf_counter() - start
    cpu = tree_cpu_seconds(pid) - cpu
    connection.close()
    return len(bodies) / wall, cpu * 1000 / len(bodies), connects


def inside(args: argparse.Namespace) -> None:
    """Run the bench (inside the private network namespace)."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    paraf_dir = Path(tempfile.mkdtemp(prefix="paraf-ocsp-pem-"))
    openssl_dir = Path(tempfile.mkdtemp(prefix="paraf-ocsp-openssl-"))
    instance, paraf_pems = paraf_material(paraf_dir, args.certificates)
    openssl_pems = openssl_material(openssl_dir, args.certificates)
    requests = {"paraf": request_der(paraf_dir, paraf_pems[0]), "openssl": request_der(openssl_dir, openssl_pems[0])}

    ports = {name: free_port() for name in ("paraf", "openssl", "floor")}
    env = {**os.environ, "PARAF_INSTANCE": str(instance), "SOFTHSM2_CONF": str(instance / "softhsm" / "softhsm2.conf"),
           "LOG_LEVEL": "WARNING", "PARAF_OCSP_FIXED": str(paraf_dir / "fixed.der")}
    processes = {
        "paraf": gunicorn(args, ports["paraf"], "wsgi:app", env, instance / "gunicorn.log"),
        "openssl": subprocess.Popen(
            ["openssl", "ocsp", "-index", "index.txt", "-port", str(ports["openssl"]), "-rsigner", "responder.pem",
             "-rkey", "responder.key", "-CA", "issuing.pem", "-nmin", "60", "-ignore_err"],
            cwd=openssl_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    }
    folders = {"paraf": (paraf_dir, paraf_pems[0]), "openssl": (openssl_dir, openssl_pems[0])}
    try:
        for name, (folder, cert) in folders.items():
            wait_for(ports[name], processes[name], requests[name])
            connection = http.client.HTTPConnection("127.0.0.1", ports[name], timeout=30)
            for body in (requests[name], with_nonce(requests[name])):
                check(folder, cert, body, post(connection, body))
            for _ in range(args.requests):  # warm-up: every worker thread, the pre-signed answer, the HSM session
                post(connection, requests[name])
        (paraf_dir / "fixed.der").write_bytes(post(connection, requests["paraf"]))
        requests["floor"] = requests["paraf"]
        processes["floor"] = gunicorn(args, ports["floor"], "bench.ocsp:fixed_answer", env, instance / "floor.log")
        wait_for(ports["floor"], processes["floor"], requests["floor"])
        results = {(name, mode): [] for name in processes for mode in TARGETS if (name, mode) != ("floor", "nonce")}
        for round_number in range(args.rounds):
            order = list(processes) if round_number % 2 == 0 else list(reversed(processes))
            for mode in TARGETS:
                for name in order:
                    if (name, mode) not in results:
                        continue
                    if mode == "nonce":
                        bodies = [with_nonce(requests[name]) for _ in range(args.requests)]
                    else:
                        bodies = [requests[name]] * args.requests
                    results[name, mode].append(batch(ports[name], processes[name].pid, bodies))
        report(args, results)
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=30)
        for folder in (paraf_dir, openssl_dir):
            shutil.rmtree(folder)


def gunicorn(args: argparse.Namespace, port: int, app: str, env: dict, log: Path) -> subprocess.Popen:
    """Start gunicorn serving ``app`` as ``make run`` does (gthread, access log to stdout)."""
    return subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "gunicorn"), "--worker-class", "gthread", "--workers", str(args.workers),
         "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10",
         "--access-logfile", "-", "--error-logfile", "-", app],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


@functools.cache
def _fixed() -> bytes:
    return Path(os.environ["PARAF_OCSP_FIXED"]).read_bytes()


def fixed_answer(environ: dict, start_response) -> list[bytes]:
    """Answer any request with Paraf's saved answer: the floor, gunicorn serving with no work behind it."""
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/ocsp-response"), ("Content-Length", str(len(_fixed())))])
    return [_fixed()]


def report(args: argparse.Namespace, results: dict) -> None:
    """Print medians with min–max and the per-round ratios."""
    load = os.getloadavg()
    print(f"OCSP, one sequential keep-alive client, {args.rounds} interleaved rounds × {args.requests} requests; "
          f"Paraf: gunicorn gthread {args.workers} workers × {args.threads} threads; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'server':8} {'mode':11} {'req/s median (min–max)':>28} {'CPU ms/req median (min–max)':>30} {'connects':>9}")
    for (name, mode), rows in results.items():
        rates, cpus = [r[0] for r in rows], [r[1] for r in rows]
        print(f"{name:8} {mode:11} {statistics.median(rates):10.0f} ({min(rates):6.0f}–{max(rates):6.0f})      "
              f"{statistics.median(cpus):10.3f} ({min(cpus):.3f}–{max(cpus):.3f})   {sum(r[2] for r in rows):6d}")
    floor = [p[0] / f[0] for p, f in zip(results["paraf", "nonce-less"], results["floor", "nonce-less"])]
    reach = [f[0] / o[0] for f, o in zip(results["floor", "nonce-less"], results["openssl", "nonce-less"])]
    print(f"floor: gunicorn answering fixed bytes reaches {statistics.median(reach):.2f}× openssl "
          f"({min(reach):.2f}–{max(reach):.2f}); Paraf nonce-less is {statistics.median(floor):.2f} of the floor "
          f"({min(floor):.2f}–{max(floor):.2f})")
    for mode, target in TARGETS.items():
        ratios = [p[0] / o[0] for p, o in zip(results["paraf", mode], results["openssl", mode])]
        cpu = [p[1] / o[1] for p, o in zip(results["paraf", mode], results["openssl", mode]) if o[1]]
        verdict = "meets" if statistics.median(ratios) >= target else "misses"
        cpu_text = f"; CPU per request {statistics.median(cpu):.2f}×" if cpu else ""
        print(f"{mode:11} Paraf/openssl throughput {statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"
              f"{cpu_text}; target ≥ {target:g}×: {verdict}")


def main() -> None:
    """Parse the options; run the bench inside a new network namespace, deleted afterwards."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median over them)")
    parser.add_argument("--requests", type=int, default=400, help="sequential requests per server, mode and round")
    parser.add_argument("--certificates", type=int, default=5, help="subscriber certificates on each CA")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the Makefile's WORKERS)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (the Makefile's THREADS)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    namespace = f"paraf-ocsp-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        command = [sys.executable, __file__, "--inside", *sys.argv[1:]]
        sys.exit(subprocess.run(["ip", "netns", "exec", namespace, *command], check=False).returncode)
    finally:
        subprocess.run(["ip", "netns", "delete", namespace], check=True)


if __name__ == "__main__":
    main()
