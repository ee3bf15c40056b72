"""One cgroup per build, given to the engine as the build's cgroup parent.

Why: the classic builder's API takes memory and CPU limits per step but no pids limit, and BuildKit (buildx with
the docker driver) takes no per-build memory, pids or CPU limit at all. Both back ends accept a cgroup parent
(`cgroupparent` in the classic build API, `--cgroup-parent` for buildx), and every step's container is created
under it, so a cgroup that the grader makes and limits bounds the whole build: all its steps together. It also
gives the timeout a hard edge: every process of the build is in that cgroup and can be SIGKILLed from the host.

This only works when the engine runs on this machine with the cgroupfs driver and the grader is root (the
workshop's machine); otherwise `make_build_cgroup` returns the reason and the build runs with the per-step limits
the back end takes (docs/security.md lists what is then not enforced).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from grader.engine.engine_kind import engine_transport
from grader.engine.limits import Limits

__all__ = [
    "BUILDKIT_BUILDS",
    "BUILDKIT_PARENT",
    "BuildCgroup",
    "BuildkitStepLimiter",
    "CGROUP_FS",
    "CPU_PERIOD_US",
    "GROUP",
    "buildkit_oom_kills",
    "cap_buildkit",
    "cgroup_counter",
    "hit_limits",
    "kill_all",
    "make_build_cgroup",
    "remove_build_cgroup",
    "unsupported_reason",
]

CGROUP_FS = Path("/sys/fs/cgroup")
GROUP = "docker-diet-workshop"
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class BuildCgroup:
    """A per-build cgroup: `parent` is what the engine is given, `dirs` what the grader made (one per v1
    controller, or one under cgroup v2)."""

    parent: str
    dirs: tuple[Path, ...]
    version: int


def unsupported_reason(info: Mapping[str, Any]) -> str | None:
    """None when a per-build cgroup can be made for this engine (from `docker info`), else why not."""
    driver = info.get("CgroupDriver")
    if driver != "cgroupfs":
        return f"the engine's cgroup driver is {driver!r}, not 'cgroupfs'"
    transport, local = engine_transport(os.environ.get("DOCKER_HOST") or "unix://")
    if not local:
        return f"the engine is reached over {transport} (DOCKER_HOST), so its cgroups are not this machine's"
    if str(info.get("Name")) != socket.gethostname():
        return "the engine runs on another machine (or in a VM), where the grader cannot make cgroups"
    if os.geteuid() != 0:
        return "the grader is not root, so it cannot make cgroups"
    return None


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _make_v1(name: str, limits: Limits) -> tuple[Path, ...]:
    memory, pids, cpu = (CGROUP_FS / controller / GROUP / name for controller in ("memory", "pids", "cpu"))
    for directory in (memory, pids, cpu):
        directory.mkdir(parents=True, exist_ok=True)
    _write(memory / "memory.limit_in_bytes", str(limits.build_memory_bytes))
    if (memory / "memory.memsw.limit_in_bytes").exists():  # no swap either: memory + swap = memory
        _write(memory / "memory.memsw.limit_in_bytes", str(limits.build_memory_bytes))
    _write(pids / "pids.max", str(limits.build_pids))
    _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
    _write(cpu / "cpu.cfs_quota_us", str(int(limits.build_cpus * CPU_PERIOD_US)))
    return memory, pids, cpu


def _make_v2(name: str, limits: Limits) -> tuple[Path, ...]:
    group = CGROUP_FS / GROUP
    group.mkdir(exist_ok=True)
    for parent in (CGROUP_FS, group):
        _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
    directory = group / name
    directory.mkdir(exist_ok=True)
    _write(directory / "memory.max", str(limits.build_memory_bytes))
    if (directory / "memory.swap.max").exists():
        _write(directory / "memory.swap.max", "0")
    _write(directory / "pids.max", str(limits.build_pids))
    _write(directory / "cpu.max", f"{int(limits.build_cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
    return (directory,)


def make_build_cgroup(info: Mapping[str, Any], name: str, limits: Limits) -> BuildCgroup | str:
    """Create and limit the cgroup for one build; on failure, the reason (the build then runs without it)."""
    reason = unsupported_reason(info)
    if reason:
        return reason
    version = 2 if str(info.get("CgroupVersion", "1")) == "2" else 1
    try:
        dirs = _make_v2(name, limits) if version == 2 else _make_v1(name, limits)
    except OSError as exc:
        return f"the cgroup could not be made ({exc})"
    return BuildCgroup(parent=f"/{GROUP}/{name}", dirs=dirs, version=version)


def _tree(directory: Path, top_down: bool = True) -> list[Path]:
    if not directory.is_dir():
        return []
    return [Path(root) for root, _, _ in os.walk(directory, topdown=top_down)]


def kill_all(cgroup: BuildCgroup) -> int:
    """SIGKILL every process in the build's cgroup and below it (the hard edge of the timeout)."""
    killed = 0
    for _ in range(3):  # a process may fork while the list is read
        for directory in (d for top in cgroup.dirs for d in _tree(top)):
            try:
                pids = (directory / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    killed += 1
                except (OSError, ValueError):
                    pass
        time.sleep(0.1)
    return killed


def cgroup_counter(path: Path, key: str) -> int:
    """A `key value` line's value in a cgroup file (pids.events, memory.oom_control), 0 when absent."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None  # absent, or "max"


def _at_pids_max(directory: Path) -> bool:
    """v1 counts a refused fork in the cgroup that forked (a step's, gone by now): the parent's peak shows it."""
    peak, limit = _read_int(directory / "pids.peak"), _read_int(directory / "pids.max")
    return peak is not None and limit is not None and peak >= limit


def hit_limits(cgroup: BuildCgroup) -> tuple[str, ...]:
    """Which limits the build ran into, from the kernel's own counters: "memory", "pids"."""
    hits: list[str] = []
    for directory in cgroup.dirs:
        if cgroup_counter(directory / "memory.oom_control", "oom_kill") or cgroup_counter(directory / "memory.events",
                                                                                  "oom_kill"):
            hits.append("memory")
        if cgroup_counter(directory / "pids.events", "max") or _at_pids_max(directory):
            hits.append("pids")
    return tuple(dict.fromkeys(hits))


def _all_hierarchies(cgroup: BuildCgroup) -> tuple[Path, ...]:
    """The build's directory in every hierarchy: the engine makes it in each v1 controller (cpuset, blkio, ...),
    not only in the three the grader limits."""
    relative = cgroup.parent.lstrip("/")
    if cgroup.version == 2:
        return (CGROUP_FS / relative,)
    try:
        return tuple(h / relative for h in CGROUP_FS.iterdir() if (h / relative).is_dir())
    except OSError:
        return cgroup.dirs


def remove_build_cgroup(cgroup: BuildCgroup, wait_s: float = 5.0) -> bool:
    """Remove the build's cgroups once the engine has removed its containers' (they are children)."""
    deadline = time.monotonic() + wait_s
    while True:
        tops = _all_hierarchies(cgroup)
        for directory in (d for top in tops for d in _tree(top, top_down=False)):
            try:
                directory.rmdir()
            except OSError:
                pass
        if not any(top.exists() for top in tops) or time.monotonic() > deadline:
            return not any(top.exists() for top in tops)
        time.sleep(0.2)


# --------------------------------------------------------------------------------------------- BuildKit
#: Docker 20.10's BuildKit ignores `--cgroup-parent` and puts every step under this cgroup (measured: a step's
#: /proc/self/cgroup reads `pids:/docker/buildkit/<id>` when the build was given `--cgroup-parent /x`).
BUILDKIT_PARENT = "docker/buildkit"
#: The engine-wide cap on all BuildKit steps together is this many builds' worth (grade-class's default jobs).
BUILDKIT_BUILDS = 4


def _v1(controller: str, *parts: str) -> Path:
    return CGROUP_FS.joinpath(controller, *parts)


def _limit_v1_group(name: str, memory: int, pids: int, cpus: float | None, create: bool = True) -> None:
    """Limit one v1 cgroup (a path under each controller); memsw is raised before and set after memory, as
    the kernel wants memsw >= memory at every moment. `create=False` never makes a step's cgroup that ended."""
    memory_dir, pids_dir, cpu_dir = (_v1(c, name) for c in ("memory", "pids", "cpu"))
    for directory in (memory_dir, pids_dir, cpu_dir):
        if create:
            directory.mkdir(parents=True, exist_ok=True)
    memsw = memory_dir / "memory.memsw.limit_in_bytes"
    if memsw.exists() and int(memsw.read_text()) < memory:
        _write(memsw, str(memory))
    _write(memory_dir / "memory.limit_in_bytes", str(memory))
    if memsw.exists():
        _write(memsw, str(memory))
    _write(pids_dir / "pids.max", str(pids))
    if cpus is not None:
        _write(cpu_dir / "cpu.cfs_period_us", str(CPU_PERIOD_US))
        _write(cpu_dir / "cpu.cfs_quota_us", str(int(cpus * CPU_PERIOD_US)))


def cap_buildkit(info: Mapping[str, Any], limits: Limits) -> str | None:
    """Cap all of the engine's BuildKit steps together (no race: set before any step starts); the reason if
    it cannot be done. Only cgroup v1 is handled (the workshop's engine); v2 engines are reported."""
    reason = unsupported_reason(info)
    if reason is None and str(info.get("CgroupVersion", "1")) != "1":
        reason = "per-step BuildKit limits are only implemented for cgroup v1"
    if reason:
        return reason
    # Never below the defaults' worth: one exercise's small limits must not squeeze every other build.
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    memory = min(max(limits.build_memory_bytes, Limits().build_memory_bytes) * BUILDKIT_BUILDS, physical * 3 // 4)
    pids = max(limits.build_pids, Limits().build_pids) * BUILDKIT_BUILDS
    try:
        _limit_v1_group(BUILDKIT_PARENT, memory, pids, None)
    except OSError as exc:
        return f"the BuildKit cgroup could not be limited ({exc})"
    return None


def buildkit_oom_kills() -> int:
    """OOM kills at the BuildKit parent (the engine-wide cap), for telling a learner why a step died."""
    return cgroup_counter(_v1("memory", BUILDKIT_PARENT, "memory.oom_control"), "oom_kill")


class BuildkitStepLimiter:
    """While a buildx build runs, give every new BuildKit step cgroup the build's limits (polled every 50 ms:
    a step runs unlimited, under the engine-wide cap only, until it is seen). Use as a context manager."""

    def __init__(self, limits: Limits, poll_s: float = 0.05) -> None:
        self.limits = limits
        self.poll_s = poll_s
        self.limited: set[str] = set()
        self.oom_kills = 0
        self.pids_hit = False
        self._stop = threading.Event()
        self._seen = set(self._steps())
        self._thread = threading.Thread(target=self._run, daemon=True, name="buildkit-step-limiter")

    @staticmethod
    def _steps() -> list[str]:
        try:
            return [p.name for p in _v1("pids", BUILDKIT_PARENT).iterdir() if p.is_dir()]
        except OSError:
            return []

    def _limit(self, step: str) -> None:
        name = f"{BUILDKIT_PARENT}/{step}"
        try:
            _limit_v1_group(name, self.limits.build_memory_bytes, self.limits.build_pids, self.limits.build_cpus,
                            create=False)
            self.limited.add(step)
        except OSError:
            if _v1("pids", name).exists():  # over the limit already (EBUSY): the step does not go on
                kill_all(BuildCgroup(parent=f"/{name}", dirs=(_v1("pids", name),), version=1))

    def _run(self) -> None:
        while not self._stop.is_set():
            for step in self._steps():
                if step not in self._seen:
                    self._seen.add(step)
                    self._limit(step)
            for step in list(self.limited):
                self.oom_kills = max(self.oom_kills, cgroup_counter(
                    _v1("memory", BUILDKIT_PARENT, step, "memory.oom_control"), "oom_kill"))
                self.pids_hit = self.pids_hit or _at_pids_max(_v1("pids", BUILDKIT_PARENT, step))
            self._stop.wait(self.poll_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2)
