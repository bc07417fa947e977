"""Run work on untrusted files in a few warm child processes, each under a memory limit and a deadline.

The children come from a forkserver, a fresh interpreter: they share no HSM session, database connection or
lock with the caller, and they import only what a job needs. Each child sets ``RLIMIT_AS`` on itself before its
first job and then serves jobs one at a time: a module-level function and picklable arguments in, its result or
its exception out. A child that overruns the deadline is killed; one that runs out of memory, crashes or has
served :attr:`SandboxConfig.jobs_per_child` jobs is replaced. The caller gets :class:`SandboxExceeded` for a job
that did not finish, and the next job gets a warm or a fresh child.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from .errors import SignerError

T = TypeVar("T")


class SandboxExceeded(SignerError):
    """A job did not finish: ``reason`` is ``time`` (killed at the deadline), ``memory`` or ``crash``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SandboxBusy(SignerError):
    """Every child stayed busy for the whole deadline; nothing was run."""


@dataclass(frozen=True)
class SandboxConfig:
    """How many children, the address space each may use, and what each imports and runs before its first job."""

    processes: int = 2
    memory_bytes: int = 1024 * 1024 * 1024
    jobs_per_child: int = 200
    preload: tuple[str, ...] = ()
    setup: tuple[Callable[[], None], ...] = ()


def _serve(conn: Connection, memory_bytes: int, setup: tuple[Callable[[], None], ...]) -> None:
    """Answer jobs from ``conn`` until it closes, under ``memory_bytes`` of address space; exit after a MemoryError."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    for step in setup:
        step()
    conn.send(True)  # ready: starting up does not count toward a job's deadline
    while True:
        try:
            function, args = conn.recv()
        except EOFError:
            return
        try:
            answer = (True, function(*args))
        except MemoryError:
            answer = (False, SandboxExceeded("memory"))
        except Exception as exc:  # noqa: BLE001  (the job's own error travels back to the caller)
            answer = (False, exc)
        try:
            conn.send(answer)
        except MemoryError:
            answer = (False, SandboxExceeded("memory"))
            conn.send(answer)
        except Exception as exc:  # noqa: BLE001  (a result or an error that does not pickle)
            conn.send((False, SignerError(f"the sandboxed job's answer cannot be sent back: {exc!r}")))
        if isinstance(answer[1], SandboxExceeded):
            return  # a child that ran out of memory may be in any state: it is not reused


STARTUP_SECONDS = 60
"""How long a new child may take to import its modules and run its set-up."""


class _Child:
    """One child process and the parent's end of its pipe."""

    def __init__(self, context, config: SandboxConfig):
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child_end, config.memory_bytes, config.setup), name="paraf-sandbox", daemon=True
        )
        self.process.start()
        child_end.close()
        self.jobs = 0
        try:
            if not self.conn.poll(STARTUP_SECONDS):
                raise EOFError
            self.conn.recv()
        except (EOFError, OSError):
            self.stop()
            raise SignerError("a sandbox process did not start") from None

    def call(self, function: Callable[..., Any], args: tuple, seconds: float) -> tuple[bool, Any]:
        """Send one job and wait for its answer; kill the child and raise :class:`SandboxExceeded` if none comes."""
        self.jobs += 1
        try:
            self.conn.send((function, args))
            if not self.conn.poll(seconds):
                self.stop()
                raise SandboxExceeded("time")
            return self.conn.recv()
        except (EOFError, OSError):  # it died: killed by the kernel, a crash in native code
            self.stop()
            raise SandboxExceeded("crash") from None

    def stop(self) -> None:
        """Kill the child and reap it."""
        self.process.kill()
        self.process.join()
        self.conn.close()


class Sandbox:
    """A pool of up to ``config.processes`` children; :meth:`run` is safe to call from many threads."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self._context = multiprocessing.get_context("forkserver")
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(config.processes)
        self._context.set_forkserver_preload(list(config.preload))

    def _take(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    return child
                child.stop()
        return _Child(self._context, self.config)

    def run(self, function: Callable[..., T], *args: Any, seconds: float) -> T:
        """Return ``function(*args)`` computed in a child within ``seconds``, or raise what it raised.

        :raises SandboxExceeded: the child was killed at the deadline, ran out of memory or died.
        :raises SandboxBusy: no child became free within ``seconds``.
        """
        if not self._slots.acquire(timeout=seconds):
            raise SandboxBusy("every sandbox process stayed busy")
        try:
            child = self._take()
            ok, value = child.call(function, args, seconds)
            if isinstance(value, SandboxExceeded) or child.jobs >= self.config.jobs_per_child:
                child.stop()
            else:
                with self._lock:
                    self._idle.append(child)
        finally:
            self._slots.release()
        if ok:
            return value
        raise value


_shared: dict[SandboxConfig, Sandbox] = {}
_shared_lock = threading.Lock()


def shared(config: SandboxConfig) -> Sandbox:
    """Return the process's one :class:`Sandbox` for ``config``."""
    with _shared_lock:
        if config not in _shared:
            _shared[config] = Sandbox(config)
        return _shared[config]
