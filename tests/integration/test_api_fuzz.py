"""Random bytes and random JSON to every API and CSC endpoint: always an answer below 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

POSTS = ("/api/v2/sign/pdf", "/api/v2/sign/get/totp", "/api/v2/user/check/status", "/api/v2/verify/pdf",
         "/csc/v2/info", "/csc/v2/auth/login", "/csc/v2/credentials/list", "/csc/v2/credentials/info",
         "/csc/v2/credentials/authorize", "/csc/v2/signatures/signHash")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                      max_leaves=12)
FIELDS = ("nik", "email", "passphrase", "totp", "file", "signatureProperties", "data", "password", "credentialID",
          "SAD", "hash", "numSignatures", "PIN", "OTP", "hashAlgo", "signAlgo", "tampilan", "page")
bodies = st.one_of(values, st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))


@pytest.mark.parametrize("path", POSTS)
def test_random_json_never_500(client, caller, path):
    @FUZZ
    @given(body=bodies)
    def run(body):
        response = client.post(path, json=body, headers=caller.headers)
        assert response.status_code < 500, (body, response.get_data(as_text=True)[:300])
        assert response.is_json

    run()


@pytest.mark.parametrize("path", POSTS)
def test_random_bytes_never_500(client, caller, path):
    @FUZZ
    @given(data=st.binary(max_size=300))
    def run(data):
        response = client.post(path, data=data, content_type="application/json", headers=caller.headers)
        assert response.status_code < 500 and response.is_json

    run()


def test_random_chain_ids_never_500(client, caller):
    @FUZZ
    @given(who=st.text(min_size=1, max_size=60).filter(lambda s: "/" not in s and "?" not in s and "#" not in s))
    def run(who):
        response = client.get(f"/api/v2/user/certificate/chain/{who}", headers=caller.headers)
        assert response.status_code < 500

    run()
