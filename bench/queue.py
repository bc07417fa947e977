"""Time the verifier queue over 120,000 subscribers, against the same queries run directly with SQLAlchemy.

Usage: ``.venv/bin/python bench/queue.py [--rounds N] [--accounts N] [--other N] [--keep]``. It builds a
throw-away instance (SQLite, migrated with Alembic) in a temp folder, bulk-inserts ``--accounts``
subscriber accounts with profiles for one agency and ``--other`` for a second one (SQLAlchemy Core,
in batches, the two agencies interleaved as registrations arrive), signs a verifier of the first
agency in through the login form, and prints the median time of ``GET /verifikator/`` through the
Flask test client for: the first page, a page deep in the keyset cursor, a status filter, a NIK
search and name searches; beside each, the median of the same query (``queue_query`` of the
view, scoped to the agency) run directly with SQLAlchemy (the baseline) and the ratio. A page
slower than 200 ms is marked.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from timing import median_ms  # noqa: E402  (bench/ is on the path when a script runs)

from app import create_app  # noqa: E402
from app.domain.accounts import authenticators  # noqa: E402
from app.domain.accounts.passwords import hash_password  # noqa: E402
from app.domain.enrolment.registries import FAMILY_NAMES, FEMALE_NAMES, MALE_NAMES  # noqa: E402
from app.extensions import db  # noqa: E402
from app.instance_setup import write_config  # noqa: E402
from app.lifecycle import AccountStatus  # noqa: E402
from app.models import Account, Agency, Role, SubscriberProfile  # noqa: E402
from app.models.types import utcnow  # noqa: E402
from app.verifier.views import queue_query  # noqa: E402

BATCH = 5_000
SLOW_MS = 200
PASSWORD = "Verifikator#Bench1"
STATUSES = (  # a plausible mix: most registered, some waiting for the verifier, a few rejected
    (AccountStatus.REGISTERED, 55),
    (AccountStatus.ACTIVATED, 20),
    (AccountStatus.VERIFIED, 22),
    (AccountStatus.REJECTED, 3),
)


def make_agencies() -> tuple[int, int, str]:
    """Add the two agencies and the first one's verifier (with an authenticator); return the agency ids and its secret."""
    main = Agency(code="BENCH", name="Dinas Bench", email_domain="bench.go.id")
    other = Agency(code="LAIN", name="Dinas Lain", email_domain="lain.go.id")
    db.session.add_all([main, other])
    db.session.flush()
    verifier = Account(role=Role.VERIFIER, agency_id=main.id, email="verifikator@bench.go.id", username="verifikator",
                       password_hash=hash_password(PASSWORD), name="Verifikator Bench")
    db.session.add(verifier)
    db.session.flush()
    _device, secret = authenticators.provision(verifier, "Bench")
    db.session.commit()
    return main.id, other.id, secret


def insert_subscribers(main_id: int, other_id: int, main_count: int, other_count: int, seed: int = 7) -> None:
    """Bulk-insert subscriber accounts and profiles, the other agency's spread evenly among the main one's."""
    rng = random.Random(seed)
    statuses, weights = zip(*STATUSES)
    total = main_count + other_count
    every = total / other_count if other_count else total + 1
    first_id = (db.session.execute(select(db.func.max(Account.id))).scalar() or 0) + 1
    now = utcnow()
    other_marks = {int(k * every) for k in range(other_count)}
    for start in range(0, total, BATCH):
        accounts, profiles = [], []
        for n in range(start, min(start + BATCH, total)):
            account_id = first_id + n
            agency_id = other_id if n in other_marks else main_id
            gender = rng.choice("LP")
            name = f"{rng.choice(MALE_NAMES if gender == 'L' else FEMALE_NAMES)} {rng.choice(FAMILY_NAMES)}"
            nik = f"3171{n:012d}"
            accounts.append({"id": account_id, "version": 1, "agency_id": agency_id, "role": Role.SUBSCRIBER,
                             "status": rng.choices(statuses, weights)[0], "username": None,
                             "email": f"pegawai{n}@{'lain' if agency_id == other_id else 'bench'}.go.id",
                             "password_hash": None, "name": name, "rejection_reason": None, "created_at": now})
            profiles.append({"account_id": account_id, "nik": nik, "nip": f"19900101{n:010d}",
                             "name": name, "front_title": "", "back_title": "", "birth_date": None, "gender": gender,
                             "registry_email": None, "phone": f"+62812{n:08d}", "phone_verified_at": None,
                             "employment": None, "unit": "", "position": "", "province": "", "population_match": None,
                             "asn_match": None, "selfie_path": None, "selfie_score": None, "consent_privacy_at": None,
                             "consent_agreement_at": None, "agreement_version": None, "submitted_at": None,
                             "wizard_step": 0, "wizard_data": {}})
        db.session.execute(insert(Account.__table__), accounts)
        db.session.execute(insert(SubscriberProfile.__table__), profiles)
        db.session.commit()



def signed_in_client(app, secret: str):
    """Return a test client signed in as the verifier through the login form: password, then TOTP code."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.environ_base["HTTP_X_CSRFTOKEN"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "verifikator", "password": PASSWORD})
    assert response.status_code == 302, "the verifier's password was refused"
    response = client.post("/login/kode", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/verifikator/"), "no sign-in"
    return client


def main() -> None:
    """Build the data, run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds per measurement (median)")
    parser.add_argument("--accounts", type=int, default=100_000, help="subscribers of the verifier's agency")
    parser.add_argument("--other", type=int, default=20_000, help="subscribers of another agency")
    parser.add_argument("--keep", action="store_true", help="keep the temp instance (its paraf.db) for a look afterwards")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="paraf-bench-queue-"))
    write_config(instance)
    app = create_app({"INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'paraf.db'}"})
    with app.app_context():
        upgrade()
        main_id, other_id, secret = make_agencies()
        started = time.perf_counter()
        insert_subscribers(main_id, other_id, args.accounts, args.other)
        loaded_s = time.perf_counter() - started
        ids = db.session.execute(
            select(Account.id).where(Account.agency_id == main_id, Account.role == Role.SUBSCRIBER).order_by(Account.id)
        ).scalars().all()
        deep = ids[len(ids) // 20]  # 95 % of the way down the queue
        sample = db.session.get(Account, ids[len(ids) // 3])
        nik, full_name, family = sample.profile.nik, sample.name, sample.name.split()[-1]
        db.session.remove()

    cases = [
        ("first page", {}),
        ("deep page (keyset cursor, 95 % down)", {"before": deep}),
        ("status filter ACTIVATED", {"status": "ACTIVATED"}),
        ("status filter REJECTED (rare)", {"status": "REJECTED"}),
        ("NIK search (exact)", {"q": nik}),
        (f"name search, common ({family.lower()})", {"q": family.lower()}),
        ("name search, full name", {"q": full_name}),
        ("name search, no match", {"q": "tidakadanamaini"}),
    ]
    client = signed_in_client(app, secret)
    rows = []
    for label, params in cases:
        query = {"q": params.get("q", ""), "status": params.get("status", "")}
        if params.get("before"):
            query["sebelum"] = params["before"]

        def page(query=query):
            response = client.get("/verifikator/", query_string=query)
            assert response.status_code == 200
            return response

        def baseline(params=params):
            with app.app_context():  # the page's own query, scoped to the agency as for a verifier
                db.session.execute(queue_query(**params).where(Account.agency_id == main_id)).scalars().all()
                db.session.remove()

        matched = page().get_data(as_text=True).count("/verifikator/akun/")
        page_ms, base_ms = median_ms(page, args.rounds, warm_up=True), median_ms(baseline, args.rounds, warm_up=True)
        rows.append((label, matched, page_ms, base_ms))

    with app.app_context():
        db.engine.dispose()
    if not args.keep:
        shutil.rmtree(instance)
    print(f"{args.accounts:,} + {args.other:,} subscribers loaded in {loaded_s:.1f} s (SQLite{', kept in ' + str(instance) if args.keep else ''})")
    print(f"{'GET /verifikator/ (median of ' + str(args.rounds) + ')':44} {'rows':>5} {'page ms':>9} {'query ms':>9} {'ratio':>7}")
    for label, matched, page_ms, base_ms in rows:
        flag = "  SLOW" if page_ms > SLOW_MS else ""
        print(f"{label:44} {matched:5d} {page_ms:9.1f} {base_ms:9.1f} {page_ms / base_ms:6.1f}x{flag}")


if __name__ == "__main__":
    main()
