"""The classic builder: the engine's build API, the only builder a bare Debian 12 engine has.

Every step runs in a cgroup of its own build (memory, pids, CPU; grader/engine/confinement.py), the image id comes
from the stream's structured aux message, and a build past its deadline is killed and never tagged.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from typing import Any

import docker

from grader.dockerfile import DockerfileInfo, Instruction
from grader.engine.build import (
    KILL_GRACE_S,
    BuildRequest,
    BuildState,
    deadline_passed,
    finish_build,
    limit_note,
    remove_own_image,
    step_failure,
)
from grader.engine.confinement import (
    CPU_PERIOD_US,
    BuildCgroup,
    hit_limits,
    kill_all,
    make_build_cgroup,
    remove_build_cgroup,
)
from grader.errors import BuildKitOnlySyntax
from grader.model import BuildFacts

__all__ = ["ClassicBuilder"]


# --------------------------------------------------------------------------------------------- classic
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")


def _classic_steps(info: DockerfileInfo) -> list[Instruction | None]:
    """What the classic builder numbers as steps: each FROM and each instruction, in order."""
    steps: list[Instruction | None] = []
    for stage in info.stages:
        steps.append(Instruction("FROM", stage.base, (), stage.line, stage.index))
        steps.extend(stage.instructions)
    return steps


def _classic_params(request: BuildRequest, state: BuildState, cgroup: BuildCgroup | None) -> dict[str, Any]:
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


def _classic_chunk(chunk: dict[str, Any], state: BuildState) -> None:
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


def _build_cgroup(api: docker.APIClient, request: BuildRequest, state: BuildState) -> BuildCgroup | None:
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
                "Install the buildx plugin (`workshop engine install-buildx`) or rewrite that line without it.",
                line=line,
            )
        state = BuildState.begin(self.api, request)
        cgroup = _build_cgroup(self.api, request, state)
        try:
            image_id = self._run(request, state, cgroup)
            return finish_build(self.api, request, state, image_id, self.name)
        finally:
            if cgroup is not None:
                kill_all(cgroup)  # nothing of a finished or stopped build may outlive it
                remove_build_cgroup(cgroup)

    def _run(self, request: BuildRequest, state: BuildState, cgroup: BuildCgroup | None) -> str:
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
            raise deadline_passed(request, state)
        if state.error or not state.image:
            steps = _classic_steps(request.dockerfile)
            instruction = steps[state.step - 1] if 0 < state.step <= len(steps) else None
            error = state.error or "The engine returned no image."
            if "pull access denied" in error or "repository does not exist" in error:
                error += " Base images are never pulled: run `workshop bases` to create the local ones."
            raise step_failure(request, instruction,
                           limit_note(request, error, hit_limits(cgroup) if cgroup else ()), state.sink.kept())
        return state.image

    def _consume(self, response: Any, state: BuildState) -> None:
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
