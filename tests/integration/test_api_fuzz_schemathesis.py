"""schemathesis against the eSign (v1, v2, seal) and CSC documents with every check; 405 answers with ``Allow``."""

from __future__ import annotations

import base64
import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.api.openapi import example_pdf
from app.csc import sad
from app.extensions import db
from app.models import Account
from tests.api_helpers import make_client
from tests.subscribers import create_subscriber

# No JSON Schema says "a real PDF": the document names the format and the media type, these generate one
schemathesis.openapi.format("pdf-base64", st.just(base64.b64encode(example_pdf()).decode("ascii")))
schemathesis.openapi.media_type("application/pdf", st.just(example_pdf()))
BOUNDED = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def esign_schema(app):
    """Return the eSign document, loaded from the app."""
    return schemathesis.openapi.from_wsgi("/api/v2/openapi.json", app)


@pytest.fixture(scope="module")
def csc_schema(app):
    """Return the CSC document, loaded from the app."""
    return schemathesis.openapi.from_wsgi("/csc/v2/openapi.json", app)


@pytest.fixture(scope="module")
def esign_client(app) -> tuple[dict, str]:
    """Return the Basic header of a client scoped to a subscriber's agency, and that agency's e-mail domain."""
    subscriber = create_subscriber(app)
    with app.app_context():
        domain = db.session.get(Account, subscriber.id).agency.email_domain
    return make_client(app, [subscriber.agency_id])[1], domain


@pytest.fixture(scope="module")
def csc_headers(app) -> dict:
    """Return the bearer header of a subscriber with a certificate."""
    subscriber = create_subscriber(app)
    with app.app_context():
        account = db.session.get(Account, subscriber.id)
        token, _lifetime = sad.issue_token(account.id, account.session_version)
    return {"Authorization": f"Bearer {token}"}


# schemathesis.pytest.from_fixture needs pytest < 9.2 (it writes Function._nodeid): one test per operation instead
ESIGN = ("GET /api/sign/download/{id_dokumen}", "POST /api/sign/pdf", "POST /api/sign/verify",
         "GET /api/user/status/{nik}", "POST /api/v2/seal/get/activation", "POST /api/v2/seal/get/totp",
         "POST /api/v2/seal/pdf", "POST /api/v2/seal/revoke/activation", "POST /api/v2/sign/get/totp",
         "POST /api/v2/sign/pdf", "GET /api/v2/user/certificate/chain/{id}", "POST /api/v2/user/check/status",
         "POST /api/v2/user/register", "POST /api/v2/verify/pdf")
CSC = ("POST /info", "POST /auth/login", "POST /credentials/list", "POST /credentials/info",
       "POST /credentials/authorize", "POST /signatures/signHash")
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
REGISTER = "POST /api/v2/user/register"
SERIALS = itertools.count(1)


def _new_person(domain: str) -> dict:
    """Return an e-mail at the client's agency and a NIK no one holds yet (the document cannot know either)."""
    serial = next(SERIALS)
    return {"email": f"fuzz{serial}@{domain}", "nik": f"320101120885{serial:04d}"}


def _operations(schema) -> dict:
    return {result.ok().label: result.ok() for result in schema.get_all_operations()}


def _fuzz(schema, label: str, mode: GenerationMode, headers: dict, domain: str | None = None) -> None:
    """Send bounded generated cases of one operation and run every check on each answer.

    A positive registration gets an e-mail of the client's agency and a fresh NIK: which domains a client serves and
    which NIKs are taken is data, not schema. Its other fields (``nama``, ``phone``) stay generated.
    """

    @BOUNDED
    @seed(16)
    @given(case=_operations(schema)[label].as_strategy(generation_mode=mode))
    def run(case):
        if label == REGISTER and mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            case.body = {**case.body, **_new_person(domain)}
        case.call_and_validate(headers=headers)

    run()


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/api/v2/sign/pdf", "OPTIONS, POST"),
    ("TRACE", "/api/v2/sign/pdf", "OPTIONS, POST"),
    ("BREW", "/api/sign/pdf", "OPTIONS, POST"),
    ("DELETE", "/api/v2/openapi.json", "GET, HEAD, OPTIONS"),
    ("TRACE", "/csc/v2/signatures/signHash", "OPTIONS, POST"),
    ("PUT", "/csc/v2/openapi.json", "GET, HEAD, OPTIONS"),
    ("TRACE", "/login", "GET, HEAD, OPTIONS, POST"),
])
def test_405_names_the_allowed_methods(client, method, path, allowed):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert ", ".join(sorted(m.strip() for m in response.headers["Allow"].split(","))) == allowed
    assert response.is_json == path.startswith(("/api/", "/csc/"))
    if path.startswith("/api/"):
        assert response.get_json()["error_code"] == "method_not_allowed"


def test_every_operation_is_fuzzed(esign_schema, csc_schema):
    assert set(_operations(esign_schema)) == set(ESIGN)
    assert set(_operations(csc_schema)) == set(CSC)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label", ESIGN)
def test_esign_document_holds(esign_schema, esign_client, label, mode):
    headers, domain = esign_client
    _fuzz(esign_schema, label, mode, headers, domain)


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label", CSC)
def test_csc_document_holds(csc_schema, csc_headers, label, mode):
    _fuzz(csc_schema, label, mode, csc_headers)
