"""Subscriber keys made ahead in the session's HSM by a background thread: tests do not wait for RSA key generation.

Making a 2048-bit key pair in SoftHSM takes a few tenths of a second of one core, and the suite issues
hundreds of certificates. The pool runs the real ``signer.keys.generate`` on another thread (the
PKCS#11 call releases the GIL) and seals each key under its own passphrase; ``generate`` then takes a
ready key and re-seals it under the caller's passphrase and KDF cost with the real
``signer.keys.change_passphrase``. Every key is still made in the HSM, wrapped under the token's KEK
and used once. With the pool empty, or for another HSM or key size, the real function runs at once.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator

import pytest

from signer import keys
from signer.config import KdfParams
from signer.hsm import Hsm

log = logging.getLogger(__name__)

REAL_GENERATE = keys.generate
_PASSPHRASE = "pool passphrase, replaced before use"
_KDF = KdfParams(memory_kib=64, time_cost=1)
_current: KeyPool | None = None  # the pool ``running`` has started


@contextlib.contextmanager
def running(hsm: Hsm, bits: int) -> Iterator[KeyPool]:
    """Fill a pool for ``hsm`` in the background and stand it in for ``signer.keys.generate`` inside the block."""
    global _current
    pool = KeyPool(hsm, bits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "generate", pool.generate)
        pool.start()
        _current = pool
        try:
            yield pool
        finally:
            _current = None
            pool.stop()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Make no key in the background inside the block, and let ``signer.keys.generate`` be the real one again."""
    if _current is None:
        yield
        return
    with _current.paused(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(keys, "generate", REAL_GENERATE)
        yield


class KeyPool:
    """A background thread keeping up to ``size`` fresh key pairs of ``bits`` bits ready in ``hsm``."""

    def __init__(self, hsm: Hsm, bits: int, size: int = 16):
        self.hsm, self.bits = hsm, bits
        self._ready: queue.Queue[keys.WrappedKey] = queue.Queue(maxsize=size)
        self._busy = threading.Lock()  # held while the thread makes a key, and while the pool is paused
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="key-pool", daemon=True)

    def start(self) -> None:
        """Start filling the pool."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread once it has finished the key it is making."""
        self._stopped.set()
        self._thread.join(timeout=30)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Let no key be made in the background inside the block."""
        with self._busy:
            yield

    def _fill(self) -> None:
        while not self._stopped.is_set():
            if self._ready.full():
                self._stopped.wait(0.05)
                continue
            with self._busy:
                try:
                    made = REAL_GENERATE(self.hsm, _PASSPHRASE, _KDF, self.bits)
                except Exception:  # the HSM may be restarting under a test: try again shortly
                    log.debug("the key pool could not make a key", exc_info=True)
                    self._stopped.wait(0.2)
                    continue
            self._ready.put(made)

    def generate(self, hsm: Hsm, passphrase: str, kdf: KdfParams, bits: int = 2048) -> keys.WrappedKey:
        """Stand in for ``signer.keys.generate``: a ready key sealed under ``passphrase``, or a new one."""
        if hsm is not self.hsm or bits != self.bits:
            return REAL_GENERATE(hsm, passphrase, kdf, bits)
        try:
            made = self._ready.get_nowait()
        except queue.Empty:
            return REAL_GENERATE(hsm, passphrase, kdf, bits)
        return keys.WrappedKey(blob=keys.change_passphrase(hsm, made.blob, _PASSPHRASE, passphrase, kdf),
                               public_key=made.public_key)
