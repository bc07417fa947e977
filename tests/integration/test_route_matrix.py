"""Every route of the URL map × every role × an object of the role's own agency and of another: the answer class
comes from the one table in tests/route_table.py, and a route without an entry there fails.

The people and objects are made once for the module (two agencies, A and B, each with its subscribers,
verifier, signed document, open upload, workflow, data change, suspension with a document, request letter,
CSV import, API client). Clients send the session's CSRF token with every request, as the pages do; POSTs
carry an empty body: an authorised role may refuse it (4xx), an unauthorised one must never get in and no
answer may be a 500. HEAD and OPTIONS (added by Werkzeug to every GET rule) are left out.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from flask import Flask, url_for

from app.csc import sad
from app.domain.accounts.passwords import hash_password
from app.domain.certificates import data_changes, suspensions
from app.domain.enrolment import csv_import, request_letters
from app.domain.seals import requests as seal_requests
from app.domain.signing import workflows
from app.domain.signing.signatures import Upload
from app.extensions import db
from app.models import Account, ApiClient, AuthenticatorDevice, Role
from app.platform.audit import Actor
from tests.api_helpers import make_client
from tests.auth_helpers import send_csrf
from tests.pdfs import make_pdf
from tests.route_table import ROLES, TABLE, answer_class, expected
from tests.subscribers import (
    AgencyRef,
    create_agency,
    create_agency_head,
    create_staff,
    create_subscriber,
    signed_in_client,
)

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
       b"\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@dataclass
class Side:
    """One agency's objects, by URL variable name (``{"account_id": 12, ...}``)."""

    agency_id: int
    values: dict


def _signed_batch(client) -> tuple[str, str, str]:
    """Upload and sign one PDF through the portal, then upload another; return (signed batch, public id, open batch)."""
    def upload() -> str:
        response = client.post("/tandatangan", data={"files": (io.BytesIO(make_pdf()), "surat.pdf")},
                               content_type="multipart/form-data")
        assert response.status_code == 303, response.get_data(as_text=True)
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    signed = upload()
    response = client.post(f"/tandatangan/{signed}", data={"mode": "visible", "page": "0", "x": "300", "y": "40",
                                                            "passphrase": client.passphrase})
    assert response.status_code == 303, response.get_data(as_text=True)
    results = client.get(response.headers["Location"]).get_data(as_text=True)
    public_id = re.search(r"/tandatangan/unduh/([0-9a-f]{32})", results).group(1)
    return signed, public_id, upload()


def _side(app: Flask, agency: AgencyRef, elsewhere: AgencyRef) -> tuple[Side, dict]:
    """Make the agency's people and objects (a migration goes to ``elsewhere``); return its side and acting people."""
    prefix = agency.code
    subscriber = create_subscriber(app, name=f"Pengguna Matriks {prefix}", agency_id=agency.id)
    target = create_subscriber(app, name=f"Sasaran Matriks {prefix}", agency_id=agency.id)
    suspended = create_subscriber(app, name=f"Ditangguhkan Matriks {prefix}", agency_id=agency.id)
    migrant = create_subscriber(app, name=f"Pindah Matriks {prefix}", agency_id=agency.id, certificate=False)
    verifier = create_staff(app, Role.VERIFIER, agency.id, authenticator=True, name=f"Verifikator Matriks {prefix}")
    colleague = create_staff(app, Role.VERIFIER, agency.id, authenticator=True)
    head = create_agency_head(app, agency.id)
    client = signed_in_client(app, subscriber.user_id)
    client.passphrase = subscriber.passphrase
    signed_batch, public_id, open_batch = _signed_batch(client)
    _name, _headers = make_client(app, [agency.id])
    seal_decider = create_staff(app, Role.CENTRAL_RA)
    actor = Actor("matrix")
    with app.app_context():
        workflow_owner = db.session.get(Account, subscriber.id)
        workflow = workflows.create(workflow_owner, "Nota Matriks", Upload("nota.pdf", make_pdf()),
                                    [(db.session.get(Account, target.id), None, "1-kiri")], actor)
        change = data_changes.start_update(db.session.get(Account, target.id), {"position": "Analis Matriks"}, False, actor,
                                           db.session.get(Account, verifier.id))
        migration = data_changes.start_migration(
            db.session.get(Account, migrant.id), {"agency": str(elsewhere.id), "email": f"pindah@{elsewhere.domain}"},
            actor, db.session.get(Account, verifier.id))
        suspension = suspensions.suspend(db.session.get(Account, suspended.id), "Perangkat hilang", actor)
        document = suspensions.save_document(suspension, "authenticator_form", "formulir.png", PNG, actor)
        letter = request_letters.record_letter(
            db.session.get(Account, verifier.id).agency,
            request_letters.validate({"number": f"800/{prefix}/2026", "letter_date": "2026-01-05", "sender_unit": "BKPSDM",
                                      "subject": "Pendaftaran TTE", "persons": "3 pegawai"}),
            actor,
        )
        job = csv_import.start(agency.id, b"name,nik,nip,email,phone\r\n", verifier.id)
        device = db.session.query(AuthenticatorDevice).filter_by(account_id=colleague.id).one()
        api_client = db.session.query(ApiClient).filter_by(name=_name).one()
        seal = seal_requests.request_seal(agency.id, f"Segel Matriks {prefix}", db.session.get(Account, head.id), actor)
        seal_requests.approve_seal(seal, db.session.get(Account, seal_decider.id), actor)
        seal_requests.issue_seal(seal, actor)
        values = {
            "account_id": target.id, "suspended": suspended.id, "change_id": change.id, "migration": migration.id, "suspension_id": suspension.id, "document_id": document.id,
            "letter_id": letter.id, "step_id": letter.steps[0].id, "agency_id": agency.id, "client_id": api_client.id,
            "device_id": device.id, "job_id": job.id, "batch_id": signed_batch, "open_batch": open_batch,
            "public_id": public_id, "workflow": workflow.public_id, "who": db.session.get(Account, subscriber.id).profile.nik,
            "seal_id": seal.id,
        }
        db.session.get(Account, subscriber.id).password_hash = hash_password("Matriks#2026")  # may sign in (CSC)
        db.session.commit()
    return Side(agency.id, values), {"subscriber": client, "verifier": verifier, "head": head, "account": subscriber}


@dataclass
class World:
    """The two sides and a signed-in client for every role (the API role: Basic on /api, bearer on /csc)."""

    sides: dict[str, Side]  # "A", "B"
    clients: dict[str, object]
    api_headers: dict
    csc_headers: dict
    agency_of: dict[str, str | None]  # role -> "A", "B" or None


@pytest.fixture(scope="module")
def world(app: Flask) -> World:
    """Make agencies A and B with their people and objects, central RA, admin and an API client of A."""
    agency_a, agency_b = create_agency(app, "MA", "Dinas Matriks"), create_agency(app, "MB", "Dinas Matriks")
    side_a, people = _side(app, agency_a, agency_b)
    side_b, people_b = _side(app, agency_b, agency_a)
    central_ra = create_staff(app, Role.CENTRAL_RA, authenticator=True)
    admin = create_staff(app, Role.ADMIN, authenticator=True)
    _name, api_headers = make_client(app, [side_a.agency_id])
    with app.app_context():
        account = db.session.get(Account, people["account"].id)
        token, _lifetime = sad.issue_token(account.id, account.session_version)
    clients = {
        "anonymous": send_csrf(app.test_client()),
        "subscriber": people["subscriber"],  # the client that uploaded A's batches (they live in its session)
        "verifier_a": signed_in_client(app, people["verifier"].user_id),
        "verifier_b": signed_in_client(app, people_b["verifier"].user_id),
        "agency_head": signed_in_client(app, people["head"].user_id),
        "central_ra": signed_in_client(app, central_ra.user_id),
        "admin": signed_in_client(app, admin.user_id),
        "api_client": send_csrf(app.test_client()),
    }
    agency_of = {"subscriber": "A", "verifier_a": "A", "verifier_b": "B", "agency_head": "A"}
    return World({"A": side_a, "B": side_b}, clients, api_headers, {"Authorization": f"Bearer {token}"}, agency_of)


FIXED = {"token": "tautan-yang-tidak-ada", "name": "root", "issuer": "issuing", "filename": "app.css",
         "which": "formulir", "index": 0, "page": 0, "activation_id": 0}
OBJECT_KEYS = {  # endpoint -> {URL variable: key in Side.values} where the variable is not the plain object
    "agency_head.form": {"change_id": "migration"},
    "agency_head.form_pdf": {"change_id": "migration"},
    "agency_head.sign": {"change_id": "migration"},
    "api_v1.download": {"id_dokumen": "public_id"},
    "api_v1.user_status": {"nik": "who"},
    "ra.signed_form": {"change_id": "migration"},
    "verifier.data_change_pdf": {"change_id": "migration"},
    "verifier.legalise_reactivation": {"account_id": "suspended"},
    "verifier.reactivation_document": {"account_id": "suspended"},
    "verifier.upload_reactivation_document": {"account_id": "suspended"},
    "signing.place": {"batch_id": "open_batch"},
    "signing.sign": {"batch_id": "open_batch"},
    "signing.thumbnail": {"batch_id": "open_batch"},
    "workflows.decline": {"public_id": "workflow"},
    "workflows.detail": {"public_id": "workflow"},
    "workflows.document": {"public_id": "workflow"},
    "workflows.sign": {"public_id": "workflow"},
}


def _url(app: Flask, rule, side: Side) -> str:
    """Return the rule's URL for an object of ``side``."""
    keys = OBJECT_KEYS.get(rule.endpoint, {})
    values = {name: FIXED[name] if name in FIXED else side.values[keys.get(name, name)] for name in rule.arguments}
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _cases(app: Flask):
    """Yield (endpoint, method, has object) for every rule and method of the URL map (HEAD, OPTIONS left out)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, any(name not in FIXED for name in rule.arguments)


def test_every_route_has_an_entry_in_the_table(app):
    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()} - set(TABLE))
    assert not missing, "\n".join(f"new route {name} has no entry in the authorisation table" for name in missing)
    stale = sorted(set(TABLE) - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert not stale, f"the authorisation table names routes that are gone: {stale}"


def test_route_role_matrix(app, world):
    wrong = []
    for rule, method, has_object in _cases(app):
        for role in ROLES:
            home = world.agency_of.get(role) or "A"
            objects = (("own", home), ("other", "B" if home == "A" else "A")) if has_object else (("own", home),)
            for which, side in objects:
                url = _url(app, rule, world.sides[side])
                headers = {}
                if role == "api_client":
                    headers = world.csc_headers if url.startswith("/csc/") else world.api_headers
                response = world.clients[role].open(url, method=method, headers=headers)
                response.close()
                got = answer_class(response)
                want = expected(rule.endpoint, method, role, which)
                if got != want:
                    wrong.append(f"{method} {url} [{rule.endpoint}] as {role} ({which}): got {got} "
                                 f"({response.status_code} {response.headers.get('Location', '')}), table says {want}")
    assert not wrong, "\n".join(wrong)
