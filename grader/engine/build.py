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

import contextlib
import hashlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import docker
from docker.utils import parse_repository_tag

from grader.context import DOCKERFILE_NAME, BuildContext
from grader.dockerfile import DockerfileInfo, Instruction
from grader.engine.buildlog import first_cause, log_excerpt
from grader.engine.cache_mounts import cache_namespace, scope_cache_mounts
from grader.engine.confinement import (
    CPU_PERIOD_US,
    BuildCgroup,
    BuildkitStepLimiter,
    buildkit_oom_kills,
    cap_buildkit,
    hit_limits,
    kill_all,
    make_build_cgroup,
    remove_build_cgroup,
)
from grader.engine.daemon import buildx_available
from grader.engine.limits import MIB, Limits
from grader.errors import (
    BuildFailed,
    BuildKitOnlySyntax,
    BuildTimeout,
    NoEngine,
)
from grader.model import BuildEvent, BuildFacts, ProgressCallback
from grader.paths import PROJECT_LABEL
from grader.reporters.sanitize import strip_control

__all__ = [
    "BUILDX_MISSING",
    "BUILD_ID_LABEL",
    "BuildRequest",
    "Builder",
    "BuildxBuilder",
    "ClassicBuilder",
    "ImageTooLarge",
    "KILL_GRACE_S",
    "LINE_MAX",
    "LOG_TAIL",
    "build_mark",
    "choose_builder",
    "remove_own_image",
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
_FORK_FAILED = re.compile(r"Cannot fork|fork: retry|Resource temporarily unavailable")


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
class _BuildState:
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
    def begin(cls, api: docker.APIClient, request: BuildRequest) -> _BuildState:
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


def _failure(request: BuildRequest, instruction: Instruction | None, error: str, log: tuple[str, ...]) -> BuildFailed:
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


def _limit_note(request: BuildRequest, error: str, hits: tuple[str, ...]) -> str:
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


def _timeout(request: BuildRequest, state: _BuildState) -> BuildTimeout:
    where = f" at step {state.step}/{state.total}" if state.total else ""
    return BuildTimeout(
        f"The build ran past {request.timeout_s:.0f} s and was stopped{where}; nothing was tagged. A step that "
        "waits for input or the network hangs here (there is no network in the workshop); raise --build-timeout "
        "if it is only slow.",
        log_tail=state.sink.last(),
    )


def _finish(api: docker.APIClient, request: BuildRequest, state: _BuildState, image_id: str,
            backend: str) -> BuildFacts:
    """Within the deadline and under the size cap, tag the image and drop the one the tag named before."""
    if time.monotonic() > state.deadline:
        remove_own_image(api, image_id, state.mark)
        raise _timeout(request, state)
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


# --------------------------------------------------------------------------------------------- classic
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def _classic_steps(info: DockerfileInfo) -> list[Instruction | None]:
    """What the classic builder numbers as steps: each FROM and each instruction, in order."""
    steps: list[Instruction | None] = []
    for stage in info.stages:
        steps.append(Instruction("FROM", stage.base, (), stage.line, stage.index))
        steps.extend(stage.instructions)
    return steps


def _classic_params(request: BuildRequest, state: _BuildState, cgroup: BuildCgroup | None) -> dict[str, Any]:
    """The build API's query: no tag (the grader tags after the deadline check), the build's labels, and the
    limits: the build's cgroup when there is one (it bounds memory, pids and CPU for all steps together), else
    the per-step memory and CPU limits the API takes (it takes no pids limit)."""
    params: dict[str, Any] = {"q": "0", "nocache": "1" if request.nocache else "0", "rm": "1", "forcerm": "1",
                              "pull": "0", "labels": json.dumps(state.labels(request))}
    if request.build_args:
        params["buildargs"] = json.dumps(request.build_args)
    if cgroup is not None:
        params["cgroupparent"] = cgroup.parent
    else:
        memory = request.limits.build_memory_bytes
        params.update(memory=memory, memswap=memory, cpuperiod=CPU_PERIOD_US,
                      cpuquota=int(request.limits.build_cpus * CPU_PERIOD_US))
    return params


def _classic_chunk(chunk: dict[str, Any], state: _BuildState) -> None:
    """One message of the build stream. The image id comes only from the engine's aux message; "stream" text
    (which a RUN step can print too) only feeds the log and the step number shown in messages."""
    if "stream" in chunk:
        for line in str(chunk["stream"]).splitlines():
            if m := _STEP.match(line):
                state.step, state.total = int(m.group(1)), int(m.group(2))
            elif line.strip() == "---> Using cache":
                state.cached += 1
            state.sink.line(line, state.step, state.total)
    elif isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
        state.image = str(chunk["aux"]["ID"])
    elif "error" in chunk:
        state.error = str(chunk["error"])


def _build_cgroup(api: docker.APIClient, request: BuildRequest, state: _BuildState) -> BuildCgroup | None:
    made = make_build_cgroup(api.info(), state.build_id, request.limits)
    if isinstance(made, str):
        state.sink.line(f"Note: this build's steps share no pids limit ({made}).")
        return None
    return made


class ClassicBuilder:
    """The engine's classic builder through the build API (no BuildKit needed)."""

    name = "classic"

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    def build(self, request: BuildRequest) -> BuildFacts:
        if request.dockerfile.buildkit_features:
            line, feature = request.dockerfile.buildkit_features[0]
            raise BuildKitOnlySyntax(
                f"Line {line} uses {feature}, which needs BuildKit, but this engine only has the classic builder. "
                "Install the buildx plugin (`.ci/run` shows how) or rewrite that line without it.",
                line=line,
            )
        state = _BuildState.begin(self.api, request)
        cgroup = _build_cgroup(self.api, request, state)
        try:
            image_id = self._run(request, state, cgroup)
            return _finish(self.api, request, state, image_id, self.name)
        finally:
            if cgroup is not None:
                kill_all(cgroup)  # nothing of a finished or stopped build may outlive it
                remove_build_cgroup(cgroup)

    def _run(self, request: BuildRequest, state: _BuildState, cgroup: BuildCgroup | None) -> str:
        request.context.tar.seek(0)
        api: Any = self.api  # APIClient.build takes no cgroup parent or CPU quota: its own request, unwrapped
        response = api._post(api._url("/build"), data=request.context.tar,
                             params=_classic_params(request, state, cgroup),
                             headers={"Content-Type": "application/tar"}, stream=True, timeout=None)
        api._raise_for_status(response)
        sock = api._get_raw_response_socket(response)
        worker = threading.Thread(target=self._consume, args=(response, state), daemon=True)
        worker.start()
        worker.join(request.timeout_s)
        if worker.is_alive():
            # Hard deadline: closing the connection makes the engine cancel the build (it kills a RUN step's
            # container); the cgroup's processes are SIGKILLed too. A step stuck outside a container (ADD <url>,
            # a pull) is abandoned, and nothing is tagged: the grader tags only after a build in time.
            state.expired.set()
            _shutdown(sock)
            if cgroup is not None:
                kill_all(cgroup)
            worker.join(KILL_GRACE_S)
            raise _timeout(request, state)
        if state.error or not state.image:
            steps = _classic_steps(request.dockerfile)
            instruction = steps[state.step - 1] if 0 < state.step <= len(steps) else None
            error = state.error or "The engine returned no image."
            if "pull access denied" in error or "repository does not exist" in error:
                error += " Base images are never pulled: run `workshop bases` to create the local ones."
            raise _failure(request, instruction,
                           _limit_note(request, error, hit_limits(cgroup) if cgroup else ()), state.sink.kept())
        return state.image

    def _consume(self, response: Any, state: _BuildState) -> None:
        try:
            api: Any = self.api
            for chunk in api._stream_helper(response, decode=True):
                _classic_chunk(chunk, state)
        except Exception as exc:  # noqa: BLE001 - a dropped stream is a failed build, not a crash
            state.error = state.error or f"{type(exc).__name__}: {exc}"
        finally:
            if state.expired.is_set() and state.image:  # finished after the deadline: not kept
                remove_own_image(self.api, state.image, state.mark)


def _shutdown(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass


# --------------------------------------------------------------------------------------------- buildx
_BK_LINE = re.compile(r"Dockerfile:(\d+)")
_BK_STEP = re.compile(r"^#(\d+) \[[^\]]*\] (.*)$")
_BK_ERROR = re.compile(r"^#(\d+) ERROR")


def _instruction_by_text(info: DockerfileInfo, text: str) -> Instruction | None:
    """The instruction BuildKit names in "#6 [3/3] RUN npm ci" (older engines print no Dockerfile line)."""
    wanted = " ".join(text.split())
    for instruction in info.all_instructions():
        if " ".join(instruction.text.split()) == wanted:
            return instruction
    for instruction in info.all_instructions():
        if wanted.startswith(instruction.keyword) and instruction.args and instruction.args.split()[0] in wanted:
            return instruction
    return None


def _scoped_context(request: BuildRequest) -> IO[bytes]:
    """The context tar, with the Dockerfile's cache mounts put in this submission's namespace if it has any."""
    text = request.context.dockerfile_text
    scoped = scope_cache_mounts(text, cache_namespace(request.tag))
    request.context.tar.seek(0)
    if scoped == text:
        return request.context.tar
    rewritten = tempfile.TemporaryFile()  # noqa: SIM115 - handed to buildx as stdin, freed when dropped
    with tarfile.open(fileobj=request.context.tar, mode="r:") as source, \
            tarfile.open(fileobj=rewritten, mode="w", format=tarfile.GNU_FORMAT) as target:
        for member in source:
            if member.name == DOCKERFILE_NAME:
                data = scoped.encode()
                member.size = len(data)
                target.addfile(member, io.BytesIO(data))
            else:
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    request.context.tar.seek(0)
    rewritten.seek(0)
    return rewritten


def _buildx_line(line: str, state: _BuildState) -> None:
    if m := _BK_STEP.match(line):
        state.buildkit_steps[m.group(1)] = m.group(2)
    elif (m := _BK_ERROR.match(line)) and state.failed_step is None:
        state.failed_step = state.buildkit_steps.get(m.group(1))
    if line.endswith(" CACHED"):
        state.cached += 1
    state.total = len(state.buildkit_steps)
    state.sink.line(line)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _run_buildx(command: list[str], context: IO[bytes], request: BuildRequest, state: _BuildState) -> int:
    """Run buildx to the end or the deadline: SIGINT then (KILL_GRACE_S later) SIGKILL to its process group."""
    process = subprocess.Popen(command, stdin=context, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)

    def interrupt() -> None:
        state.expired.set()
        _signal_group(process, signal.SIGINT)  # buildx cancels the build on SIGINT

    timers = [threading.Timer(request.timeout_s, interrupt),
              threading.Timer(request.timeout_s + KILL_GRACE_S, _signal_group, (process, signal.SIGKILL))]
    for timer in timers:
        timer.start()
    try:
        assert process.stdout is not None
        for raw in iter(lambda: process.stdout.readline(LINE_MAX * 4), b""):  # type: ignore[union-attr]
            _buildx_line(raw.decode("utf-8", "replace").rstrip(), state)
        return process.wait()
    finally:
        for timer in timers:
            timer.cancel()


def _buildx_command(request: BuildRequest, state: _BuildState, iidfile: str) -> list[str]:
    command = ["docker", "buildx", "build", "--load", "--progress=plain", "--pull=false", "--iidfile", iidfile]
    for key, value in state.labels(request).items():
        command += ["--label", f"{key}={value}"]
    for key, value in request.build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    if request.nocache:
        command.append("--no-cache")
    return [*command, "-"]


def _read_iid(path: str) -> str | None:
    try:
        return open(path).read().strip() or None
    except OSError:
        return None


class BuildxBuilder:
    """BuildKit through `docker buildx build --load`, fed the assembled context as a tar on stdin.

    Docker 20.10's BuildKit ignores `--cgroup-parent`, so limits are set on the cgroups it makes: an engine-wide
    cap on all BuildKit steps, and the build's own limits on each step as it appears (confinement.py)."""

    name = "buildx"

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    def build(self, request: BuildRequest) -> BuildFacts:
        state = _BuildState.begin(self.api, request)
        reason = cap_buildkit(self.api.info(), request.limits)
        if reason:
            state.sink.line(f"Note: this build's steps run without memory, pids or CPU limits ({reason}).")
        limiter = BuildkitStepLimiter(request.limits) if reason is None else None
        before = buildkit_oom_kills()
        with tempfile.TemporaryDirectory(prefix="workshop-buildx-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            with limiter or contextlib.nullcontext():
                code = _run_buildx(_buildx_command(request, state, iidfile), _scoped_context(request), request, state)
            image_id = _read_iid(iidfile)
        if state.expired.is_set():
            if image_id:
                remove_own_image(self.api, image_id, state.mark)
            raise _timeout(request, state)
        if code != 0 or not image_id:
            hits = (("memory",) if limiter and (limiter.oom_kills or buildkit_oom_kills() > before) else ()) + (
                ("pids",) if limiter and limiter.pids_hit else ())
            raise self._failure(request, state, code, hits)
        return _finish(self.api, request, state, image_id, self.name)

    @staticmethod
    def _failure(request: BuildRequest, state: _BuildState, code: int, hits: tuple[str, ...]) -> BuildFailed:
        tail = list(state.sink.tail)
        lines = [int(m.group(1)) for line in tail if (m := _BK_LINE.search(line))]
        instruction = (request.dockerfile.instruction_at(lines[-1]) if lines else
                       _instruction_by_text(request.dockerfile, state.failed_step) if state.failed_step else None)
        errors = [line for line in tail if "ERROR" in line or "error:" in line.lower()]
        error = errors[-1] if errors else f"buildx exited {code}."
        if any(_FORK_FAILED.search(line) for line in tail):
            hits = (*hits, "pids")
        return _failure(request, instruction, _limit_note(request, error, hits), state.sink.kept())


#: What `--backend buildx` says when the plugin is missing.
BUILDX_MISSING = ("BuildKit's buildx plugin is not installed; `workshop engine install-buildx` (Debian/Ubuntu, root) "
                  "or Docker Desktop has it. Or grade with `--backend classic`.")


def choose_builder(api: docker.APIClient, backend: str = "auto") -> Builder:
    """"auto" prefers buildx when the plugin works; "classic" and "buildx" force one."""
    if backend == "classic":
        return ClassicBuilder(api)
    if backend == "buildx" or (backend == "auto" and buildx_available()):
        if backend == "buildx" and not buildx_available():
            raise NoEngine(BUILDX_MISSING)  # the machine lacks the back end: not the learner's doing
        return BuildxBuilder(api)
    return ClassicBuilder(api)
