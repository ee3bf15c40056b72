"""Run the image once, the way a cluster would, and record what happened.

- The app container: networking disabled, memory/pids/CPU limits, the image's own HEALTHCHECK run by Docker with
  a shortened interval (and a start period as long as our wait), until healthy, unhealthy, exited or timed out.
  The uid of PID 1 comes from the engine (`docker top`), so the image needs no shell or `id`.
- At the same time, the probe container: the same image and healthcheck, with the entrypoint replaced by
  something that only waits (sleep, node or python, whichever the image has). Its healthcheck must fail.

Both containers carry the project's label and are always removed, whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import docker
from docker.types import LogConfig

from grader.app_contract import AppContract
from grader.engine.app_probe import AppProbe
from grader.model import Healthcheck, ImageFacts, ProbeFacts, RunFacts
from grader.paths import PROJECT_LABEL

__all__ = [
    "NS",
    "POLL_S",
    "RunLimits",
    "WAITERS",
    "find_waiter",
    "probe_healthcheck",
    "run_image",
]

if TYPE_CHECKING:
    from grader.settings import ExerciseSettings

NS = 1_000_000_000
POLL_S = 0.1
#: Commands that only wait, tried in order; the first whose program is in the image is used.
WAITERS: tuple[tuple[str, ...], ...] = (
    ("sleep", "infinity"),
    ("node", "-e", "setInterval(() => {}, 1 << 30)"),
    ("python3", "-c", "import time; time.sleep(1 << 30)"),
    ("python", "-c", "import time; time.sleep(1 << 30)"),
)
_PATH_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")


@dataclass(frozen=True)
class RunLimits:
    """Resource limits for the graded containers (one line of help each lives in settings.py)."""

    memory_bytes: int = 512 * 1024 * 1024
    pids: int = 256
    nano_cpus: int = 1_000_000_000
    health_timeout_s: float = 60.0
    probe_timeout_s: float = 15.0
    log_max_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls, settings: ExerciseSettings) -> RunLimits:
        """The exercise's `[run]` memory and health timeout with its `[limits]` for pids, CPU and logs."""
        limits = settings.limits
        return cls(memory_bytes=settings.memory_limit_bytes, pids=limits.run_pids,
                   nano_cpus=int(limits.run_cpus * 1e9), health_timeout_s=settings.health_timeout_s,
                   log_max_bytes=limits.log_max_bytes)


def _path_dirs(image: ImageFacts) -> tuple[str, ...]:
    """The image's PATH (ENV PATH=...), else the usual one; relative to the root like merged paths."""
    for item in image.env:
        if item.startswith("PATH="):
            return tuple(d.strip("/") for d in item[5:].split(":") if d.strip("/"))
    return _PATH_DIRS


def find_waiter(image: ImageFacts) -> tuple[str, ...] | None:
    """A command that only waits, built from a program present in the image's PATH directories."""
    for waiter in WAITERS:
        for directory in _path_dirs(image):
            if f"{directory}/{waiter[0]}" in image.merged:
                return (f"/{directory}/{waiter[0]}", *waiter[1:])
    return None


def _healthcheck_config(hc: Healthcheck, timeout_s: float, retries: int | None = None) -> dict[str, Any]:
    """The image's test with a short interval; the start period lets failures before the app is up not count."""
    return {
        "test": list(hc.test),
        "interval": int(0.25 * NS),
        "timeout": int(min(hc.timeout_s, 10.0) * NS),
        "retries": retries if retries is not None else max(hc.retries, 1),
        # 0 would mean "inherit the image's start period" (failures ignored for it); 1 ms is the API's minimum.
        "start_period": max(int(timeout_s * NS), 1_000_000),
    }


def _labels(role: str) -> dict[str, str]:
    return {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": role}


def _create(api: docker.APIClient, image: str, role: str, limits: RunLimits, **options: Any) -> str:
    # No swap beyond the memory limit, and a log the engine caps (one file, log_max_bytes) whatever the app prints.
    host_config = api.create_host_config(
        network_mode="none", mem_limit=limits.memory_bytes, memswap_limit=limits.memory_bytes,
        pids_limit=limits.pids, nano_cpus=limits.nano_cpus,
        log_config=LogConfig(type="json-file", config={"max-size": str(limits.log_max_bytes), "max-file": "1"}),
    )
    container = api.create_container(image, labels=_labels(role), host_config=host_config, detach=True, **options)
    return str(container["Id"])


def _remove(api: docker.APIClient, container_id: str | None) -> None:
    """Force-remove and wait until the engine no longer knows the container (removal can be asynchronous)."""
    if not container_id:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            api.remove_container(container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass  # "removal already in progress": wait for it below
        try:
            api.inspect_container(container_id)
        except docker.errors.NotFound:
            return
        time.sleep(0.1)


def _log_tail(api: docker.APIClient, container_id: str, lines: int = 20, line_max: int = 500) -> list[str]:
    """The last lines of the container's log, each cut to `line_max` characters (the engine caps the file)."""
    raw = api.logs(container_id, tail=lines)[-lines * (line_max + 1) * 4:]
    return [line[:line_max] for line in raw.decode("utf-8", "replace").splitlines()[-lines:]]


def _health(state: dict[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    health = state.get("Health") or {}
    log = tuple(str(entry.get("Output", "")).strip()[-300:] for entry in (health.get("Log") or [])[-3:])
    return health.get("Status"), log


def _wait(api: docker.APIClient, container_id: str, timeout_s: float,
          done: Callable[[str | None], bool]) -> tuple[dict[str, Any], float]:
    """Poll the container until `done(health_status)`, it exits, or the timeout; return its state and the time."""
    start = time.monotonic()
    while True:
        state = api.inspect_container(container_id)["State"]
        status, _ = _health(state)
        if not state.get("Running") or done(status) or time.monotonic() - start > timeout_s:
            return state, time.monotonic() - start
        time.sleep(POLL_S)


def _running_uid(api: docker.APIClient, container_id: str) -> int | None:
    """The uid of the container's first process, as the engine's host sees it (no shell needed in the image)."""
    try:
        top = api.top(container_id, ps_args="-o pid,uid")
    except docker.errors.APIError:
        return None
    titles = [t.upper() for t in top.get("Titles") or []]
    if "UID" not in titles or not top.get("Processes"):
        return None
    column = titles.index("UID")
    value = str(top["Processes"][0][column])
    return int(value) if value.isdigit() else None


def probe_healthcheck(api: docker.APIClient, facts: ImageFacts, limits: RunLimits) -> ProbeFacts:
    """Run the healthcheck where the app is not running: a meaningful one fails there."""
    hc = facts.healthcheck
    if hc is None or hc.disabled:
        return ProbeFacts("skipped", "the image has no HEALTHCHECK")
    waiter = find_waiter(facts)
    if waiter is None:
        return ProbeFacts("skipped", "the image has nothing that can wait (no sleep, node or python), "
                                     "so the healthcheck cannot be run without the app")
    container_id: str | None = None
    try:
        container_id = _create(api, facts.image_id, "probe", limits, entrypoint=list(waiter), command=[],
                               healthcheck=_healthcheck_config(hc, 0.0, retries=1))
        api.start(container_id)
        state, _ = _wait(api, container_id, limits.probe_timeout_s, lambda s: s in ("healthy", "unhealthy"))
        status, log = _health(state)
        if status == "unhealthy":
            return ProbeFacts("failed-as-expected", "unhealthy without the app", waiter)
        if status == "healthy":
            return ProbeFacts("passed-without-app", f"healthy while only `{' '.join(waiter)}` ran", waiter)
        return ProbeFacts("skipped", f"the waiting container ended as '{status or state.get('Status')}'", waiter)
    except docker.errors.APIError as exc:
        return ProbeFacts("skipped", f"the waiting container could not start ({exc.explanation or exc})", waiter)
    finally:
        _remove(api, container_id)


def run_image(api: docker.APIClient, facts: ImageFacts, limits: RunLimits | None = None,
              contract: AppContract | None = None) -> RunFacts:
    """Start the image once (and the probe beside it); always remove both containers. Once it is healthy, the
    app probe sends the contract's requests (grader/engine/app_probe.py)."""
    limits = limits or RunLimits()
    app = AppProbe.prepare(api, contract)  # app-works: its environment now, its requests once healthy
    start = time.monotonic()
    probe_result: list[ProbeFacts] = []
    probe_thread = threading.Thread(target=lambda: probe_result.append(probe_healthcheck(api, facts, limits)),
                                    daemon=True)
    probe_thread.start()
    container_id: str | None = None
    hc = facts.healthcheck
    options: dict[str, Any] = {"environment": app.environment} if app.environment else {}
    if hc is not None and not hc.disabled:
        options["healthcheck"] = _healthcheck_config(hc, limits.health_timeout_s)
    try:
        container_id = _create(api, facts.image_id, "run", limits, **options)
        try:
            api.start(container_id)
            app.begin(container_id)
        except docker.errors.APIError as exc:
            probe_thread.join()
            return RunFacts(False, str(exc.explanation or exc).strip(), None, None, None, None, (), (),
                            probe_result[0] if probe_result else None, round(time.monotonic() - start, 2))
        uid = _running_uid(api, container_id)
        wait_s = limits.health_timeout_s if "healthcheck" in options else 2.0
        state, waited = _wait(api, container_id, wait_s, lambda s: s in ("healthy", "unhealthy"))
        if uid is None and state.get("Running"):
            uid = _running_uid(api, container_id)
        status, health_log = _health(state)
        app_facts = app.probe(healthy=status == "healthy" and bool(state.get("Running")))
        exit_code = None if state.get("Running") else int(state.get("ExitCode", 0))
        logs = _log_tail(api, container_id)
        if not logs and exit_code is not None:  # the log copier may lag a container that died at once
            time.sleep(0.3)
            logs = _log_tail(api, container_id)
        probe_thread.join()
        return RunFacts(
            started=True, start_error=None, health_status=status,
            health_seconds=round(waited, 2) if status == "healthy" else None,
            exit_code=exit_code, uid=uid, logs_tail=tuple(logs), health_log=health_log,
            probe=probe_result[0] if probe_result else None, seconds=round(time.monotonic() - start, 2),
            app_probe=app_facts,
        )
    except docker.errors.APIError as exc:
        probe_thread.join()
        return RunFacts(False, str(exc.explanation or exc).strip(), None, None, None, None, (), (),
                        probe_result[0] if probe_result else None, round(time.monotonic() - start, 2))
    finally:
        app.close()
        _remove(api, container_id)
