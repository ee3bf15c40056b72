"""Does the image's HEALTHCHECK fail when the app is gone? Judged in two probe containers beside the main run.

A healthcheck can keep state (a counter, a file) or test something its own CMD set up, so one result in one
container proves nothing. Each probe runs the image's own test with the image's own retries (the interval
scaled to 0.25 s while the main run's app starts and 0.1 s after a kill, the timeout capped at 5 s: Docker's
state machine counts results, not seconds) and collects every result Docker records, until Docker has marked the
container unhealthy and enough results were seen. Any result that passes while the app is down fails the probe.

- never-started: the entrypoint is the grader's own waiter (a static busybox put into the created container, see
  toolbox.py); the app never runs. It watches at least as many results as the main run needed to turn healthy,
  plus the retries, so "fail k times, then pass" is seen whatever k is.
- app-killed: the same waiter, and the image's entrypoint + cmd started with `docker exec`, as the image's USER
  in its WORKDIR. Once Docker says healthy, every process but the waiter is killed (SIGKILL) and the healthcheck
  must turn unhealthy and stay so: a healthcheck that tests a file the app left behind passes here.

Both containers carry the project label and are always removed; the graded app container is never changed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import docker

from grader.engine.toolbox import Toolbox, ToolboxMissing, put_toolbox
from grader.model import Healthcheck, ImageFacts, ProbeFacts, ProbeWay

if TYPE_CHECKING:
    from grader.engine.run import RunLimits

__all__ = [
    "EXTRA_RUNS",
    "NEVER_STARTED_INTERVAL_S",
    "HealthLog",
    "MainRunHealth",
    "PROBE_INTERVAL_S",
    "ProbeThread",
    "combine_ways",
    "probe_config",
    "probe_healthcheck",
]

NS = 1_000_000_000
POLL_S = 0.1
PROBE_INTERVAL_S = 0.1
#: never-started runs while the main run's app starts: at the main run's own pace, so it does not crowd it.
NEVER_STARTED_INTERVAL_S = 0.25
PROBE_TIMEOUT_CAP_S = 5.0
#: Results watched beyond Docker's own retries, so "unhealthy" is seen to last.
EXTRA_RUNS = 1
#: never-started also watches this many results that ended after the main run turned healthy (time-based tests).
AFTER_MAIN_RUNS = 2
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
CreateContainer = Callable[..., str]


def _stamp_ns(text: str) -> int:
    """An engine timestamp (RFC 3339, up to nanoseconds) as integer nanoseconds; 0 when unreadable."""
    match = _STAMP.match(text.strip())
    if not match:
        return 0
    zone = match.group(3) or "Z"
    whole = datetime.fromisoformat(match.group(1) + ("+00:00" if zone == "Z" else zone))
    return int(whole.timestamp()) * NS + int((match.group(2) or "0")[:9].ljust(9, "0"))


class HealthLog:
    """Every healthcheck result of one container: Docker keeps the last five, polling collects all of them."""

    def __init__(self) -> None:
        self.results: dict[int, int] = {}  # start (ns, engine clock) -> exit code
        self.status: str | None = None
        self.outputs: list[str] = []

    def add(self, state: dict[str, Any]) -> None:
        health = state.get("Health") or {}
        self.status = health.get("Status")
        for entry in health.get("Log") or []:
            start = _stamp_ns(str(entry.get("Start", "")))
            if start and start not in self.results:
                self.results[start] = int(entry.get("ExitCode", -1))
                lines = str(entry.get("Output", "")).strip().splitlines() or [""]
                self.outputs = (self.outputs + [lines[-1][-200:]])[-3:]

    def runs(self, since_ns: int = 0) -> int:
        return sum(1 for start in self.results if start > since_ns)

    def passes(self, since_ns: int = 0) -> int:
        return sum(1 for start, code in self.results.items() if start > since_ns and code == 0)


class MainRunHealth:
    """The main run's healthcheck as the probes need it: how many results it took to turn healthy."""

    def __init__(self) -> None:
        self.log = HealthLog()
        self.runs_to_healthy: int | None = None
        self.settled = threading.Event()

    def observe(self, state: dict[str, Any]) -> None:
        self.log.add(state)

    def settle(self, healthy: bool) -> None:
        """Called once the main run's wait ended (again, harmlessly, when it is removed)."""
        if not self.settled.is_set():
            self.runs_to_healthy = max(self.log.runs(), 1) if healthy else None
            self.settled.set()


def probe_config(hc: Healthcheck, start_period_s: float, interval_s: float = PROBE_INTERVAL_S) -> dict[str, Any]:
    """The image's test and retries; the interval scaled down, the timeout capped, the start period ours."""
    return {
        "test": list(hc.test),
        "interval": int(interval_s * NS),
        "timeout": int(min(hc.timeout_s or PROBE_TIMEOUT_CAP_S, PROBE_TIMEOUT_CAP_S) * NS),
        "retries": hc.retries if hc.retries > 0 else 3,  # 0 is Docker's "default", which is 3
        # 0 would mean "inherit the image's start period"; 1 ms is the API's minimum.
        "start_period": max(int(start_period_s * NS), 1_000_000),
    }


@dataclass(frozen=True)
class _Probe:
    """What one probe container needs: the engine, the image, the grader's tools, limits and the main run."""

    api: docker.APIClient
    facts: ImageFacts
    toolbox: Toolbox
    limits: RunLimits
    main: MainRunHealth
    create: CreateContainer
    remove: Callable[[docker.APIClient, str | None], None]

    @property
    def retries(self) -> int:
        assert self.facts.healthcheck is not None
        return int(probe_config(self.facts.healthcheck, 0)["retries"])

    def waiter(self) -> tuple[str, ...]:
        return self.toolbox.command("sleep", "2147483647")

    def start(self, start_period_s: float, interval_s: float = PROBE_INTERVAL_S) -> str:
        """Create the waiting container, put the busybox in, start it; the caller removes it."""
        assert self.facts.healthcheck is not None
        container_id = self.create(self.api, self.facts.image_id, "probe", self.limits,
                                   entrypoint=list(self.waiter()), command=[],
                                   healthcheck=probe_config(self.facts.healthcheck, start_period_s, interval_s))
        try:
            put_toolbox(self.api, container_id, self.toolbox)
            self.api.start(container_id)
        except docker.errors.APIError:
            self.remove(self.api, container_id)
            raise
        return container_id


def _watch(probe: _Probe, container_id: str, log: HealthLog, since_ns: int, need: Callable[[], int],
           deadline: float, after_main: int = 0) -> tuple[str, str]:
    """Collect results until one passes, or Docker says unhealthy after `need()` results (and `after_main` more
    once the main run settled), or the deadline."""
    runs_at_settle: int | None = None
    while True:
        state = probe.api.inspect_container(container_id)["State"]
        log.add(state)
        runs, passes = log.runs(since_ns), log.passes(since_ns)
        if passes:
            return "passed-without-app", f"{passes} of {runs} results passed"
        if not state.get("Running"):
            return "not-judged", f"the waiting container ended ({state.get('Status')})"
        if runs_at_settle is None and (probe.main.settled.is_set() or not after_main):
            runs_at_settle = runs
        settled = runs_at_settle is not None and runs - runs_at_settle >= after_main
        if log.status == "unhealthy" and settled and runs >= need():
            return "failed-as-expected", f"unhealthy, {runs} of {runs} results failed"
        if time.monotonic() > deadline:
            return "not-judged", (f"after {runs} results the healthcheck was still '{log.status}', not unhealthy "
                                  f"after {need()} failures")
        time.sleep(POLL_S)


def _never_started(probe: _Probe) -> ProbeWay:
    """The app never runs: the image's test must fail, however many times it is asked."""
    container_id: str | None = None
    started = time.monotonic()
    try:
        container_id = probe.start(0.0, NEVER_STARTED_INTERVAL_S)
        log = HealthLog()

        def need() -> int:
            return max(probe.retries, probe.main.runs_to_healthy or 0) + EXTRA_RUNS

        deadline = started + probe.limits.health_timeout_s + probe.limits.probe_timeout_s
        status, detail = _watch(probe, container_id, log, 0, need, deadline, AFTER_MAIN_RUNS)
        return ProbeWay("never-started", status, f"{detail}{_last(log)}", log.runs(), log.passes())
    except docker.errors.APIError as exc:
        return ProbeWay("never-started", "not-judged", f"the waiting container could not run ({_why(exc)})")
    finally:
        probe.remove(probe.api, container_id)


def _start_app(probe: _Probe, container_id: str) -> str | None:
    """Start the image's entrypoint + cmd with `docker exec` and wait for healthy; a reason when it is not."""
    argv = [*(probe.facts.entrypoint or ()), *(probe.facts.cmd or ())]
    if not argv:
        return "the image has no ENTRYPOINT or CMD to start"
    exec_id = probe.api.exec_create(container_id, argv, stdout=False, stderr=False)["Id"]
    probe.api.exec_start(exec_id, detach=True)
    deadline = time.monotonic() + probe.limits.health_timeout_s
    while time.monotonic() < deadline:
        state = probe.api.inspect_container(container_id)["State"]
        status = (state.get("Health") or {}).get("Status")
        if status == "healthy":
            return None
        if not state.get("Running"):
            return "the container ended"
        time.sleep(POLL_S)
    return f"it did not turn healthy within {probe.limits.health_timeout_s:.0f} s"


def _kill_app(probe: _Probe, container_id: str) -> int:
    """SIGKILL every process but the waiter (PID 1), as root; the engine's clock when it was done."""
    kill_id = probe.api.exec_create(container_id, list(probe.toolbox.command("kill", "-9", "-1")), user="0")["Id"]
    probe.api.exec_start(kill_id)
    return _stamp_ns(str(probe.api.info().get("SystemTime", ""))) or time.time_ns()


def _app_killed(probe: _Probe) -> ProbeWay:
    """The app started, turned healthy and was killed: the healthcheck must turn unhealthy and stay so."""
    container_id: str | None = None
    try:
        container_id = probe.start(probe.limits.health_timeout_s)
        problem = _start_app(probe, container_id)
        if problem is not None:
            return ProbeWay("app-killed", "not-judged", f"the app, started by the grader, was not healthy: {problem}")
        killed_ns = _kill_app(probe, container_id)
        log = HealthLog()
        status, detail = _watch(probe, container_id, log, killed_ns, lambda: probe.retries + EXTRA_RUNS,
                                time.monotonic() + probe.limits.probe_timeout_s)
        return ProbeWay("app-killed", status, f"{detail}{_last(log)}", log.runs(killed_ns), log.passes(killed_ns))
    except docker.errors.APIError as exc:
        return ProbeWay("app-killed", "not-judged", f"the probe container could not run ({_why(exc)})")
    finally:
        probe.remove(probe.api, container_id)


def _why(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc).strip()[:300]


def _last(log: HealthLog) -> str:
    shown = [line for line in log.outputs if line]
    return f"; last output: {shown[-1]}" if shown else ""


def combine_ways(ways: tuple[ProbeWay, ...], waiter: tuple[str, ...]) -> ProbeFacts:
    """One verdict: any pass without the app fails it; it holds only when every way failed as expected."""
    summary = "; ".join(f"{way.way}: {way.detail}" for way in ways)
    if any(way.status == "passed-without-app" for way in ways):
        return ProbeFacts("passed-without-app", summary, waiter, ways)
    if ways and all(way.status == "failed-as-expected" for way in ways):
        return ProbeFacts("failed-as-expected", summary, waiter, ways)
    return ProbeFacts("skipped", summary, waiter, ways)  # the contract's word for "no verdict"; the check fails


def probe_healthcheck(api: docker.APIClient, facts: ImageFacts, limits: RunLimits, main: MainRunHealth,
                      create: CreateContainer, remove: Callable[[docker.APIClient, str | None], None]) -> ProbeFacts:
    """Run both ways at once. "skipped" (the JSON contract's word) means no verdict: no healthcheck, or the grader
    could not judge (the check then fails and says why)."""
    hc = facts.healthcheck
    if hc is None or hc.disabled:
        return ProbeFacts("skipped", "the image has no HEALTHCHECK")
    try:
        toolbox = Toolbox()
    except ToolboxMissing as exc:
        return ProbeFacts("skipped", str(exc))
    probe = _Probe(api, facts, toolbox, limits, main, create, remove)
    results: dict[str, ProbeWay] = {}
    threads = [threading.Thread(target=lambda f=way: results.__setitem__(f.__name__, f(probe)), daemon=True)
               for way in (_never_started, _app_killed)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * limits.health_timeout_s + limits.probe_timeout_s + 30)
    ways = tuple(results[name] if name in results else ProbeWay(name.strip("_").replace("_", "-"), "not-judged",
                                                                  "the probe did not finish in time")
                 for name in ("_never_started", "_app_killed"))
    return combine_ways(ways, probe.waiter())


class ProbeThread:
    """probe_healthcheck in a thread beside the main run; `result()` waits for it, bounded."""

    def __init__(self, api: docker.APIClient, facts: ImageFacts, limits: RunLimits, main: MainRunHealth,
                 create: CreateContainer, remove: Callable[[docker.APIClient, str | None], None]) -> None:
        self._limits, self._api, self._remove = limits, api, remove
        self._result: list[ProbeFacts] = []
        self._made: list[str] = []

        def create_tracked(*args: Any, **options: Any) -> str:
            container_id = create(*args, **options)
            self._made.append(container_id)
            return container_id

        self._thread = threading.Thread(
            target=lambda: self._result.append(probe_healthcheck(api, facts, limits, main, create_tracked, remove)),
            daemon=True)
        self._thread.start()

    def abandon(self) -> None:
        """Remove every container the probes made, whatever they are doing: a run interrupted by Ctrl-C ends the
        process before the probes' own clean-up would (they are daemon threads). Removing one already gone is a
        no-op, so this is safe after a finished probe too."""
        for container_id in list(self._made):
            self._remove(self._api, container_id)

    def result(self) -> ProbeFacts | None:
        self._thread.join(timeout=2 * self._limits.health_timeout_s + self._limits.probe_timeout_s + 60)
        return self._result[0] if self._result else None
