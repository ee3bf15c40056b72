"""Telling a job that failed because the engine's shared resources ran short from a submission that failed.

The jobs of a class run share one engine: its disk and inodes, the kernel's process table, and the engine-wide cap
on all BuildKit steps (grader.engine.confinement.cap_buildkit). One submission can exhaust them and make another
learner's build fail at that moment. The rule, applied to each failed job:

1. **The learner's own failure, never retried**: anything grade() reports before or without building (a
   Dockerfile error, a disallowed base, an unsafe file), and a failed or timed-out build during which the grader
   measured no shared shortage. A step stopped by the build's OWN limits (its memory, pids or CPU budget, the
   image size cap, the timeout) is this case: those limits are the learner's to respect.
2. **Shared pressure, retried**: the engine failed under the job (kind `error`: an API error, a 5xx, a timeout
   or a dropped connection), or the build failed while the grader's own readings, taken every half second for the
   whole run (`PressureMonitor`), show a shared resource short inside the job's time window: free disk or free
   inodes of the engine's data root under `[limits]`, the BuildKit cap refusing a fork or killing for memory, or
   the machine's process table nearly full.
3. A retried job waits until the pressure clears (free disk and inodes, as before any job), backs off, and is
   graded again, at most `RETRIES` times. When retries run out it is recorded as "could not grade, retried"
   (kind `error`), never as the learner's failure, and the next run grades it again.

Nothing here reads what a build printed: a step can print "No space left on device" or "Cannot fork", or name a
file so that the engine's error says so, and it changes nothing. The readings are the kernel's and the file
system's. A submission that itself fills the disk is retried like the jobs it starved (the readings cannot say
whose bytes they were) and ends as "could not grade, retried" with the shortage named, not with a score.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from grader.engine.confinement import BUILDKIT_PARENT, CGROUP_FS, cgroup_counter
from grader.engine.limits import Limits, free_bytes, free_inodes

__all__ = [
    "BACKOFF_S",
    "RETRIES",
    "PressureMonitor",
    "Reading",
    "read_pressure",
    "shared_cause",
]

#: Retries of a job that shared pressure made fail, and the wait before each (seconds, doubled every time).
RETRIES = 2
BACKOFF_S = 5.0
#: The machine's process table counts as nearly full above this share of kernel.pid_max.
_PROCESS_TABLE_SHARE = 0.9
_BUILD_KINDS = frozenset({"build-failed", "build-timeout"})


@dataclass(frozen=True)
class Reading:
    """One reading of what the engine shares, taken by the grader (never by anything the build printed)."""

    at: float
    free_bytes: int
    free_inodes: int
    forks_refused: int  # pids.events "max" of the cgroup that caps all BuildKit steps
    oom_kills: int  # memory.oom_control "oom_kill" of the same cgroup
    tasks: int  # processes and threads on the machine (/proc/loadavg)
    pid_max: int


def _tasks() -> tuple[int, int]:
    try:
        total = int(Path("/proc/loadavg").read_text().split()[3].split("/")[1])
        return total, int(Path("/proc/sys/kernel/pid_max").read_text())
    except (OSError, ValueError, IndexError):
        return 0, 1 << 22


def read_pressure(paths: tuple[Path, ...] | None = None) -> Reading:
    tasks, pid_max = _tasks()
    return Reading(time.monotonic(), free_bytes(paths), free_inodes(paths),
                   cgroup_counter(CGROUP_FS / "pids" / BUILDKIT_PARENT / "pids.events", "max"),
                   cgroup_counter(CGROUP_FS / "memory" / BUILDKIT_PARENT / "memory.oom_control", "oom_kill"),
                   tasks, pid_max)


class PressureMonitor:
    """Readings every `poll_s` while a class runs (a context manager); `shortage(start, end, limits)` says what
    was short at any reading inside a job's window. Keeps the last hour of readings."""

    def __init__(self, poll_s: float = 0.5, paths: tuple[Path, ...] | None = None) -> None:
        self.poll_s = poll_s
        self.paths = paths
        self.readings: deque[Reading] = deque(maxlen=int(3600 / poll_s))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="grade-class-pressure")

    def sample(self) -> Reading:
        reading = read_pressure(self.paths)
        with self._lock:
            self.readings.append(reading)
        return reading

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.sample()

    def window(self, start: float, end: float) -> list[Reading]:
        with self._lock:
            inside = [r for r in self.readings if start <= r.at <= end]
            before = [r for r in self.readings if r.at < start][-1:]
        return before + inside

    def shortage(self, start: float, end: float, limits: Limits) -> str | None:
        readings = self.window(start, end) + [self.sample()]
        return _short(readings, limits)

    def __enter__(self) -> Self:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2)


def _short(readings: list[Reading], limits: Limits) -> str | None:
    """What the readings show short, in words (the least free disk and inodes, counters that rose)."""
    if not readings:
        return None
    found = []
    least_disk, least_inodes = min(r.free_bytes for r in readings), min(r.free_inodes for r in readings)
    if least_disk < limits.min_free_disk_bytes:
        found.append(f"the engine's disk fell to {least_disk / 1e6:,.0f} MB free")
    if least_inodes < limits.min_free_inodes:
        found.append(f"the engine's disk fell to {least_inodes:,} free inodes")
    first, last = readings[0], readings[-1]
    if last.forks_refused > first.forks_refused:
        found.append(f"the engine-wide cap on BuildKit processes refused {last.forks_refused - first.forks_refused} "
                     "forks")
    if last.oom_kills > first.oom_kills:
        found.append("the engine-wide BuildKit memory cap killed a step")
    if any(r.tasks >= _PROCESS_TABLE_SHARE * r.pid_max for r in readings):
        found.append("the machine's process table was nearly full")
    return "; ".join(found) or None


def shared_cause(error: dict[str, Any] | None, shortage: str | None) -> str | None:
    """Why a failed job is not the learner's doing (rule 2 above), or None when it is (or did not fail)."""
    if error is None:
        return None
    if error.get("kind") == "error":
        return "the Docker engine failed while grading"
    if error.get("kind") in _BUILD_KINDS and shortage:
        return shortage
    return None
