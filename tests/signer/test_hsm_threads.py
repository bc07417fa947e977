"""The HSM layer under threads, after a fork, and after the library lost its state."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_public_key

from signer import ca, keys
from signer.config import KdfParams

PASSPHRASE = "Rahasia#123"
FAST_KDF = KdfParams(memory_kib=1024, time_cost=1)  # the threads contend for HSM sessions, not for argon2's memory


@pytest.fixture()
def hsm(app):
    """Return the session's HSM handle."""
    return app.extensions["paraf.pki"].hsm


@pytest.mark.slow
def test_four_threads_unlock_and_sign_200_times_each(hsm):
    wrapped = keys.generate(hsm, PASSPHRASE, FAST_KDF)
    public = load_der_public_key(wrapped.public_key)
    errors: list[BaseException] = []
    signed = [0] * 4

    def work(index: int) -> None:
        try:
            for n in range(200):
                data = f"thread {index} document {n}".encode()
                with keys.unlock(hsm, wrapped.blob, PASSPHRASE) as key:
                    signature = key.sign(data)
                public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
                signed[index] += 1
        except BaseException as exc:  # collected and reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert signed == [200] * 4


def _sign_in_child(hsm, queue) -> None:
    try:
        queue.put(hsm.sign(ca.ISSUING, b"from the child"))
    except BaseException as exc:
        queue.put(repr(exc))


def test_child_process_after_fork_reinitialises(hsm, app):
    hsm.sign(ca.ISSUING, b"parent first")  # the parent is initialised before the fork, like a preloaded app
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sign_in_child, args=(hsm, queue))
    child.start()
    result = queue.get(timeout=60)
    child.join(timeout=60)
    assert isinstance(result, bytes), result
    public = load_der_public_key(ca.load_hierarchy(hsm).cert(ca.ISSUING).public_key.dump())
    public.verify(result, b"from the child", padding.PKCS1v15(), hashes.SHA256())
    hsm.sign(ca.ISSUING, b"parent still works")


def test_recovers_once_when_the_library_was_finalised(hsm):
    from signer.hsm import _library

    hsm.sign(ca.ISSUING, b"before")
    _library(hsm.config.module).finalize()  # every session and the login are gone
    assert hsm.sign(ca.ISSUING, b"after")


def test_a_key_that_is_gone_does_not_restart_the_library_on_every_call(hsm):
    from signer.errors import KeyNotFound

    hsm._missing_restart_at = time.monotonic()  # as if a missing key had just restarted it
    generation = hsm._generation
    for _ in range(3):
        with pytest.raises(KeyNotFound):
            hsm.ping("no-such-key")
    assert hsm._generation == generation  # no restart under the other threads' feet
