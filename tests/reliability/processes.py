"""Run ``ledgerlink`` as real OS processes that a crash point can SIGKILL.

Two launchers, same entry point (``ledgerlink.cli.app:main``, what the console script calls):

- ``console``: ``<venv>/bin/ledgerlink`` through ``subprocess``, exactly as a user runs it;
- ``forked``: a child forked by ``tests.reliability.fork_server``, which has already imported
  ledgerlink. Importing ledgerlink costs ~0.65 s of a 0.8 s start; hundreds of kill points times
  three runs each would spend minutes importing. The child is still a separate process with its
  own pid, state connections and file handles, started fresh for every run and really killed.
  The server only imports modules: it never opens a database, a ledger or a crash plan.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ledgerlink.crashpoints import CRASH_AT_ENV, CRASH_TRACE_ENV

Launcher = Literal["console", "forked"]
TIMEOUT_S = 120
KILLED = -signal.SIGKILL
CONSOLE_SCRIPT = Path(sys.executable).with_name("ledgerlink")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended: its exit status (``-9``: killed by SIGKILL), stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode == KILLED

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"exit {self.returncode}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"
        )


@functools.cache
def _fork_server() -> subprocess.Popen[str]:
    """This test process's fork server; it ends when this process closes its stdin (exit)."""
    env = {k: v for k, v in os.environ.items() if k not in (CRASH_AT_ENV, CRASH_TRACE_ENV)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.fork_server"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run_cli(
    folder: Path,
    *args: str,
    crash_at: str | None = None,
    trace: Path | None = None,
    launcher: Launcher = "forked",
    extra_env: Mapping[str, str] | None = None,
    mutant: str | None = None,
) -> Outcome:
    """``ledgerlink ARGS --config folder/ledgerlink.yaml`` in ``folder``, as a new process.

    ``mutant`` (forked runs only) breaks ledgerlink on purpose, to show the checks can fail.
    """
    argv = [*args, "--config", str(folder / "ledgerlink.yaml")]
    env: dict[str, str | None] = {
        CRASH_AT_ENV: crash_at,
        CRASH_TRACE_ENV: str(trace) if trace else None,
        **(extra_env or {}),
    }
    if launcher == "console":
        full = {k: v for k, v in os.environ.items() if k not in env}
        full |= {k: v for k, v in env.items() if v is not None}
        done = subprocess.run(  # noqa: PLW1510 - the exit status is the result
            [str(CONSOLE_SCRIPT), *argv],
            cwd=folder,
            env=full,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)
    out, err = folder / ".run.stdout", folder / ".run.stderr"
    server = _fork_server()
    assert server.stdin is not None
    assert server.stdout is not None
    request = {
        "argv": argv,
        "cwd": str(folder),
        "env": env,
        "stdout": str(out),
        "stderr": str(err),
        "mutant": mutant,
    }
    server.stdin.write(json.dumps(request) + "\n")
    server.stdin.flush()
    answer = server.stdout.readline()
    if not answer:
        raise RuntimeError(f"the fork server stopped (exit {server.poll()})")
    outcome = Outcome(
        json.loads(answer)["returncode"],
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
    )
    out.unlink()
    err.unlink()
    return outcome
