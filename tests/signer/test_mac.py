"""HMAC-SHA256 in the HSM under a key that never leaves it."""

from __future__ import annotations

import secrets
import threading

import pytest
from pkcs11 import Attribute, ObjectClass
from pkcs11 import exceptions as p11e

from signer import KeyNotFound, mac


@pytest.fixture()
def hsm(app):
    """Return the session's HSM handle."""
    return app.extensions["paraf.pki"].hsm


@pytest.fixture()
def label(hsm) -> str:
    """Return the label of a new HMAC key on the token."""
    name = f"test-mac-{secrets.token_hex(4)}"
    assert mac.ensure_mac_key(hsm, name) is True
    return name


def test_key_is_made_once_and_macs_are_hmac_sha256_sized_and_keyed(hsm, label):
    assert mac.ensure_mac_key(hsm, label) is False
    first = mac.mac(hsm, label, b"data")
    assert len(first) == 32 and mac.mac(hsm, label, b"data") == first
    assert mac.mac(hsm, label, b"datb") != first
    other = f"test-mac-{secrets.token_hex(4)}"
    mac.ensure_mac_key(hsm, other)
    assert mac.mac(hsm, other, b"data") != first
    assert hsm.run(lambda session: len(list(session.get_objects(
        {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label})))) == 1


def test_key_cannot_be_read_out(hsm, label):
    def attributes(session):
        key = session.get_key(object_class=ObjectClass.SECRET_KEY, label=label)
        flags = (key[Attribute.SENSITIVE], key[Attribute.EXTRACTABLE], key[Attribute.TOKEN], key[Attribute.VALUE_LEN])
        with pytest.raises(p11e.AttributeSensitive):
            key[Attribute.VALUE]
        return flags

    assert hsm.run(attributes) == (True, False, True, 32)


def test_missing_key_is_key_not_found(hsm):
    with pytest.raises(KeyNotFound):
        mac.mac(hsm, "test-mac-tidak-ada", b"data")


def test_recovers_once_when_the_library_was_finalised(hsm, label):
    from signer.hsm import _library

    before = mac.mac(hsm, label, b"data")
    _library(hsm.config.module).finalize()  # the cached key handle belongs to a session that is gone
    assert mac.mac(hsm, label, b"data") == before


def test_threads_share_the_key(hsm, label):
    expected = mac.mac(hsm, label, b"data")
    results: list[bytes] = []

    def work():
        results.extend(mac.mac(hsm, label, b"data") for _ in range(100))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 400
