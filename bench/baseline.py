"""The plain-pyHanko signing baseline, driven in its own process (bench/pyhanko_sign.py) that never imports Paraf."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import Timed

SCRIPT = Path(__file__).with_name("pyhanko_sign.py")


class PyhankoBaseline:
    """A running bench/pyhanko_sign.py signing one PDF B-B with a software key parsed once."""

    def __init__(self, document: bytes):
        self._file = tempfile.NamedTemporaryFile(prefix="paraf-bench-", suffix=".pdf")  # noqa: SIM115  (closed by close())
        self._file.write(document)
        self._file.flush()
        # -I: isolated mode, so neither the working directory nor PYTHON* variables put Paraf on its path.
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(SCRIPT), self._file.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def timed(self, count: int = 1) -> Timed:
        """Return a round signing ``count`` times in the baseline process; its times are per signature."""

        def run() -> tuple[float, float]:
            self._process.stdin.write(f"{count}\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError("the pyHanko baseline process ended")
            answer = json.loads(line)
            return answer["wall"] / count, answer["cpu"] / count

        return run

    def close(self) -> None:
        """End the baseline process (it may have ended already, with its error on stderr)."""
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait(timeout=30)
        self._file.close()
