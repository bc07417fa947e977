"""Signing reuses what does not change: the time stamper, the revocation data while fresh, the stamp font's subsets."""

from __future__ import annotations

import io

import pytest

from app.domain import keys
from app.domain.key_errors import PassphraseDoesNotOpen
from signer import revocation, tsa
from signer.stamp import Stamp
from tests.conftest import PASSPHRASE
from tests.pdfs import make_pdf
from tests.pki_helpers import validate


@pytest.fixture()
def calls(monkeypatch):
    """Count the TSA's tokens, pyHanko's dummy tokens and the OCSP responses signed for embedding."""
    counts = {"token": 0, "dummy": 0, "ocsp": 0}

    def counted(name, original):
        def call(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)
        return call

    dummy = tsa.InProcessTimeStamper.async_dummy_response

    async def counted_dummy(self, md_algorithm):
        counts["dummy"] += md_algorithm not in self._dummy_response_cache
        return await dummy(self, md_algorithm)

    monkeypatch.setattr(tsa.TimeStampAuthority, "respond", counted("token", tsa.TimeStampAuthority.respond))
    monkeypatch.setattr(tsa.InProcessTimeStamper, "async_dummy_response", counted_dummy)
    monkeypatch.setattr(revocation, "ocsp_response_for", counted("ocsp", revocation.ocsp_response_for))
    return counts


def test_a_second_signature_makes_no_dummy_token_and_no_new_ocsp_response(issue_certificate, calls):
    certificate = issue_certificate("Dewi Lestari")
    [first] = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()])
    assert calls["ocsp"] == 2  # the signer's and the TSA's, signed once
    calls.update(token=0, dummy=0, ocsp=0)

    [second] = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()], page=0, box=(40, 60, 280, 150),
                              stamp=Stamp(name="Dewi Lestari"))
    assert calls == {"token": 1, "dummy": 0, "ocsp": 0}  # only the signature's own time stamp

    for signed in (first, second):
        [report] = validate(signed)
        assert report.valid and report.trusted and report.pades_level == "B-LT", report.findings


def test_a_batch_shares_one_unlock_and_one_set_of_revocation_data(issue_certificate, calls):
    certificate = issue_certificate("Rudi Hartono")
    signed = keys.sign_pdfs(certificate, PASSPHRASE, [make_pdf()] * 3)
    assert calls["ocsp"] == 2 and calls["token"] - calls["dummy"] == 3  # the signer's and the TSA's; a time stamp each
    assert all(validate(document)[0].valid for document in signed)


def test_no_revocation_data_is_signed_for_a_wrong_passphrase(issue_certificate, calls):
    certificate = issue_certificate("Sari Indah")
    with pytest.raises(PassphraseDoesNotOpen):
        keys.sign_pdfs(certificate, "salah sekali", [make_pdf()])
    assert calls["ocsp"] == 0


def test_a_body_declared_too_large_is_refused_unread(app, client, caller):
    class Unreadable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = readinto = read

    response = client.post(
        "/api/v2/sign/pdf", headers=caller.headers, input_stream=Unreadable(b"{}"),
        environ_overrides={"CONTENT_LENGTH": str(int(app.config["API_MAX_BODY_BYTES"]) + 1),
                           "CONTENT_TYPE": "application/json"},
    )
    assert response.status_code == 413 and response.get_json()["status_code"] == 4004
