"""Named crash points: a test seam that SIGKILLs this process at a chosen point of a run."""

from __future__ import annotations

import functools
import os
import signal
from dataclasses import dataclass, field

#: ``name:N`` kills at the N-th time the point ``name`` is reached; ``*:N`` at the N-th point.
CRASH_AT_ENV = "LEDGERLINK_CRASH_AT"
#: A file to which every point reached is appended, one name a line (how tests enumerate them).
CRASH_TRACE_ENV = "LEDGERLINK_CRASH_TRACE"
ANY = "*"

__all__ = ["ANY", "CRASH_AT_ENV", "CRASH_TRACE_ENV", "CrashPlan", "crashpoint", "parse_crash_at"]


@dataclass(slots=True)
class CrashPlan:
    """Where this process dies, how many points it has passed, and where it notes them."""

    name: str | None = None
    at: int = 0
    trace: str | None = None
    seen: dict[str, int] = field(default_factory=dict)

    def reach(self, point: str) -> None:
        """Count ``point``; note it in the trace; kill the process when it is the chosen one."""
        count = self.seen[point] = self.seen.get(point, 0) + 1
        total = self.seen[ANY] = self.seen.get(ANY, 0) + 1
        if self.trace is not None:
            # One O_APPEND write per point: lines stay whole even when this process dies next.
            fd = os.open(self.trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, f"{point}\n".encode())
            finally:
                os.close(fd)
        if self.name is None:
            return
        if (self.name == ANY and total == self.at) or (self.name == point and count == self.at):
            os.write(2, f"ledgerlink: crash point {point} (#{count}, {total} in all)\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)


def parse_crash_at(value: str) -> tuple[str, int]:
    """``"name:N"`` or ``"*:N"`` as ``(name, N)``; ``ValueError`` for anything else."""
    name, sep, count = value.rpartition(":")
    if not sep or not name or not count.isdigit() or int(count) < 1:
        msg = f"{CRASH_AT_ENV}={value!r}: write name:N or *:N with N >= 1"
        raise ValueError(msg)
    return name, int(count)


@functools.cache
def _plan() -> CrashPlan | None:
    """Read the environment once per process: ``None`` (the usual case) makes points free."""
    spec = os.environ.get(CRASH_AT_ENV, "")
    trace = os.environ.get(CRASH_TRACE_ENV) or None
    if not spec and trace is None:
        return None
    name, at = parse_crash_at(spec) if spec else (None, 0)
    return CrashPlan(name=name, at=at, trace=trace)


def crashpoint(name: str) -> None:
    """Mark a point where a crash must be survivable; a no-op unless a test armed it.

    With ``LEDGERLINK_CRASH_AT`` set (see ``CRASH_AT_ENV``), the chosen point sends SIGKILL to
    this very process: no ``finally``, no ``atexit``, no flush, exactly like ``kill -9`` or a
    power cut as far as this process is concerned. The environment is read at the first call
    and cached for the life of the process; unset, a call costs one cached function call.
    """
    plan = _plan()
    if plan is not None:
        plan.reach(name)
