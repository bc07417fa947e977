"""``flask loops run``: run the outbox worker and the certificate sweep as child processes, restarting one that dies."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo

from .outbox_cli import stop_on_signals
from .platform import heartbeats

loops_cli = AppGroup("loops", help="The background loops, supervised.")
log = logging.getLogger(__name__)

RESTART_FIRST_SECONDS = 1.0  # wait before restarting a loop that died; doubles on each death in a row ...
RESTART_MAX_SECONDS = 60.0  # ... up to this
HEALTHY_RUN_SECONDS = 60.0  # a loop that ran this long before it died starts again from the first wait
STOP_SECONDS = 15.0  # on SIGTERM, how long a loop may take to finish its pass before it is killed
POLL_SECONDS = 0.2


@dataclass
class Child:
    """One supervised loop: its command, its process, and when it may be started again."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    wait: float = RESTART_FIRST_SECONDS
    start_at: float = 0.0

    def start(self) -> None:
        """Start the loop's process."""
        self.process = subprocess.Popen(self.argv)
        self.started = time.monotonic()
        log.info("loop %s started (pid %d)", self.name, self.process.pid)

    def check(self, now: float) -> None:
        """Start the process if it is due, or schedule a restart with backoff if it has died."""
        if self.process is None:
            if now >= self.start_at:
                self.start()
            return
        code = self.process.poll()
        if code is None:
            return
        if now - self.started >= HEALTHY_RUN_SECONDS:
            self.wait = RESTART_FIRST_SECONDS
        log.warning("loop %s (pid %d) exited with %d; restarting in %g s", self.name, self.process.pid, code, self.wait)
        self.process, self.start_at = None, now + self.wait
        self.wait = min(self.wait * 2, RESTART_MAX_SECONDS)

    def stop(self) -> None:
        """Ask the process to finish its pass (SIGTERM); kill it if it does not within :data:`STOP_SECONDS`."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("loop %s (pid %d) did not stop in %g s; killing it", self.name, self.process.pid, STOP_SECONDS)
            self.process.kill()
            self.process.wait()


def supervise(children: list[Child], stop: threading.Event) -> None:
    """Keep every child running until ``stop`` is set, then stop them all."""
    try:
        while not stop.is_set():
            now = time.monotonic()
            for child in children:
                child.check(now)
            stop.wait(POLL_SECONDS)
    finally:
        for child in children:
            child.stop()


def flask_command(*args: str) -> list[str]:
    """Return the command line running ``flask <args>`` on the same app as this command."""
    info = click.get_current_context().find_object(ScriptInfo)
    app_option = ["--app", info.app_import_path] if info is not None and info.app_import_path else []
    return [sys.executable, "-m", "flask", *app_option, *args]


@loops_cli.command("run")
@click.option("--outbox-interval", default=5.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between outbox passes.")
@click.option("--sweep-interval", type=click.FloatRange(min=0.05),
              help="Seconds between certificate sweeps [default: CERTIFICATE_SWEEP_SECONDS].")
def loops_run(outbox_interval: float, sweep_interval: float | None) -> None:
    """Run the outbox worker and the certificate sweep, restart one that dies, stop both on SIGTERM or Ctrl-C."""
    sweep_interval = sweep_interval or float(current_app.config["CERTIFICATE_SWEEP_SECONDS"])
    children = [
        Child(heartbeats.OUTBOX, flask_command("outbox", "work", "--loop", "--interval", f"{outbox_interval:g}")),
        Child(heartbeats.SWEEP, flask_command("certificates", "sweep", "--loop", "--interval", f"{sweep_interval:g}")),
    ]
    stop = threading.Event()
    click.echo("loops supervisor started; stop with SIGTERM or Ctrl-C")
    with stop_on_signals(stop):
        supervise(children, stop)
    click.echo("loops supervisor stopped")
