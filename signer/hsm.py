"""PKCS#11 access: per-process initialisation with OS locking, per-thread sessions, recovery.

python-pkcs11 calls ``C_Initialize(NULL)``, which SoftHSM reads as "no
concurrent access" and turns its own locking off; threads then corrupt its
heap. The library is therefore initialised here through ctypes with
``CKF_OS_LOCKING_OK`` before python-pkcs11 uses it.

Login state in PKCS#11 belongs to the process: one session logs in and stays
open; every thread opens its own session, which shares that login. After a
fork (gunicorn workers) the child initialises the library again.

Nothing here writes the process environment: a module that reads its
configuration from it (SoftHSM's ``SOFTHSM2_CONF``) must find it set by the
application before the first HSM operation.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pkcs11
import pkcs11._pkcs11 as _p11
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e

from .config import HsmConfig
from .errors import HsmUnavailable, KeyNotFound, SignerError

log = logging.getLogger(__name__)

RSA_MECHANISMS = {
    "sha256": Mechanism.SHA256_RSA_PKCS,
    "sha384": Mechanism.SHA384_RSA_PKCS,
    "sha512": Mechanism.SHA512_RSA_PKCS,
}

T = TypeVar("T")

MISSING_KEY_RESTART_SECONDS = 30.0
"""Least time between two library restarts caused by a missing key (see :meth:`Hsm.run`)."""

CKF_OS_LOCKING_OK = 0x2
CKR_OK = 0
CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191

# Errors after which the library, token or session may work again once re-initialised.
RECOVERABLE = (
    p11e.SessionHandleInvalid,
    p11e.SessionClosed,
    p11e.DeviceRemoved,
    p11e.DeviceError,
    p11e.TokenNotPresent,
    p11e.TokenNotRecognised,
    p11e.UserNotLoggedIn,
    p11e.GeneralError,
    p11e.ObjectHandleInvalid,
    p11e.KeyHandleInvalid,
)


def _recoverable(exc: p11e.PKCS11Error) -> bool:
    """Return whether re-initialising the library may cure this error."""
    # python-pkcs11 has no class for CKR_CRYPTOKI_NOT_INITIALIZED: it raises the base class.
    return isinstance(exc, RECOVERABLE) or (type(exc) is p11e.PKCS11Error and "not initialized" in str(exc))


class _InitArgs(ctypes.Structure):
    _fields_ = [
        ("CreateMutex", ctypes.c_void_p),
        ("DestroyMutex", ctypes.c_void_p),
        ("LockMutex", ctypes.c_void_p),
        ("UnlockMutex", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("pReserved", ctypes.c_void_p),
    ]


class _OsLockingLib(_p11.lib):
    """A python-pkcs11 library whose ``C_Initialize`` asks for OS locking."""

    def initialize(self) -> None:
        """Call ``C_Initialize`` with ``CKF_OS_LOCKING_OK`` through ctypes."""
        dll = ctypes.CDLL(self.so)
        rv = dll.C_Initialize(ctypes.byref(_InitArgs(None, None, None, None, CKF_OS_LOCKING_OK, None)))
        if rv not in (CKR_OK, CKR_CRYPTOKI_ALREADY_INITIALIZED):
            raise HsmUnavailable(f"C_Initialize failed with CKR 0x{rv:x}")

    def finalize(self) -> None:
        """Call ``C_Finalize``; errors are ignored, the next initialise reports them."""
        ctypes.CDLL(self.so).C_Finalize(None)


_libraries: dict[str, _OsLockingLib] = {}
_libraries_lock = threading.Lock()
_shared: dict[HsmConfig, Hsm] = {}


def _library(module: str) -> _OsLockingLib:
    with _libraries_lock:
        lib = _libraries.get(module)
        if lib is None:
            try:
                lib = _libraries[module] = _OsLockingLib(module)
            except p11e.PKCS11Error as exc:
                raise HsmUnavailable(f"cannot load PKCS#11 module {module}") from exc
        return lib


class Hsm:
    """One token of one PKCS#11 module, used safely from any thread of any process."""

    def __init__(self, config: HsmConfig):
        self.config = config
        self._lock = threading.RLock()
        self._pid: int | None = None
        self._generation = 0
        self._token: pkcs11.Token | None = None
        self._login_session: pkcs11.Session | None = None
        self._local = threading.local()
        self._missing_restart_at: float | None = None

    def _connect(self, fresh: bool) -> None:
        """Initialise the library, find the token and log in (caller holds the lock)."""
        lib = _library(self.config.module)
        if fresh:
            lib.finalize()
        lib.initialize()
        try:
            self._token = lib.get_token(token_label=self.config.token_label)
            try:
                self._login_session = self._token.open(rw=True, user_pin=self.config.user_pin)
            except p11e.UserAlreadyLoggedIn:  # another handle of this process logged in: share it
                self._login_session = self._token.open(rw=True)
        except p11e.NoSuchToken as exc:
            raise HsmUnavailable(f"no token labelled {self.config.token_label!r}") from exc
        except p11e.PKCS11Error as exc:
            raise HsmUnavailable(f"cannot log in to token {self.config.token_label!r}") from exc
        self._pid = os.getpid()
        self._generation += 1
        log.info("HSM token %r ready in process %d", self.config.token_label, self._pid)

    def _ensure(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                # A child of a fork inherits the parent's state: start over.
                self._connect(fresh=self._pid is not None)

    def reset(self) -> None:
        """Finalise and initialise the library again, then log in again."""
        with self._lock:
            self._connect(fresh=True)

    def session(self) -> pkcs11.Session:
        """Return this thread's session, opening it on first use."""
        self._ensure()
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            assert self._token is not None
            try:
                local.session = self._token.open(rw=True)
            except p11e.PKCS11Error as exc:
                raise HsmUnavailable("cannot open a session") from exc
            local.generation = self._generation
            local.keys = {}
        return local.session

    def run(self, operation: Callable[[pkcs11.Session], T]) -> T:
        """Run ``operation`` on this thread's session; re-initialise and retry once if the HSM went away.

        A key missing from a token this process had already connected to counts as "went away" too: after
        the token was unplugged or re-created, a session of the old library state finds nothing, even once
        the token is back (a key still missing after the new start raises :class:`KeyNotFound`). That restart
        happens at most once per :data:`MISSING_KEY_RESTART_SECONDS`: restarting finalises the library under every
        thread, which a key that is simply gone (or a health probe asking for it) must not do on each call.
        """
        connected = self._pid == os.getpid()
        try:
            return operation(self.session())
        except (p11e.PKCS11Error, KeyNotFound) as exc:
            missing = connected and isinstance(exc, (KeyNotFound, p11e.NoSuchKey)) and self._may_restart_for_missing()
            if not missing and not (isinstance(exc, p11e.PKCS11Error) and _recoverable(exc)):
                raise
            log.warning("HSM operation failed (%s); re-initialising and retrying once", type(exc).__name__)
            generation = self._generation
            with self._lock:
                if generation == self._generation:
                    self._connect(fresh=True)
            try:
                return operation(self.session())
            except p11e.PKCS11Error as exc2:
                if not _recoverable(exc2):
                    raise
                raise HsmUnavailable(f"HSM operation failed: {type(exc2).__name__}") from exc2

    def _may_restart_for_missing(self) -> bool:
        """Return whether a missing key may restart the library now (once per :data:`MISSING_KEY_RESTART_SECONDS`)."""
        with self._lock:
            now = time.monotonic()
            if self._missing_restart_at is not None and now - self._missing_restart_at < MISSING_KEY_RESTART_SECONDS:
                return False
            self._missing_restart_at = now
            return True

    def private_key(self, session: pkcs11.Session, label: str) -> pkcs11.PrivateKey:
        """Return the token private key labelled ``label``, cached per thread."""
        return self._cached_key(session, ObjectClass.PRIVATE_KEY, label)

    def secret_key(self, session: pkcs11.Session, label: str) -> pkcs11.SecretKey:
        """Return the token secret key labelled ``label``, cached per thread."""
        return self._cached_key(session, ObjectClass.SECRET_KEY, label)

    def _cached_key(self, session: pkcs11.Session, object_class: ObjectClass, label: str):
        """Look a token key up once per thread and library start (a restart empties the cache with the session)."""
        keys = self._local.keys
        key = keys.get((object_class, label))
        if key is None:
            try:
                key = session.get_key(object_class=object_class, label=label)
            except p11e.NoSuchKey as exc:
                raise KeyNotFound(f"no {object_class.name.lower().replace('_', ' ')} labelled {label!r}") from exc
            keys[(object_class, label)] = key
        return key

    def ping(self, label: str) -> None:
        """Check that the token answers and finds the private key ``label`` (looked up, not cached).

        :raises HsmUnavailable: the token does not answer.
        :raises KeyNotFound: it holds no such key.
        """

        def look_up(session: pkcs11.Session) -> None:
            try:
                session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            except p11e.NoSuchKey as exc:
                raise KeyNotFound(f"no private key labelled {label!r}") from exc

        self.run(look_up)

    def has_object(self, label: str, object_class: ObjectClass) -> bool:
        """Return whether the token holds an object of this class and label."""

        def find(session: pkcs11.Session) -> bool:
            return any(True for _ in session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))

        return self.run(find)

    def sign(self, label: str, data: bytes, digest: str = "sha256") -> bytes:
        """Sign ``data`` with the token RSA key labelled ``label`` (PKCS#1 v1.5)."""
        mechanism = rsa_mechanism(digest)
        return self.run(lambda session: self.private_key(session, label).sign(data, mechanism=mechanism))


def rsa_mechanism(digest: str) -> Mechanism:
    """Return the PKCS#11 RSA PKCS#1 v1.5 mechanism for a digest name."""
    try:
        return RSA_MECHANISMS[digest]
    except KeyError:
        raise SignerError(f"unsupported digest algorithm {digest!r}") from None


def shared(config: HsmConfig) -> Hsm:
    """Return this process's one :class:`Hsm` for ``config`` (a PKCS#11 login belongs to the whole process)."""
    with _libraries_lock:
        hsm = _shared.get(config)
        if hsm is None:
            hsm = _shared[config] = Hsm(config)
        return hsm
