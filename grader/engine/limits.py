"""Resource limits for every build step and graded container, set per exercise in grading.toml's `[limits]`.

A learner's build steps and container are untrusted code on the instructor's machine: each build runs under its
own memory, pids and CPU budget, images over a size cap are failed and removed, container logs are capped, and
`grade-class` waits for free disk and free inodes instead of filling them. The defaults suit a 2-core laptop running
`grade-class` with 4 jobs (docs/security.md explains what each back end enforces).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GradeError

__all__ = [
    "DISK_PATHS",
    "KIB",
    "LIMITS_HELP",
    "Limits",
    "MB",
    "MIB",
    "PAUSE_POLL_S",
    "free_bytes",
    "free_inodes",
    "limits_from_mapping",
    "wait_for_disk_before_job",
    "wait_for_free_disk",
]

MIB = 1024 * 1024
MB = 1_000_000
KIB = 1024

#: Seconds between two looks at the disk while grade-class is paused.
PAUSE_POLL_S = 30.0
#: Where the engine keeps images and where build contexts are spooled: both must keep free space.
DISK_PATHS: tuple[Path, ...] = (Path("/var/lib/docker"), Path(tempfile.gettempdir()))


@dataclass(frozen=True)
class Limits:
    """What one build and one graded container may use. Sizes: MiB for memory, decimal MB for images/disk."""

    build_memory_bytes: int = 2048 * MIB
    build_pids: int = 1024
    build_cpus: float = 1.5
    run_pids: int = 256
    run_cpus: float = 1.0
    log_max_bytes: int = 1024 * KIB
    image_max_bytes: int = 4000 * MB
    min_free_disk_bytes: int = 3000 * MB
    min_free_inodes: int = 200_000


#: One line of help per key of the `[limits]` table (settings.DEFAULTS_HELP includes these).
LIMITS_HELP: Mapping[str, str] = {
    "limits.build_memory_mb": "Memory (MiB) one build may use, all its steps together; a step over it is killed.",
    "limits.build_pids": "Processes and threads one build may run at once (bounds a fork bomb in a RUN step).",
    "limits.build_cpus": "CPU cores one build may use (1.5 leaves a 2-core laptop half a core).",
    "limits.run_pids": "Processes and threads the graded container may run.",
    "limits.run_cpus": "CPU cores the graded container may use.",
    "limits.log_max_kb": "Container log kept by the engine (KiB); the grader reads only its tail.",
    "limits.image_max_mb": "Images larger than this (MB) are failed and removed right after the build.",
    "limits.min_free_disk_mb": "`grade-class` waits before a job while the engine's disk has less free (MB).",
    "limits.min_free_inodes": "`grade-class` waits before a job while the engine's disk has fewer free inodes.",
}

#: TOML key -> (dataclass field, unit multiplier, type)
_KEYS: Mapping[str, tuple[str, float, type]] = {
    "build_memory_mb": ("build_memory_bytes", MIB, int),
    "build_pids": ("build_pids", 1, int),
    "build_cpus": ("build_cpus", 1, float),
    "run_pids": ("run_pids", 1, int),
    "run_cpus": ("run_cpus", 1, float),
    "log_max_kb": ("log_max_bytes", KIB, int),
    "image_max_mb": ("image_max_bytes", MB, int),
    "min_free_disk_mb": ("min_free_disk_bytes", MB, int),
    "min_free_inodes": ("min_free_inodes", 1, int),
}


def limits_from_mapping(table: Mapping[str, Any], source: str = "grading.toml") -> Limits:
    """Parse a `[limits]` table; unknown keys and values that are not positive numbers are the instructor's
    mistake, reported with the valid keys."""
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in _KEYS:
            raise GradeError(f"{source}: unknown key [limits] {key}. Valid keys: {', '.join(_KEYS)}.")
        name, unit, kind = _KEYS[key]
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
            raise GradeError(f"{source}: [limits] {key} must be a positive number, not {raw!r}.")
        values[name] = kind(raw * unit)
    return Limits(**values)


def _statvfs(path: Path) -> os.statvfs_result | None:
    try:
        return os.statvfs(path)
    except OSError:
        return None


def free_bytes(paths: tuple[Path, ...] | None = None) -> int:
    """The least free space among the paths that exist (the engine's data root and the temp dir)."""
    found = [s.f_bavail * s.f_frsize for s in map(_statvfs, paths or DISK_PATHS) if s is not None]
    return min(found) if found else sys.maxsize


def free_inodes(paths: tuple[Path, ...] | None = None) -> int:
    """The least count of free inodes (`f_favail`) among the paths that exist. A file system that does not count
    inodes (btrfs, some overlay and network ones report 0 files in all) is left out: it cannot run out of them."""
    found = [s.f_favail for s in map(_statvfs, paths or DISK_PATHS) if s is not None and s.f_files > 0]
    return min(found) if found else sys.maxsize


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _shortage(limits: Limits, paths: tuple[Path, ...] | None) -> str | None:
    """What is short, in words, or None when the engine's disk has room and inodes to spare."""
    free, inodes = free_bytes(paths), free_inodes(paths)
    if free < limits.min_free_disk_bytes:
        return (f"{free / MB:,.0f} MB of disk free, under the {limits.min_free_disk_bytes / MB:,.0f} MB the grader "
                "keeps free ([limits] min_free_disk_mb in grading.toml)")
    if inodes < limits.min_free_inodes:
        return (f"{inodes:,} free inodes on the engine's disk, under the {limits.min_free_inodes:,} the grader keeps "
                "free ([limits] min_free_inodes in grading.toml)")
    return None


def wait_for_free_disk(limits: Limits, *, poll_s: float | None = None, remind_s: float = 600.0,
                       paths: tuple[Path, ...] | None = None, notify: Callable[[str], None] = _say) -> float:
    """Pause while free disk is under `limits.min_free_disk_bytes` or free inodes under `limits.min_free_inodes`,
    saying so (again every `remind_s`); return the seconds waited. It never gives up by itself: the run resumes
    when space is freed, or Ctrl-C stops it (grade-class resumes where it stopped)."""
    start, poll_s = time.monotonic(), PAUSE_POLL_S if poll_s is None else poll_s
    told_at: float | None = None
    while (short := _shortage(limits, paths)) is not None:
        now = time.monotonic()
        if told_at is None or now - told_at >= remind_s:
            notify(f"Paused: {short}. Waiting (checked every {poll_s:g} s): free some with `docker image ls` and "
                   "`docker builder prune`, or stop with Ctrl-C and resume later.")
            told_at = now
        time.sleep(poll_s)
    if told_at is not None:
        notify(f"Resumed: {free_bytes(paths) / MB:,.0f} MB of disk and {free_inodes(paths):,} inodes free.")
    return time.monotonic() - start


def wait_for_disk_before_job(exercise: str, limits: Limits | None = None) -> float:
    """grade-class's pause before a job, with the exercise's limits (the defaults when its grading.toml cannot be
    read: grade() then reports that, as it would without this pause)."""
    if limits is None:
        from grader.settings import load_settings  # settings imports this module

        try:
            limits = load_settings(exercise).limits
        except GradeError:
            limits = Limits()
    return wait_for_free_disk(limits)
