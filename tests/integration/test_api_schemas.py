"""The eSign API v2 schemas: one model validates a request and describes it in the OpenAPI document."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager

import pytest
from pydantic.fields import FieldInfo

from app import demo
from app.api import schemas
from app.api.errors import ERRORS
from app.api.openapi import EXAMPLE_EMAIL, EXAMPLE_NIK, spec
from app.domain.enrolment import registries
from tests.api_helpers import b64
from tests.pdfs import make_pdf


@contextmanager
def added_field(model, name: str, annotation):
    """Add an optional field to ``model`` for the duration of the block (the document rebuilt with it)."""
    model.__pydantic_fields__[name] = FieldInfo.from_annotated_attribute(annotation, None)
    model.model_rebuild(force=True)
    spec.cache_clear()
    try:
        yield
    finally:
        del model.__pydantic_fields__[name]
        model.model_rebuild(force=True)
        spec.cache_clear()


def test_a_field_added_to_a_schema_is_documented_and_validated(client, caller):
    status = lambda body: client.post("/api/v2/user/check/status", json=body, headers=caller.headers)
    with added_field(schemas.Subscriber, "unit", schemas.Text(50)):
        document = client.get("/api/v2/openapi.json").get_json()
        assert document["components"]["schemas"]["Subscriber"]["properties"]["unit"] == {"type": "string",
                                                                                         "maxLength": 50}
        wrong = status({"nik": caller.nik, "unit": 5})
        assert (wrong.status_code, wrong.get_json()["status_code"], wrong.get_json()["field"]) == (400, 4003, "unit")
        assert status({"nik": caller.nik, "unit": "x" * 51}).get_json()["field"] == "unit"
        assert status({"nik": caller.nik, "unit": "Bagian Umum"}).status_code == 200
    assert "unit" not in client.get("/api/v2/openapi.json").get_json()["components"]["schemas"]["Subscriber"]["properties"]
    assert status({"nik": caller.nik, "unit": 5}).status_code == 200  # unknown fields are ignored


def test_the_document_states_the_alternatives_and_bounds():
    components = spec()["components"]["schemas"]
    for name in ("Subscriber", "SignRequest", "TotpRequest"):
        assert components[name]["anyOf"] == [{"required": ["nik"]}, {"required": ["email"]}], name
    assert set(components["SignRequest"]["required"]) == {"passphrase", "file"}
    files = components["SignRequest"]["properties"]["file"]["anyOf"][0]
    assert (files["minItems"], files["maxItems"]) == (1, 10)
    assert components["Subscriber"]["properties"]["nik"]["maxLength"] == 32
    assert components["RegisterRequest"]["required"] == ["nama", "email", "nik"]


def test_every_listed_error_is_answered_with_the_status_it_is_listed_under():
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if status in ("200", "401"):
                    continue
                for key in answer["content"]["application/json"]["examples"]:
                    assert ERRORS[key].http == int(status), (method, path, status, key)
    operations = {(op.method, op.path): op for op in schemas.OPERATIONS}
    sign = spec()["paths"]["/api/v2/sign/pdf"]["post"]
    assert set(sign["responses"]["400"]["content"]["application/json"]["examples"]) == set(
        operations["post", "/api/v2/sign/pdf"].errors[400][1])
    assert "passphrase_required" in operations["post", "/api/v2/sign/pdf"].errors[400][1]
    chain = spec()["paths"]["/api/v2/user/certificate/chain/{id}"]["get"]["responses"]
    assert "invalid_field" in chain["400"]["content"]["application/json"]["examples"]


@pytest.mark.parametrize(("path", "body", "code", "extra"), [
    ("user/check/status", {}, 4002, {"field": "nik/email"}),
    ("user/check/status", {"nik": "null", "email": ""}, 4002, {"field": "nik/email"}),
    ("user/check/status", {"nik": 3171010101900001}, 4003, {"field": "nik"}),
    ("user/check/status", {"email": "a" * 255}, 4003, {"field": "email"}),
    ("user/check/status", [], 4001, {}),
    ("sign/pdf", {"nik": "1", "passphrase": "x", "file": ["JVBERi0=", 5]}, 4102, {"index": 2}),
    ("sign/pdf", {"nik": "1", "passphrase": "x", "file": {"a": 1}}, 4003, {"field": "file"}),
    ("sign/pdf", {"nik": "1", "passphrase": "x", "file": []}, 4006, {}),
    ("sign/pdf", {"nik": "1", "passphrase": ["x"], "file": ["JVBERi0="]}, 4003, {"field": "passphrase"}),
    ("sign/pdf", {"nik": "1", "passphrase": "x", "file": ["JVBERi0="], "signatureProperties": [1]}, 4003,
     {"field": "signatureProperties"}),
    ("sign/get/totp", {"nik": "1", "data": True}, 4003, {"field": "data"}),
    ("sign/get/totp", {"nik": "1", "data": "11"}, 4003, {"field": "data"}),
    ("verify/pdf", {"file": 5}, 4102, {"index": 1}),
    ("verify/pdf", {"file": [b64(make_pdf()), b64(make_pdf())]}, 4102, {"index": 1}),
    ("user/register", {"nama": "Pegawai", "email": "p@demo.go.id"}, 4002, {"field": "nik"}),
    ("user/register", {"nama": "null", "email": "p@demo.go.id", "nik": "1"}, 4002, {"field": "nama"}),
    ("seal/get/totp", {"idSubscriber": "SEAL-1", "totp": "1", "data": 0}, 4611, {}),
    ("seal/pdf", {"idSubscriber": "SEAL-1", "file": ["JVBERi0="]}, 4002, {"field": "totp"}),
    ("seal/revoke/activation", {"totp": "1"}, 4002, {"field": "idSubscriber"}),
])
def test_schema_violations_answer_the_error_table(client, caller, path, body, code, extra):
    answer = client.post(f"/api/v2/{path}", json=body, headers=caller.headers)
    assert answer.status_code == 400, answer.get_json()
    assert {"status_code": answer.get_json()["status_code"], **{k: answer.get_json().get(k) for k in extra}} == {
        "status_code": code, **extra}


def test_version_1_form_is_read_by_its_model(client, caller):
    form = {"file": (io.BytesIO(make_pdf()), "surat.pdf"), "nik": "1" * 33, "passphrase": "x"}
    answer = client.post("/api/sign/pdf", data=form, headers=caller.headers, content_type="multipart/form-data")
    assert (answer.status_code, answer.get_json()["status_code"], answer.get_json()["field"]) == (400, 4003, "nik")
    assert spec()["components"]["schemas"]["V1SignForm"]["required"] == ["file", "nik", "passphrase"]
    body = spec()["paths"]["/api/sign/pdf"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"] == {"$ref": "#/components/schemas/V1SignForm"}


def test_codes_may_be_numbers(client, caller):
    signing = client.post("/api/v2/sign/pdf", headers=caller.headers, json={
        "nik": "0000000000000000", "passphrase": "x", "totp": 123456, "file": [b64(make_pdf())]})
    assert (signing.status_code, signing.get_json()["status_code"]) == (404, 2011)
    sealing = client.post("/api/v2/seal/revoke/activation", headers=caller.headers,
                          json={"idSubscriber": "SEAL-" + "0" * 20, "totp": 12345678})
    assert (sealing.status_code, sealing.get_json()["error_code"]) == (404, "seal_not_found")
    assert client.post("/api/v2/seal/revoke/activation", headers=caller.headers,
                       json={"idSubscriber": "SEAL-1", "totp": True}).get_json()["status_code"] == 4003


def test_a_number_without_fraction_is_an_integer(client, caller):
    """JSON Schema's ``integer`` admits ``2.0``: the server reads it as 2, and still refuses ``2.5``."""
    seal = {"idSubscriber": "SEAL-" + "0" * 20}
    whole = client.post("/api/v2/seal/get/totp", headers=caller.headers, json={**seal, "totp": 12345678.0, "data": 2.0})
    assert (whole.status_code, whole.get_json()["error_code"]) == (404, "seal_not_found")
    half = client.post("/api/v2/seal/get/totp", headers=caller.headers, json={**seal, "totp": "12345678", "data": 2.5})
    assert (half.status_code, half.get_json()["error_code"]) == (400, "seal_documents")


def test_no_example_uses_a_demo_identity():
    """A wrong example passphrase must lock nobody: the example subscriber is none of the demo data's."""
    assert EXAMPLE_EMAIL.rsplit("@", 1)[1] != demo.AGENCY[2]
    assert EXAMPLE_NIK not in {person["nik"] for person, _servant in registries.demo_people(40, demo.AGENCY[0], seed=2026)}
    for path, item in spec()["paths"].items():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for body in content.values():
                for example in body.get("examples", {}).values():
                    if "passphrase" in example["value"]:
                        who = {example["value"].get("nik"), example["value"].get("email")} - {None}
                        assert who and who <= {EXAMPLE_NIK, EXAMPLE_EMAIL}, (path, json.dumps(example)[:200])
