"""An opt-in speed-up for pyHanko: read PDF hex strings (a signature's ``/Contents``) in one slice.

pyHanko tokenises a hex string one byte at a time, which makes each signature's ``/Contents`` (tens of
kilobytes of hex) cost milliseconds to parse. :func:`install` replaces pyHanko's reader process-wide with
:func:`read_hex_string`, which gives the same results and errors. Nothing is replaced on import: the
application calls :func:`install` once. It refuses to replace anything but the pyHanko function it was
written against, so an upgrade that renames or rewrites that function fails loudly instead of silently
losing (or corrupting) the speed-up.
"""

from __future__ import annotations

import binascii
import threading

from pyhanko.pdf_utils import generic, misc

TARGET = "read_hex_string_from_stream"
_lock = threading.Lock()
_original = getattr(generic, TARGET, None)
"""pyHanko's own reader as found when this module was imported; the fallback of :func:`read_hex_string`."""


class SpeedupUnavailable(RuntimeError):
    """pyHanko no longer has the function the speed-up replaces, in the form it was written against."""


def _is_pyhankos_reader(function) -> bool:
    return (
        callable(function)
        and getattr(function, "__module__", None) == generic.__name__
        and getattr(function, "__qualname__", None) == TARGET
    )


def read_hex_string(stream):
    """Read a hex string like pyHanko's ``read_hex_string_from_stream``, in one slice instead of byte by byte.

    This reads up to the closing ``>``, drops PDF whitespace and decodes at once. Anything else (a comment,
    a stray character, no closing ``>``) goes to pyHanko's own reader from the same position, so results and
    errors are exactly pyHanko's.
    """
    start = stream.tell()
    parts, found = [], False
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        end = chunk.find(b">")
        if end >= 0:
            parts.append(chunk[:end])
            found = True
            break
        parts.append(chunk)
    text = b"".join(parts)
    digits = text[1:].translate(None, misc.PDF_WHITESPACE)  # text[0] is the opening "<"
    if not found or digits.translate(None, generic.HEX_DIGITS):  # a comment, a bad token or no end: pyHanko decides
        stream.seek(start)
        return _original(stream)
    stream.seek(start + len(text) + 1)
    return generic.pdf_string(binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits))


def installed() -> bool:
    """Return whether pyHanko currently reads hex strings through :func:`read_hex_string`."""
    return getattr(generic, TARGET, None) is read_hex_string


def install() -> None:
    """Make pyHanko read hex strings through :func:`read_hex_string`; calling it again does nothing.

    :raises SpeedupUnavailable: pyHanko's reader is missing, renamed or already replaced by something else,
        or pyHanko's object parser no longer calls it by that name.
    """
    with _lock:
        current = getattr(generic, TARGET, None)
        if current is read_hex_string:
            return
        if current is not _original or not _is_pyhankos_reader(current):
            raise SpeedupUnavailable(f"pyhanko.pdf_utils.generic.{TARGET} is not the function this speed-up replaces")
        if TARGET not in generic.read_object.__code__.co_names:
            raise SpeedupUnavailable(f"pyhanko.pdf_utils.generic.read_object no longer calls {TARGET}")
        setattr(generic, TARGET, read_hex_string)


def uninstall() -> None:
    """Give pyHanko its own hex-string reader back (for a baseline measurement); does nothing if not installed."""
    with _lock:
        if installed():
            setattr(generic, TARGET, _original)
