"""The verification shortcuts give exactly what the slow ways gave; the hex-string speed-up is opt-in and checked."""

from __future__ import annotations

import hashlib
import io
import random
import re
import subprocess
import sys

import pytest
from pyhanko.pdf_utils import generic

from app.domain.signing.validation import revision_hashes
from signer import speedups

HEX_CASES = [
    b"<>",
    b"<a>",
    b"<ABCDEF0123>",
    b"< 4 1\n4\r2\t\x0c\x00 43 >rest",
    b"<41 4>",
    b"<>>",
    b"<41%comment\n42>x",  # a comment inside: pyHanko's reader decides
    b"<4G>",  # a bad token: pyHanko's error
    b"<414243",  # no closing bracket: pyHanko's error
    b"<" + bytes(range(256)).hex().encode() * 200 + b"> 0 obj",
]


def _read(reader, data: bytes):
    stream = io.BytesIO(b"xx" + data)
    stream.seek(2)
    try:
        value = reader(stream)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return type(exc), str(exc)
    return type(value), bytes(value.original_bytes), stream.tell()


@pytest.mark.parametrize("data", HEX_CASES)
def test_hex_string_reader_matches_pyhanko(data):
    assert _read(speedups.read_hex_string, data) == _read(speedups._original, data)


def test_hex_string_reader_matches_pyhanko_on_random_input():
    rng = random.Random(7)
    for _ in range(300):
        body = bytes(rng.choice(b"0123456789abcdefABCDEF \n\r\tx%") for _ in range(rng.randint(0, 40)))
        data = b"<" + body + b">tail"
        assert _read(speedups.read_hex_string, data) == _read(speedups._original, data)


@pytest.fixture()
def uninstalled():
    """Run the test without the speed-up, putting back afterwards what was there."""
    was = speedups.installed()
    speedups.uninstall()
    yield
    if was:
        speedups.install()


def test_importing_signer_replaces_nothing():
    code = "import signer; from pyhanko.pdf_utils import generic; print(generic.read_hex_string_from_stream.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "pyhanko.pdf_utils.generic"


def test_install_is_idempotent_and_uninstall_gives_pyhankos_reader_back(uninstalled):
    speedups.install()
    speedups.install()
    assert generic.read_hex_string_from_stream is speedups.read_hex_string
    speedups.uninstall()
    assert generic.read_hex_string_from_stream is speedups._original


@pytest.mark.parametrize("replaced", [lambda stream: None, None])
def test_install_refuses_to_replace_a_reader_it_was_not_written_against(uninstalled, replaced):
    original = generic.read_hex_string_from_stream
    try:  # put pyHanko's reader back before the fixture re-installs the speed-up
        if replaced is None:
            delattr(generic, "read_hex_string_from_stream")
        else:
            generic.read_hex_string_from_stream = replaced
        with pytest.raises(speedups.SpeedupUnavailable):
            speedups.install()
    finally:
        generic.read_hex_string_from_stream = original


def test_revision_hashes_are_the_hashes_of_every_prefix_ending_at_eof():
    data = b"%PDF-1.7\nbody\n%%EOF\nupdate\n%%EOF\r\nmore\n%%EOF\rlast%%EOF"
    expected = {hashlib.sha256(data).hexdigest()}
    for match in re.finditer(rb"%%EOF(\r\n|\r|\n)?", data):
        expected.add(hashlib.sha256(data[: match.start() + 5]).hexdigest())
        expected.add(hashlib.sha256(data[: match.end()]).hexdigest())
    assert revision_hashes(data) == expected
