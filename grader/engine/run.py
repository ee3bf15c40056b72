"""Run the image once, the way a cluster would, and record what happened.

- The app container: networking disabled, memory/pids/CPU limits, the image's own HEALTHCHECK run by Docker with
  a shortened interval (and a start period as long as our wait), until healthy, unhealthy, exited or timed out.
  The uid of PID 1 and the effective uid of every process (processes.py) come from the engine (`docker top`),
  so the image needs no shell or `id`.
- At the same time, the healthcheck probes (health_probe.py): the same image and healthcheck in containers whose
  app never started or was killed, with the grader's own waiter. Their healthcheck must fail.

Every container carries the project's label and is always removed, whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import docker
from docker.types import LogConfig

from grader.app_contract import AppContract
from grader.engine.app_probe import AppProbe
from grader.engine.health_probe import MainRunHealth, ProbeThread
from grader.engine.processes import ProcessSampler
from grader.engine.setid import SetidScan
from grader.model import Healthcheck, ImageFacts, RunFacts
from grader.paths import PROJECT_LABEL

__all__ = [
    "NS",
    "POLL_S",
    "RunLimits",
    "run_image",
]

if TYPE_CHECKING:
    from grader.settings import ExerciseSettings

NS = 1_000_000_000
POLL_S = 0.1


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


def _healthcheck_config(hc: Healthcheck, timeout_s: float) -> dict[str, Any]:
    """The image's test with a short interval; the start period lets failures before the app is up not count."""
    return {
        "test": list(hc.test),
        "interval": int(0.25 * NS),
        "timeout": int(min(hc.timeout_s, 10.0) * NS),
        "retries": max(hc.retries, 1),
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


def _wait(api: docker.APIClient, container_id: str, timeout_s: float, done: Callable[[str | None], bool],
          watch: MainRunHealth | None = None) -> tuple[dict[str, Any], float]:
    """Poll the container until `done(health_status)`, it exits, or the timeout; return its state and the time."""
    start = time.monotonic()
    while True:
        state = api.inspect_container(container_id)["State"]
        if watch is not None:
            watch.observe(state)
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


def _not_started(exc: docker.errors.APIError, main: MainRunHealth, probe: ProbeThread, start: float) -> RunFacts:
    """The facts of a run the engine refused or broke off; the probes are released and waited for."""
    main.settle(healthy=False)
    return RunFacts(False, str(exc.explanation or exc).strip(), None, None, None, None, (), (), probe.result(),
                    round(time.monotonic() - start, 2))


def run_image(api: docker.APIClient, facts: ImageFacts, limits: RunLimits | None = None,
              contract: AppContract | None = None) -> RunFacts:
    """Start the image once (and the healthcheck probes beside it); always remove every container. Once it is
    healthy, the app probe sends the contract's requests (grader/engine/app_probe.py)."""
    limits = limits or RunLimits()
    app = AppProbe.prepare(api, contract)  # app-works: its environment now, its requests once healthy
    start = time.monotonic()
    main = MainRunHealth()
    probe = ProbeThread(api, facts, limits, main, _create, _remove)
    setid = SetidScan(api, facts, limits, _create, _remove)
    sampler = ProcessSampler(api)
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
            return _not_started(exc, main, probe, start)
        sampler.start(container_id)
        uid = _running_uid(api, container_id)
        wait_s = limits.health_timeout_s if "healthcheck" in options else 2.0
        state, waited = _wait(api, container_id, wait_s, lambda s: s in ("healthy", "unhealthy"), main)
        main.settle(healthy=_health(state)[0] == "healthy")
        if uid is None and state.get("Running"):
            uid = _running_uid(api, container_id)
        status, health_log = _health(state)
        app_facts = app.probe(healthy=status == "healthy" and bool(state.get("Running")))
        exit_code = None if state.get("Running") else int(state.get("ExitCode", 0))
        logs = _log_tail(api, container_id)
        if not logs and exit_code is not None:  # the log copier may lag a container that died at once
            time.sleep(0.3)
            logs = _log_tail(api, container_id)
        probe_facts = probe.result()
        return RunFacts(
            started=True, start_error=None, health_status=status,
            health_seconds=round(waited, 2) if status == "healthy" else None,
            exit_code=exit_code, uid=uid, logs_tail=tuple(logs), health_log=health_log,
            probe=probe_facts, seconds=round(time.monotonic() - start, 2), processes=sampler.stop(),
            setid_root=setid.result(), app_probe=app_facts,
        )
    except docker.errors.APIError as exc:
        return replace(_not_started(exc, main, probe, start), processes=sampler.stop())
    finally:
        app.close()
        setid.result()  # joins the scan, so its container is gone too
        main.settle(healthy=False)
        sampler.stop()
        _remove(api, container_id)
        probe.abandon()  # Ctrl-C mid-run: the probes' containers go too
