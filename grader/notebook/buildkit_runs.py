"""The engine side of lesson 10: `docker buildx build` runs, a scan of every layer of `docker save` for a string,
one file read out of an image (even one without a shell), a container left to turn unhealthy, and the label
"measured on" that every number of the lesson carries.

It talks to the engine through the `docker` CLI only, the commands the lesson has the learner type (and the
CLI honours DOCKER_HOST and contexts as the learner's own shell does); the docker SDK stays behind
grader.notebook.image_api. Lesson 10's experiments (grader.notebook.supply_chain) call it and get frozen data
back. Every image carries PROJECT_LABEL=lesson and every container it makes is removed.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from grader.notebook.engine_gate import LessonStopped, require_engine
from grader.notebook.image_api import engine_version, lesson_tag
from grader.paths import PROJECT_LABEL

__all__ = [
    "BuildxRun",
    "HealthRun",
    "LessonStopped",
    "buildkit_version",
    "buildx_build",
    "layers_holding",
    "measured_on",
    "read_image_file",
    "require_engine",
    "watch_health",
]

_STEP = re.compile(r"^#\d+ \[(?:[\w.-]+ )?\d+/\d+\] (.*)$")


_LABEL = f"{PROJECT_LABEL}=lesson"
def _docker(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """One `docker` CLI command; never raises for a failed command (see returncode)."""
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(["docker", *args], 1, "", str(exc))


def buildkit_version() -> str:
    """BuildKit's version as `docker buildx ls` reports it for the current builder ("?" when unknown)."""
    out = _docker("buildx", "ls", timeout_s=60).stdout
    found = re.search(r"\bv\d+\.\d+[\w.+-]*", out)
    return found.group(0) if found else "?"


def measured_on() -> str:
    """Where the lesson's numbers were measured: engine, builder, cores and date (UTC)."""
    engine = engine_version() or "?"
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    return f"Docker Engine {engine}, BuildKit {buildkit_version()} (buildx), {os.cpu_count()} cores, {today}"


@dataclass(frozen=True)
class BuildxRun:
    """One `docker buildx build`: the command, whether it built, the steps it ran (not cached), its log's tail."""

    command: tuple[str, ...]
    ok: bool
    seconds: float
    steps_run: tuple[str, ...]
    steps_cached: tuple[str, ...]
    log_tail: tuple[str, ...]
    failed_step: str = ""  # the step BuildKit reported the error on ("" when it built)

    @property
    def error(self) -> str:
        """The first line of BuildKit's error, without the transport's detail ("" when it built)."""
        line = next((line for line in self.log_tail if line.startswith("ERROR")), "")
        return line.split(": rpc error")[0]


def _steps(log: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(steps that ran, steps the cache answered) from a plain-progress BuildKit log."""
    names: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        number = line.split(" ", 1)[0]
        if match := _STEP.match(line):
            names.setdefault(number, match.group(1))
        elif line.endswith(" CACHED"):
            cached.add(number)
    ran = tuple(step for number, step in names.items() if number not in cached)
    return ran, tuple(names[number] for number in names if number in cached)


def _failed_step(log: str) -> str:
    """The step a plain-progress log reports an ERROR on, its image names shortened to what the Dockerfile says."""
    headers: dict[str, str] = {}
    for line in log.splitlines():
        number, _, rest = line.partition(" ")
        if rest.startswith("[") and number not in headers:
            headers[number] = rest.split("] ", 1)[-1]
        elif rest.startswith("ERROR") and number in headers:
            return re.sub(r"\b[\w-]+(?:\.[\w-]+)+/library/", "", headers[number])
    return ""


def buildx_build(name: str, dockerfile: Path, context: Path, extra: Sequence[str] = (), *,
                 timeout_s: float = 1800) -> BuildxRun:
    """`docker buildx build` of a Dockerfile, tagged lesson:<name> with the lesson label, plain progress."""
    command = ("docker", "buildx", "build", "--progress=plain", "-f", str(dockerfile), "-t", lesson_tag(name),
               "--label", _LABEL, *extra, str(context))
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        log, ok = done.stdout + done.stderr, done.returncode == 0
    except subprocess.TimeoutExpired:
        log, ok = f"ERROR: the build took longer than {timeout_s:.0f} s", False
    ran, cached = _steps(log)
    return BuildxRun(command, ok, round(time.monotonic() - started, 1), ran, cached,
                     tuple(log.strip().splitlines()[-12:]), "" if ok else _failed_step(log))


def _contains(stream: IO[bytes], needle: bytes) -> bool:
    """Whether a file object's bytes contain `needle` (read in chunks, with an overlap)."""
    tail = b""
    while chunk := stream.read(1 << 20):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def layers_holding(image: str, needle: str) -> tuple[int, int]:
    """(layers whose bytes contain `needle`, layers in all) in `docker save IMAGE`: the export anyone with the
    image can make. The archive is streamed, one layer at a time."""
    found: set[str] = set()
    manifest: list[dict[str, list[str]]] = []
    with subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as save:
        assert save.stdout is not None
        with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is None:
                    continue
                if member.name.endswith("layer.tar") and _contains(handle, needle.encode()):
                    found.add(member.name)
                elif member.name == "manifest.json":
                    manifest = json.loads(handle.read())
    layers = manifest[0]["Layers"] if manifest else []
    return sum(layer in found for layer in layers), len(layers)


def read_image_file(image: str, path: str) -> bytes | None:
    """One file of an image, read from a created (never started) container with `docker cp`: works on an image
    with no shell. None when the image has no such file."""
    created = _docker("create", "--label", _LABEL, "--network", "none", image, "/nonexistent")
    if created.returncode != 0:
        return None
    container = created.stdout.strip()
    try:
        copied = subprocess.run(["docker", "cp", f"{container}:{path}", "-"], capture_output=True, timeout=120,
                                check=False)
        if copied.returncode != 0:
            return None
        with tarfile.open(fileobj=io.BytesIO(copied.stdout)) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read() if handle is not None else None
    finally:
        _docker("rm", "-f", container)


@dataclass(frozen=True)
class HealthRun:
    """A container left to turn unhealthy: what Docker reported when it did, and what it did about it."""

    health: str
    state: str
    restart_count: int
    failing_streak: int
    seconds_to_unhealthy: float
    restart_policy: str


def _state(container: str) -> dict[str, Any]:
    done = _docker("inspect", "--format", "{{json .State}}|{{.RestartCount}}", container)
    if done.returncode != 0:
        return {}
    state, _, restarts = done.stdout.strip().rpartition("|")
    found: dict[str, Any] = json.loads(state)
    found["RestartCount"] = int(restarts or 0)
    return found


def watch_health(image: str, *, restart: str = "always", timeout_s: float = 60) -> HealthRun:
    """`docker run -d --restart=<restart>` the image, wait until its health is "unhealthy", then report what
    Docker did about it and remove the container."""
    started_run = _docker("run", "-d", "--label", _LABEL, "--network", "none", f"--restart={restart}", image)
    container = started_run.stdout.strip()
    if started_run.returncode != 0 or not container:
        raise RuntimeError(f"docker run {image} failed: {started_run.stderr.strip()[:300]}")
    try:
        started = time.monotonic()
        while (_state(container).get("Health") or {}).get("Status") != "unhealthy":
            if time.monotonic() - started > timeout_s:
                break
            time.sleep(0.5)
        seconds = round(time.monotonic() - started, 1)
        time.sleep(3)  # a restart, if Docker made one, would show by now
        state = _state(container)
        health = state.get("Health") or {}
        return HealthRun(str(health.get("Status")), str(state.get("Status")), int(state.get("RestartCount", 0)),
                         int(health.get("FailingStreak", 0)), seconds, restart)
    finally:
        _docker("rm", "-f", container)
