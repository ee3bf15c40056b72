"""Build an image from an assembled context, with one of two back ends behind one small interface.

- BuildxBuilder: BuildKit through the docker CLI's buildx plugin (`docker buildx build --load`), when
  `docker buildx version` works. Cache mounts, `COPY --chmod` and `$BUILDPLATFORM` need it (heredocs would
  need a newer BuildKit than the engine's v0.8: grader.dockerfile refuses them up front).
- ClassicBuilder: the engine's classic builder through the build API, the only builder a bare Debian 12 engine has.

Both stream progress to a callback, measure time, label the image, never pull a base image, and run every step
under the exercise's limits (grader/engine/limits.py, grader/engine/confinement.py). Build output is data: the
image id comes from the engine (the classic stream's aux message, buildx's iidfile), never from text a step
prints; the grader tags the image itself, and only before the deadline; it removes only images that carry its own
mark (a label naming the tag built for) and no tag. The timeout is a hard deadline. A failing step raises
BuildFailed naming the instruction, its line and the log lines that name the cause; an image over the size cap
raises ImageTooLarge and is removed.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import docker
from docker.utils import parse_repository_tag

from grader.context import BuildContext
from grader.dockerfile import DockerfileInfo, Instruction
from grader.engine.buildlog import first_cause, log_excerpt
from grader.engine.daemon import buildx_available
from grader.engine.limits import MIB, Limits
from grader.errors import (
    BuildFailed,
    BuildTimeout,
    NoEngine,
)
from grader.model import BuildEvent, BuildFacts, ProgressCallback
from grader.paths import PROJECT_LABEL
from grader.reporters.sanitize import strip_control

__all__ = [
    "BUILDX_MISSING",
    "BUILD_ID_LABEL",
    "FORK_FAILED",
    "BuildRequest",
    "BuildState",
    "Builder",
    "ImageTooLarge",
    "KILL_GRACE_S",
    "LINE_MAX",
    "LOG_TAIL",
    "build_mark",
    "choose_builder",
    "deadline_passed",
    "finish_build",
    "limit_note",
    "remove_own_image",
    "step_failure",
]

LOG_TAIL = 20
#: Characters kept of one log line (a step can print a line of any length).
LINE_MAX = 2000
#: How long a stopped build gets to end before it is killed (buildx: SIGINT, then SIGKILL).
KILL_GRACE_S = 10.0
#: The grader's mark on every image it builds: a hash of the tag it was built for. Stable per tag, so an unchanged
#: regrade is still a full build-cache hit with the same image id; what a build made is then known by this mark
#: and the id the engine returned, never by printed text.
BUILD_ID_LABEL = f"{PROJECT_LABEL}.build"


def build_mark(tag: str) -> str:
    """The value of BUILD_ID_LABEL for images built for `tag`."""
    return "tag-" + hashlib.sha256(tag.encode()).hexdigest()[:24]
#: "exit code: 137" (BuildKit) or "returned a non-zero code: 137" (classic): the step got SIGKILL.
_KILLED = re.compile(r"code: 137\b")
#: What a shell prints when fork() fails: under BuildKit, a step's cgroup (and its counters) is gone before the
#: grader can read it, so this text only adds a hint to the step's own failure message.
FORK_FAILED = re.compile(r"Cannot fork|fork: retry|Resource temporarily unavailable")


@dataclass(frozen=True)
class BuildRequest:
    """Everything a back end needs; `labels` always include the project's label."""

    context: BuildContext
    dockerfile: DockerfileInfo
    tag: str
    labels: dict[str, str]
    nocache: bool = False
    timeout_s: float = 600.0
    progress: ProgressCallback | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


class Builder(Protocol):
    """A build back end."""

    name: str

    def build(self, request: BuildRequest) -> BuildFacts: ...


class ImageTooLarge(BuildFailed):
    """The build made an image over `[limits] image_max_mb`; it was removed before anything else ran."""


class _LogSink:
    """Keeps a bounded tail of the build log (lines cut to LINE_MAX) and forwards at most
    `limits.log_max_bytes` of it to the progress callback, so a step that floods its output floods nothing."""

    def __init__(self, request: BuildRequest) -> None:
        self.progress = request.progress
        self.budget = request.limits.log_max_bytes
        self.tail: deque[str] = deque(maxlen=400)
        self.emitted = 0
        self.clipped = False

    def line(self, text: str, step: int | None = None, total: int | None = None) -> None:
        text = strip_control(text[:LINE_MAX]).rstrip()  # colour codes and terminal escapes are a step's output
        self.tail.append(text)
        if self.progress is None or not text.strip():
            return
        self.emitted += len(text) + 1
        if self.emitted <= self.budget:
            self.progress(BuildEvent(text, step, total))
        elif not self.clipped:
            self.clipped = True
            self.progress(BuildEvent(f"[output clipped after {self.budget // 1024} KiB; the report keeps the last "
                                     "lines]", step, total))

    def last(self, count: int = LOG_TAIL) -> tuple[str, ...]:
        return tuple(line for line in self.tail if line.strip())[-count:]

    def kept(self) -> tuple[str, ...]:
        """Every line still held (the last 400): what a failure's excerpt picks its cause lines from."""
        return tuple(self.tail)


@dataclass
class BuildState:
    """What one build learns as it runs (mutable, private to this module; the result is a frozen BuildFacts)."""

    build_id: str  # unique per build: names its cgroup
    mark: str  # BUILD_ID_LABEL's value: per tag
    started: float
    deadline: float
    previous: str | None
    sink: _LogSink
    expired: threading.Event = field(default_factory=threading.Event)
    step: int = 0
    total: int = 0
    cached: int = 0
    image: str | None = None
    error: str | None = None
    buildkit_steps: dict[str, str] = field(default_factory=dict)
    failed_step: str | None = None

    @classmethod
    def begin(cls, api: docker.APIClient, request: BuildRequest) -> BuildState:
        started = time.monotonic()
        return cls(build_id=uuid.uuid4().hex[:20], mark=build_mark(request.tag), started=started,
                   deadline=started + request.timeout_s, previous=_tag_id(api, request.tag), sink=_LogSink(request))

    def labels(self, request: BuildRequest) -> dict[str, str]:
        return {**request.labels, BUILD_ID_LABEL: self.mark}


def _image_labels_and_tags(api: docker.APIClient, ref: str) -> tuple[dict[str, str], list[str]] | None:
    try:
        attrs = api.inspect_image(ref)  # type: ignore[no-untyped-call]
    except docker.errors.APIError:
        return None
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    tags = [tag for tag in attrs.get("RepoTags") or [] if tag != "<none>:<none>"]
    return dict(labels), tags


def remove_own_image(api: docker.APIClient, image_id: str, mark: str | None = None) -> bool:
    """Remove an image only if the grader built it (its labels say so, for this tag when `mark` is given) and no
    tag names it any more. An id never comes from text a step printed, so a base is never removed."""
    found = _image_labels_and_tags(api, image_id)
    if found is None:
        return False
    labels, tags = found
    ours = labels.get(BUILD_ID_LABEL) == mark if mark else (
        BUILD_ID_LABEL in labels or labels.get(PROJECT_LABEL) == "grader")
    if tags or not ours:
        return False
    try:
        api.remove_image(image_id)
    except docker.errors.APIError:
        return False  # a parent of something, or already gone: not ours to force
    return True


def _tag_id(api: docker.APIClient, tag: str) -> str | None:
    try:
        return str(api.inspect_image(tag)["Id"])  # type: ignore[no-untyped-call]
    except docker.errors.APIError:
        return None


def step_failure(request: BuildRequest, instruction: Instruction | None, error: str,
                 log: tuple[str, ...]) -> BuildFailed:
    """The failed step, the engine's error and, when the log names one, the first cause (pip's "pg_config
    executable not found" is 40 lines above BuildKit's summary)."""
    where = f"line {instruction.line}: `{instruction.text[:120]}`" if instruction else "an unknown step"
    found = first_cause(log)
    cause = f" The log says: {found}" if found and found not in error else ""
    return BuildFailed(
        f"The build failed at {where}. {error.strip()}{cause}",
        step=instruction.text if instruction else None,
        line=instruction.line if instruction else None,
        log_tail=log_excerpt(log, LOG_TAIL),  # the lines naming the cause (grader.engine.buildlog), then the tail
    )


def limit_note(request: BuildRequest, error: str, hits: tuple[str, ...]) -> str:
    """Why a step died, when a limit did it: from the kernel's counters, or exit code 137 (SIGKILL)."""
    limits = request.limits
    note = ""
    if "memory" in hits or _KILLED.search(error):
        note += (f" The step was killed (exit code 137): the build may use {limits.build_memory_bytes // MIB} MiB "
                 "of memory in all ([limits] build_memory_mb in grading.toml). Make the step need less memory "
                 "(fewer parallel jobs, smaller installs).")
    if "pids" in hits:
        note += (f" The step could not start a process: the build may run {limits.build_pids} processes at once "
                 "([limits] build_pids); something in it starts processes without end.")
    return error.strip() + note


def deadline_passed(request: BuildRequest, state: BuildState) -> BuildTimeout:
    where = f" at step {state.step}/{state.total}" if state.total else ""
    return BuildTimeout(
        f"The build ran past {request.timeout_s:.0f} s and was stopped{where}; nothing was tagged. A step that "
        "waits for input or the network hangs here (there is no network in the workshop); raise --build-timeout "
        "if it is only slow.",
        log_tail=state.sink.last(),
    )


def finish_build(api: docker.APIClient, request: BuildRequest, state: BuildState, image_id: str,
            backend: str) -> BuildFacts:
    """Within the deadline and under the size cap, tag the image and drop the one the tag named before."""
    if time.monotonic() > state.deadline:
        remove_own_image(api, image_id, state.mark)
        raise deadline_passed(request, state)
    size = int(api.inspect_image(image_id)["Size"])  # type: ignore[no-untyped-call]
    if size > request.limits.image_max_bytes:
        removed = remove_own_image(api, image_id, state.mark)
        raise ImageTooLarge(
            f"The image is {size / 1e9:.2f} GB, over the grader's cap of {request.limits.image_max_bytes / 1e9:.2f} "
            f"GB ([limits] image_max_mb in grading.toml), so it was {'removed' if removed else 'not kept'} "
            "without grading. Start from a slim base and copy only what the app needs (lessons/02).",
            log_tail=state.sink.last())
    repository, tag = parse_repository_tag(request.tag)
    api.tag(image_id, repository, tag or "latest", force=True)
    if state.previous and state.previous != image_id:
        remove_own_image(api, state.previous)
    return BuildFacts(
        image_id=image_id, tag=request.tag, backend=backend, seconds=round(time.monotonic() - state.started, 2),
        context_bytes=request.context.size_bytes, cached_steps=state.cached, total_steps=state.total,
    )


#: What `--backend buildx` says when the plugin is missing.
BUILDX_MISSING = ("BuildKit's buildx plugin is not installed; `workshop engine install-buildx` (Debian/Ubuntu, root) "
                  "or Docker Desktop has it. Or grade with `--backend classic`.")


def choose_builder(api: docker.APIClient, backend: str = "auto") -> Builder:
    """"auto" prefers buildx when the plugin works; "classic" and "buildx" force one."""
    from grader.engine.buildkit import BuildxBuilder
    from grader.engine.classic import ClassicBuilder

    if backend == "classic":
        return ClassicBuilder(api)
    if backend == "buildx" or (backend == "auto" and buildx_available()):
        if backend == "buildx" and not buildx_available():
            raise NoEngine(BUILDX_MISSING)  # the machine lacks the back end: not the learner's doing
        return BuildxBuilder(api)
    return ClassicBuilder(api)
