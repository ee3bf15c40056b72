"""The engine side of lesson 10: `docker buildx build` runs, a scan of every layer of `docker save` for a string,
one file read out of an image (even one without a shell), a container left to turn unhealthy, and the label
"measured on" that every number of the lesson carries.

Like grader.notebook.image_api, this module talks to the engine and hands frozen data back; lesson 10's
experiments (grader.notebook.supply_chain) call it. Every image carries PROJECT_LABEL=lesson and every container
it starts is removed.
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

import docker

from grader.engine.daemon import HOW_TO_GET_AN_ENGINE, EngineUnavailable, connect
from grader.notebook.image_api import LESSON_LABELS, lesson_tag
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


class LessonStopped(Exception):  # noqa: N818 - the lesson stops on purpose; not an error of the code
    """Stops a lesson's "Run All" with a message only: IPython calls `_render_traceback_` instead of printing a
    traceback, and Jupyter stops "Run All" at the cell that raised."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def require_engine() -> str:
    """The engine's version when one answers; otherwise raise LessonStopped with the doctor's advice."""
    try:
        client = connect(timeout=10)
    except EngineUnavailable:
        raise LessonStopped("This lesson stops here: it builds and runs images, and no Docker engine answers.\n"
                            f"{HOW_TO_GET_AN_ENGINE}\nThen run `workshop doctor`, and run the lesson again "
                            "(Run → Run All Cells).") from None
    try:
        return f"Docker engine {client.version().get('Version', '?')} answers: the lesson can build."
    finally:
        client.close()


def buildkit_version() -> str:
    """BuildKit's version as `docker buildx ls` reports it for the current builder ("?" when unknown)."""
    try:
        out = subprocess.run(["docker", "buildx", "ls"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    found = re.search(r"\bv\d+\.\d+[\w.+-]*", out)
    return found.group(0) if found else "?"


def measured_on() -> str:
    """Where the lesson's numbers were measured: engine, builder, cores and date (UTC)."""
    client = connect(timeout=30)
    try:
        engine = str(client.version().get("Version", "?"))
    finally:
        client.close()
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


def buildx_build(name: str, dockerfile: Path, context: Path, extra: Sequence[str] = (), *,
                 timeout_s: float = 1800) -> BuildxRun:
    """`docker buildx build` of a Dockerfile, tagged lesson:<name> with the lesson label, plain progress."""
    command = ("docker", "buildx", "build", "--progress=plain", "-f", str(dockerfile), "-t", lesson_tag(name),
               "--label", f"{PROJECT_LABEL}=lesson", *extra, str(context))
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        log, ok = done.stdout + done.stderr, done.returncode == 0
    except subprocess.TimeoutExpired:
        log, ok = f"ERROR: the build took longer than {timeout_s:.0f} s", False
    ran, cached = _steps(log)
    return BuildxRun(command, ok, round(time.monotonic() - started, 1), ran, cached,
                     tuple(log.strip().splitlines()[-12:]))


def _contains(stream: IO[bytes], needle: bytes) -> bool:
    """Whether a file object's bytes contain `needle` (read in chunks, with an overlap)."""
    tail = b""
    while chunk := stream.read(1 << 20):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def layers_holding(image: str, needle: str) -> tuple[int, int]:
    """(layers whose bytes contain `needle`, layers in all) in `docker save` of the image: the export anyone
    with the image can make."""
    client = connect()
    try:
        found: set[str] = set()
        manifest: list[dict[str, list[str]]] = []
        chunks = client.api.get_image(image)
        with tarfile.open(fileobj=_ChunkReader(chunks), mode="r|") as archive:
            for member in archive:
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is None:
                    continue
                if member.name.endswith("layer.tar") and _contains(handle, needle.encode()):
                    found.add(member.name)
                elif member.name == "manifest.json":
                    manifest = json.loads(handle.read())
    finally:
        client.close()
    layers = manifest[0]["Layers"] if manifest else []
    return sum(layer in found for layer in layers), len(layers)


class _ChunkReader(io.RawIOBase):
    """A readable stream over the engine's chunks, for tarfile's streaming mode."""

    def __init__(self, chunks: object) -> None:
        self._chunks = iter(chunks)  # type: ignore[call-overload]
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size


def read_image_file(image: str, path: str) -> bytes | None:
    """One file of an image, read from a created (never started) container: works on an image with no shell.
    None when the image has no such file."""
    client = connect()
    container = None
    try:
        container = client.containers.create(image, command=["/nonexistent"], labels=dict(LESSON_LABELS),
                                             network_disabled=True)
        try:
            chunks, _stat = container.get_archive(path)
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None else None
            return handle.read() if handle is not None else None
    finally:
        if container is not None:
            container.remove(force=True)
        client.close()


@dataclass(frozen=True)
class HealthRun:
    """A container left to turn unhealthy: what Docker reported when it did, and what it did about it."""

    health: str
    state: str
    restart_count: int
    failing_streak: int
    seconds_to_unhealthy: float
    restart_policy: str


def _policy(name: str) -> Any:
    return {"Name": name}


def watch_health(image: str, *, restart: str = "always", timeout_s: float = 60) -> HealthRun:
    """Start the image with a restart policy, wait until its health is "unhealthy", then report and remove it."""
    client = connect()
    container = client.containers.create(image, labels=dict(LESSON_LABELS), network_disabled=True,
                                         restart_policy=_policy(restart))
    try:
        container.start()
        started = time.monotonic()
        while True:
            container.reload()
            health = container.attrs["State"].get("Health") or {}
            if health.get("Status") == "unhealthy" or time.monotonic() - started > timeout_s:
                break
            time.sleep(0.5)
        seconds = round(time.monotonic() - started, 1)
        time.sleep(3)  # a restart, if Docker made one, would show by now
        container.reload()
        state = container.attrs["State"]
        return HealthRun(str((state.get("Health") or {}).get("Status")), str(state.get("Status")),
                         int(container.attrs.get("RestartCount", 0)),
                         int((state.get("Health") or {}).get("FailingStreak", 0)), seconds, restart)
    finally:
        container.remove(force=True)
        client.close()
