"""Build an image from an assembled context, with one of two back ends behind one small interface.

- BuildxBuilder: BuildKit through the docker CLI's buildx plugin (`docker buildx build --load`), when
  `docker buildx version` works. Cache mounts, `COPY --chmod` and `$BUILDPLATFORM` need it (heredocs would
  need a newer BuildKit than the engine's v0.8: grader.dockerfile refuses them up front).
- ClassicBuilder: the docker SDK's low-level APIClient.build, the only builder a bare Debian 12 engine has.

Both stream progress to a callback, measure time, label the image, stop cleanly on a timeout, never pull a
base image, and remove what a failed or replaced build leaves dangling. A failing step raises BuildFailed
naming the instruction, its line and the last 20 log lines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import docker

from grader.buildlog import log_excerpt
from grader.context import BuildContext
from grader.dockerfile import DockerfileInfo, Instruction
from grader.engine import buildx_available
from grader.errors import BuildFailed, BuildKitOnlySyntax, BuildTimeout, GradeError, NoEngine
from grader.model import BuildFacts

LOG_TAIL = 20


@dataclass(frozen=True)
class BuildEvent:
    """One progress line: the step number when known, and the text the engine printed."""

    text: str
    step: int | None = None
    total: int | None = None


ProgressCallback = Callable[[BuildEvent], None]


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


class Builder(Protocol):
    """A build back end."""

    name: str

    def build(self, request: BuildRequest) -> BuildFacts: ...


def _emit(request: BuildRequest, text: str, step: int | None = None, total: int | None = None) -> None:
    if request.progress is not None and text.strip():
        request.progress(BuildEvent(text.rstrip(), step, total))


def _remove_quietly(api: docker.APIClient, image_id: str) -> None:
    try:
        api.remove_image(image_id)
    except docker.errors.APIError:
        pass  # still tagged elsewhere or a parent of something: not ours to force


def _tag_id(api: docker.APIClient, tag: str) -> str | None:
    try:
        return str(api.inspect_image(tag)["Id"])  # type: ignore[no-untyped-call]
    except docker.errors.APIError:
        return None


def _failure(request: BuildRequest, instruction: Instruction | None, error: str, tail: list[str]) -> BuildFailed:
    tail = [line for line in tail if line.strip()]
    where = f"line {instruction.line}: `{instruction.text[:120]}`" if instruction else "an unknown step"
    return BuildFailed(
        f"The build failed at {where}. {error.strip()}",
        step=instruction.text if instruction else None,
        line=instruction.line if instruction else None,
        log_tail=log_excerpt(tail, LOG_TAIL),  # the lines naming the cause (grader.buildlog), then the tail
    )


# --------------------------------------------------------------------------------------------- classic
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_RUNNING = re.compile(r"^ ---> Running in ([0-9a-f]{12,})")
_LAYER = re.compile(r"^ ---> ([0-9a-f]{12,})$")


def _classic_steps(info: DockerfileInfo) -> list[Instruction | None]:
    """What the classic builder numbers as steps: each FROM and each instruction, in order."""
    steps: list[Instruction | None] = []
    for stage in info.stages:
        steps.append(Instruction("FROM", stage.base, (), stage.line, stage.index))
        steps.extend(stage.instructions)
    return steps


class ClassicBuilder:
    """The engine's classic builder through the docker SDK (no BuildKit needed)."""

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
        previous = _tag_id(self.api, request.tag)
        steps = _classic_steps(request.dockerfile)
        state: dict[str, Any] = {"step": 0, "running": None, "image": None, "error": None, "cached": 0, "total": 0}
        created: list[str] = []
        tail: deque[str] = deque(maxlen=200)
        start = time.monotonic()

        def consume() -> None:
            try:
                for chunk in self.api.build(
                    fileobj=request.context.tar, custom_context=True, tag=request.tag, labels=request.labels,
                    rm=True, forcerm=True, nocache=request.nocache, pull=False, decode=True,
                    buildargs=request.build_args or None,
                ):
                    if "stream" in chunk:
                        for line in str(chunk["stream"]).splitlines():
                            tail.append(line)
                            if m := _STEP.match(line):
                                state["step"], state["total"] = int(m.group(1)), int(m.group(2))
                                _emit(request, line, state["step"], state["total"])
                            elif m := _RUNNING.match(line):
                                state["running"] = m.group(1)
                            elif line.strip() == "---> Using cache":
                                state["cached"] += 1
                            elif (m := _LAYER.match(line)) and state["running"]:
                                created.append(m.group(1))
                                state["running"] = None
                            else:
                                _emit(request, line, state["step"], state["total"])
                    elif "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                        state["image"] = chunk["aux"]["ID"]
                    elif "error" in chunk:
                        state["error"] = str(chunk["error"])
            except docker.errors.APIError as exc:
                state["error"] = str(exc.explanation or exc)
            except Exception as exc:  # noqa: BLE001 - reported as a failed build, not a crash
                state["error"] = f"{type(exc).__name__}: {exc}"

        worker = threading.Thread(target=consume, daemon=True)
        worker.start()
        worker.join(request.timeout_s)
        if worker.is_alive():
            # Stop the step that is running (or about to run): the classic builder then fails the build, and
            # forcerm removes its container. Keep trying for 30 s in case the step's container is not up yet.
            deadline = time.monotonic() + 30
            while worker.is_alive() and time.monotonic() < deadline:
                running = state["running"]
                if running:
                    try:
                        self.api.kill(running)
                    except docker.errors.APIError:
                        pass
                worker.join(0.5)
            for image_id in reversed(created):
                _remove_quietly(self.api, image_id)
            raise BuildTimeout(
                f"The build ran past {request.timeout_s:.0f} s and was stopped at step {state['step']}"
                f"/{state['total']}. A step that waits for input or the network hangs here (there is no "
                "network in the workshop); raise --build-timeout if it is only slow.",
                log_tail=tuple(list(tail)[-LOG_TAIL:]),
            )
        if state["error"] or not state["image"]:
            for image_id in reversed(created):
                _remove_quietly(self.api, image_id)
            index = state["step"] - 1
            instruction = steps[index] if 0 <= index < len(steps) else None
            error = state["error"] or "The engine returned no image."
            if "pull access denied" in error or "repository does not exist" in error:
                error += " Base images are never pulled: run `workshop bases` to create the local ones."
            raise _failure(request, instruction, error, list(tail))
        image_id = str(state["image"])
        if previous and previous != image_id:
            _remove_quietly(self.api, previous)
        return BuildFacts(
            image_id=image_id, tag=request.tag, backend=self.name, seconds=round(time.monotonic() - start, 2),
            context_bytes=request.context.size_bytes, cached_steps=int(state["cached"]),
            total_steps=int(state["total"]),
        )


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


class BuildxBuilder:
    """BuildKit through `docker buildx build --load`, fed the assembled context as a tar on stdin."""

    name = "buildx"

    def __init__(self, api: docker.APIClient) -> None:
        self.api = api

    def build(self, request: BuildRequest) -> BuildFacts:
        previous = _tag_id(self.api, request.tag)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="workshop-buildx-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            command = ["docker", "buildx", "build", "--load", "--progress=plain", "--pull=false",
                       "-t", request.tag, "--iidfile", iidfile]
            for key, value in request.labels.items():
                command += ["--label", f"{key}={value}"]
            for key, value in request.build_args.items():
                command += ["--build-arg", f"{key}={value}"]
            if request.nocache:
                command.append("--no-cache")
            command.append("-")
            request.context.tar.seek(0)
            process = subprocess.Popen(command, stdin=request.context.tar, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            tail: deque[str] = deque(maxlen=400)
            cached = 0
            steps: dict[str, str] = {}
            failed_step: str | None = None
            expired = threading.Event()

            def stop() -> None:
                expired.set()
                os.killpg(process.pid, signal.SIGINT)  # buildx cancels the build on SIGINT

            timer = threading.Timer(request.timeout_s, stop)
            timer.start()
            try:
                assert process.stdout is not None
                for raw in process.stdout:
                    line = raw.decode("utf-8", "replace").rstrip()
                    tail.append(line)
                    if m := _BK_STEP.match(line):
                        steps[m.group(1)] = m.group(2)
                    elif (m := _BK_ERROR.match(line)) and failed_step is None:
                        failed_step = steps.get(m.group(1))
                    if line.endswith(" CACHED"):
                        cached += 1
                    _emit(request, line)
                code = process.wait()
            finally:
                timer.cancel()
            if expired.is_set():
                raise BuildTimeout(
                    f"The build ran past {request.timeout_s:.0f} s and was stopped. A step that waits for input "
                    "or the network hangs here; raise --build-timeout if it is only slow.",
                    log_tail=tuple(list(tail)[-LOG_TAIL:]),
                )
            if code != 0:
                lines = [int(m.group(1)) for line in tail if (m := _BK_LINE.search(line))]
                instruction = (request.dockerfile.instruction_at(lines[-1]) if lines else
                               _instruction_by_text(request.dockerfile, failed_step) if failed_step else None)
                errors = [line for line in tail if "ERROR" in line or "error:" in line.lower()]
                raise _failure(request, instruction, errors[-1] if errors else f"buildx exited {code}.", list(tail))
            image_id = open(iidfile).read().strip()
        if previous and previous != image_id:
            _remove_quietly(self.api, previous)
        return BuildFacts(
            image_id=image_id, tag=request.tag, backend=self.name, seconds=round(time.monotonic() - start, 2),
            context_bytes=request.context.size_bytes, cached_steps=cached, total_steps=len(steps),
        )


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
