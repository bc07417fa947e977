"""Two API calls at once run side by side on the live server: neither waits for the other's PDF work."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import ApiClient
from tests.api_helpers import b64
from tests.pdfs import make_pdf

pytestmark = pytest.mark.slow


def call(url: str, caller, path: str, body: dict) -> tuple[int, dict]:
    """POST JSON with the caller's client credentials; return the status and the JSON answer."""
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={**caller.headers, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.fixture()
def large_signed_pdf(live_server, caller) -> bytes:
    """Return a 1000-page PDF signed three times through the API (its verification takes a while)."""
    data = make_pdf(pages=1000)
    for _ in range(3):
        status, answer = call(live_server.url, caller, "/api/v2/sign/pdf",
                              {"nik": caller.nik, "passphrase": caller.subscriber.passphrase, "file": [b64(data)]})
        assert status == 200, answer
        data = base64.b64decode(answer["file"][0])
    return data


def side_by_side(calls: list) -> list[tuple[float, float, int, dict]]:
    """Start the calls together, each in its own thread; return each one's start, end, status and answer."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, make_call) -> None:
        barrier.wait()
        started = time.monotonic()
        status, answer = make_call()
        results[index] = (started, time.monotonic(), status, answer)

    threads = [threading.Thread(target=run, args=(index, make_call)) for index, make_call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return results


@pytest.mark.parametrize("kind", ["verify", "sign"])
def test_two_calls_overlap_in_time(app, live_server, caller, large_signed_pdf, kind):
    with app.app_context():  # an unused client: both calls note its use, the write that used to hold the lock
        db.session.execute(update(ApiClient).where(ApiClient.name == caller.client_name).values(last_used_at=None))
        db.session.commit()
    path, body = {
        "verify": ("/api/v2/verify/pdf", {"file": b64(large_signed_pdf)}),
        "sign": ("/api/v2/sign/pdf", {"nik": caller.nik, "passphrase": caller.subscriber.passphrase,
                                      "file": [b64(large_signed_pdf)]}),
    }[kind]

    results = side_by_side([lambda: call(live_server.url, caller, path, body)] * 2)

    assert [status for _start, _end, status, _answer in results] == [200, 200], [answer for *_rest, answer in results]
    (start_a, end_a, *_a), (start_b, end_b, *_b) = results
    overlap = min(end_a, end_b) - max(start_a, start_b)
    longer = max(end_a - start_a, end_b - start_b)
    # Side by side, the same work started together ends together; one waiting for the other ends a whole call later.
    assert overlap >= 0.75 * longer, f"calls of {end_a - start_a:.2f} s and {end_b - start_b:.2f} s overlap {overlap:.2f} s"
    with app.app_context():
        used = db.session.execute(select(ApiClient.last_used_at).where(ApiClient.name == caller.client_name)).scalar()
    assert used is not None


def test_an_audit_write_that_fails_is_still_an_api_answer(client, caller, monkeypatch):
    def locked(*_args, **_kwargs):
        raise OperationalError("INSERT INTO audit_events …", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr("app.api.calls.record", locked)
    response = client.post("/api/v2/user/check/status", json={"nik": caller.nik}, headers=caller.headers)
    assert response.status_code == 503
    sentence = "Permintaan gagal di server; coba lagi."
    assert response.get_json() == {"status_code": 5030, "error_code": "server_error", "error": sentence, "message": sentence}
