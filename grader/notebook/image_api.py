"""The image API the lessons call: build a small image, run or stop a container, read an image's facts or history.

This is the pipeline layer beside `grader.api.grade`: the only lesson-facing module that talks to the engine.
The lesson modules (grader/notebook/) call these functions and get frozen data back; they never import the
docker SDK, grader.engine.daemon or grader.engine.inspect themselves. Every image and container made here carries
PROJECT_LABEL=lesson; containers are always removed; `remove_lesson_images()` removes the images.
"""

from __future__ import annotations

import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from grader.context import assemble_context
from grader.dockerfile import parse_dockerfile
from grader.engine.build import BuildRequest, choose_builder
from grader.engine.daemon import HOW_TO_GET_AN_ENGINE, EngineUnavailable, connect
from grader.engine.daemon import buildx_available as _buildx_available
from grader.engine.inspect import COMPRESSION_RATIO as _RATIO
from grader.engine.inspect import inspect_image
from grader.model import ImageFacts, Report
from grader.paths import PROJECT_LABEL

__all__ = [
    "COMPRESSION_RATIO",
    "ENGINE_ERRORS",
    "HOW_TO_GET_AN_ENGINE",
    "HistoryRow",
    "LESSON_BACKEND",
    "LESSON_LABELS",
    "LESSON_REPO",
    "LessonImage",
    "LocalImage",
    "STAND_IN_LABEL",
    "build_app_image",
    "build_image",
    "buildx_available",
    "copy_from_image",
    "engine_version",
    "image_facts",
    "image_history",
    "lesson_tag",
    "local_images",
    "remove_image",
    "remove_lesson_images",
    "run_command",
    "shared_base_bytes",
    "stop_seconds",
]

LESSON_REPO = "docker-diet-workshop/lesson"
LESSON_LABELS = {PROJECT_LABEL: "lesson"}
STAND_IN_LABEL = f"{PROJECT_LABEL}.stand-in"
#: gzip's typical ratio on image layers, where the grader could not sample a layer.
COMPRESSION_RATIO = _RATIO


@dataclass(frozen=True)
class LessonImage:
    """An image a lesson built: its tag, id, size, and how the build went (steps answered by the cache)."""

    tag: str
    image_id: str
    size_bytes: int
    seconds: float
    cached_steps: int = 0
    total_steps: int = 0


@dataclass(frozen=True)
class LocalImage:
    """A local image by tag: its size, whether it is a workshop stand-in, its registry digests (if pulled)."""

    tag: str
    size_bytes: int | None  # None: not on this machine
    stand_in: bool
    repo_digests: tuple[str, ...]


@dataclass(frozen=True)
class HistoryRow:
    """One row of `docker history`: the instruction and the bytes its layer adds."""

    created_by: str
    size_bytes: int


@contextmanager
def _api() -> Iterator[docker.APIClient]:
    client = connect()
    try:
        yield client.api
    finally:
        client.close()


#: What the engine raises when it fails under a lesson (the lesson shows the message, not a traceback).
ENGINE_ERRORS: tuple[type[Exception], ...] = (docker.errors.DockerException,)
#: The lessons' own builds: "auto" is buildx where it works, the classic builder where it does not.
LESSON_BACKEND = "auto"


def engine_version() -> str | None:
    """The engine's version when one answers within 10 s, else None (the lessons' first cell stops on None)."""
    try:
        client = connect(timeout=10)
    except EngineUnavailable:
        return None
    try:
        return str(client.version().get("Version", "?"))
    finally:
        client.close()


def lesson_tag(name: str) -> str:
    return f"{LESSON_REPO}:{name}"


def build_app_image(name: str, dockerfile_text: str, app_dir: Path, dockerignore_text: str | None = None, *,
                    nocache: bool = False, timeout_s: float = 1800) -> LessonImage:
    """Build a Dockerfile against an app folder, tagged `lesson:<name>`: with BuildKit where `docker buildx` works
    (Docker's default builder since Engine 23), else with the classic builder (LESSON_BACKEND).

    Raises grader.errors.GradeError (BuildFailed names the step and carries the log's tail) when a step fails.
    """
    info = parse_dockerfile(dockerfile_text)
    context = assemble_context(app_dir, dockerfile_text, dockerignore_text)
    with _api() as api:
        builder = choose_builder(api, LESSON_BACKEND)
        build = builder.build(BuildRequest(context, info, lesson_tag(name), dict(LESSON_LABELS), nocache=nocache,
                                           timeout_s=timeout_s))
        size = int(api.inspect_image(build.image_id)["Size"])  # type: ignore[no-untyped-call]
    return LessonImage(build.tag, build.image_id, size, build.seconds, build.cached_steps, build.total_steps)


def build_image(name: str, dockerfile_text: str, files: Mapping[str, bytes | str] | None = None, *,
                timeout_s: float = 900) -> LessonImage:
    """Build a small image from a Dockerfile and a few in-memory files (the builder's cache keeps it)."""
    with tempfile.TemporaryDirectory(prefix="lesson-context-") as tmp:
        for relative, data in (files or {}).items():
            path = Path(tmp, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode() if isinstance(data, str) else data)
        return build_app_image(name, dockerfile_text, Path(tmp), timeout_s=timeout_s)


def run_command(image: str, command: list[str] | str | None = None, *, user: str | None = None,
                timeout_s: float = 60) -> tuple[int, str]:
    """Run a command in a throw-away container without network; (exit code, output). Always removed."""
    client = connect()
    container = None
    try:
        container = client.containers.create(image, command=command, user=user or "", network_disabled=True,
                                             labels=dict(LESSON_LABELS))
        container.start()
        result = container.wait(timeout=timeout_s)
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
        return int(result.get("StatusCode", -1)), output.strip()
    finally:
        if container is not None:
            _remove_container(container)
        client.close()


def _remove_container(container: Any) -> None:
    try:
        container.remove(force=True)
    except docker.errors.APIError:
        pass


def stop_seconds(image: str, ready_text: str, *, grace_s: int = 10, start_timeout_s: float = 60) -> float:
    """Start the image's default command, wait until its log shows `ready_text`, then time `docker stop`.

    `docker stop` sends SIGTERM, waits `grace_s`, then SIGKILL: a process that ignores SIGTERM costs the full
    grace period."""
    client = connect()
    container = None
    try:
        container = client.containers.create(image, network_disabled=True, labels=dict(LESSON_LABELS))
        container.start()
        deadline = time.monotonic() + start_timeout_s
        while ready_text not in container.logs().decode("utf-8", "replace"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{image} did not print {ready_text!r} within {start_timeout_s:.0f} s.")
            time.sleep(0.2)
        started = time.monotonic()
        container.stop(timeout=grace_s)
        return round(time.monotonic() - started, 1)
    finally:
        if container is not None:
            _remove_container(container)
        client.close()


def copy_from_image(image: str, source: str, destination: Path) -> int:
    """Copy a folder out of an image (as `docker cp` does, from a container that never starts) into destination;
    returns how many files came out. Extracted with tarfile's "data" filter: no links out, no devices."""
    client = connect()
    container = None
    try:
        container = client.containers.create(image, command=["true"], network_disabled=True,
                                             labels=dict(LESSON_LABELS))
        stream, _ = container.get_archive(source)
        with tempfile.TemporaryFile() as spooled:
            for chunk in stream:
                spooled.write(chunk)
            spooled.seek(0)
            with tarfile.open(fileobj=spooled, mode="r:") as tar:
                members = tar.getmembers()
                tar.extractall(destination, members=members, filter="data")
        return sum(1 for member in members if member.isfile())
    finally:
        if container is not None:
            _remove_container(container)
        client.close()


def image_facts(image: str | Report, base_image: str | None = None) -> ImageFacts:
    """ImageFacts of a local image, or of a graded report's image, through the grader's one (cached) inspection."""
    if isinstance(image, Report):
        if image.build is None:
            raise ValueError(f"{image.exercise} was not built, so it has no layers to read.")
        name, base_image = image.build.image_id, image.base_image
    else:
        name = image
    with _api() as api:
        return inspect_image(api, name, base_image=base_image)


def image_history(image: str) -> list[HistoryRow]:
    """`docker history` as data, bottom layer first (the CLI prints the top first)."""
    with _api() as api:
        rows = api.history(image)  # type: ignore[no-untyped-call]
    return [HistoryRow(str(row.get("CreatedBy") or ""), int(row.get("Size") or 0)) for row in reversed(rows)]


def local_images(tags: Sequence[str]) -> list[LocalImage]:
    """Each tag's size, stand-in label and registry digests; size None when the image is not here."""
    found = []
    with _api() as api:
        for tag in tags:
            try:
                attrs = api.inspect_image(tag)  # type: ignore[no-untyped-call]
            except docker.errors.ImageNotFound:
                found.append(LocalImage(tag, None, False, ()))
                continue
            labels = (attrs.get("Config") or {}).get("Labels") or {}
            found.append(LocalImage(tag, int(attrs["Size"]), STAND_IN_LABEL in labels,
                                    tuple(attrs.get("RepoDigests") or ())))
    return found


def shared_base_bytes(first: str, second: str, bases: Sequence[str]) -> int:
    """The size of the largest local base whose layers both images start with: what a node that pulls both stores
    once. 0 when they share no base (or a base is not here)."""
    with _api() as api:
        def layers(name: str) -> list[str]:
            return list(api.inspect_image(name)["RootFS"]["Layers"])  # type: ignore[no-untyped-call]

        a, b = layers(first), layers(second)
        shared = 0
        for base in bases:
            try:
                own = layers(base)
            except docker.errors.ImageNotFound:
                continue
            if own and a[:len(own)] == own and b[:len(own)] == own:
                shared = max(shared, int(api.inspect_image(base)["Size"]))  # type: ignore[no-untyped-call]
    return shared


def buildx_available() -> bool:
    """Whether BuildKit (the buildx plugin) can build here."""
    return _buildx_available()


def remove_lesson_images() -> list[str]:
    """Remove every image the lessons built (label io.docker-diet-workshop=lesson); returns their tags."""
    client = connect()
    removed = []
    try:
        for image in client.images.list(filters={"label": f"{PROJECT_LABEL}=lesson"}):
            for tag in image.tags or [str(image.id)]:
                try:
                    client.images.remove(tag)
                    removed.append(tag)
                except docker.errors.APIError:
                    pass
    finally:
        client.close()
    return removed


def remove_image(tag: str) -> None:
    """Remove one lesson image by tag (its untagged parent layers go with it); nothing if it is gone."""
    client = connect()
    try:
        client.images.remove(tag)
    except docker.errors.APIError:
        pass
    finally:
        client.close()
