"""BuildKit through the docker CLI's buildx plugin (`docker buildx build --load`), fed the context on stdin.

Cache mounts are namespaced per submission by BuildKit itself (BUILDKIT_CACHE_MOUNT_NS), each step is limited
as it appears (buildx's docker driver takes no per-build limits), the image id comes from the iidfile, and
SIGKILL follows SIGINT at the deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO

import docker

from grader.dockerfile import DockerfileInfo, Instruction
from grader.engine.build import (
    FORK_FAILED,
    KILL_GRACE_S,
    LINE_MAX,
    BuildRequest,
    BuildState,
    deadline_passed,
    finish_build,
    limit_note,
    remove_own_image,
    step_failure,
)
from grader.engine.cache_mounts import CACHE_NAMESPACE_ARG, cache_namespace
from grader.engine.confinement import (
    BuildkitStepLimiter,
    buildkit_oom_kills,
    cap_buildkit,
)
from grader.errors import BuildFailed
from grader.model import BuildFacts

__all__ = ["BuildxBuilder"]


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


def _context(request: BuildRequest) -> IO[bytes]:
    """The context tar as assembled: the Dockerfile goes to BuildKit exactly as the grader parsed it."""
    request.context.tar.seek(0)
    return request.context.tar


def _buildx_line(line: str, state: BuildState) -> None:
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


def _run_buildx(command: list[str], context: IO[bytes], request: BuildRequest, state: BuildState) -> int:
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


def _buildx_command(request: BuildRequest, state: BuildState, iidfile: str) -> list[str]:
    command = ["docker", "buildx", "build", "--load", "--progress=plain", "--pull=false", "--iidfile", iidfile]
    for key, value in state.labels(request).items():
        command += ["--label", f"{key}={value}"]
    build_args = {**request.build_args, CACHE_NAMESPACE_ARG: cache_namespace(request.tag)}
    for key, value in build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    if request.nocache:
        command.append("--no-cache")
    return [*command, "-"]


def _read_iid(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
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
        state = BuildState.begin(self.api, request)
        reason = cap_buildkit(self.api.info(), request.limits)
        if reason:
            state.sink.line(f"Note: this build's steps run without memory, pids or CPU limits ({reason}).")
        limiter = BuildkitStepLimiter(request.limits) if reason is None else None
        before = buildkit_oom_kills()
        with tempfile.TemporaryDirectory(prefix="workshop-buildx-") as tmp:
            iidfile = os.path.join(tmp, "iid")
            with limiter or contextlib.nullcontext():
                code = _run_buildx(_buildx_command(request, state, iidfile), _context(request), request, state)
            image_id = _read_iid(iidfile)
        if state.expired.is_set():
            if image_id:
                remove_own_image(self.api, image_id, state.mark)
            raise deadline_passed(request, state)
        if code != 0 or not image_id:
            hits = (("memory",) if limiter and (limiter.oom_kills or buildkit_oom_kills() > before) else ()) + (
                ("pids",) if limiter and limiter.pids_hit else ())
            raise self._failure(request, state, code, hits)
        return finish_build(self.api, request, state, image_id, self.name)

    @staticmethod
    def _failure(request: BuildRequest, state: BuildState, code: int, hits: tuple[str, ...]) -> BuildFailed:
        tail = list(state.sink.tail)
        lines = [int(m.group(1)) for line in tail if (m := _BK_LINE.search(line))]
        instruction = (request.dockerfile.instruction_at(lines[-1]) if lines else
                       _instruction_by_text(request.dockerfile, state.failed_step) if state.failed_step else None)
        errors = [line for line in tail if "ERROR" in line or "error:" in line.lower()]
        error = errors[-1] if errors else f"buildx exited {code}."
        if any(FORK_FAILED.search(line) for line in tail):
            hits = (*hits, "pids")
        return step_failure(request, instruction, limit_note(request, error, hits), state.sink.kept())
