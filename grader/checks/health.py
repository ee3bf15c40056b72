"""Checks about the running container: healthcheck, healthcheck-meaningful."""

from __future__ import annotations

from grader.checks.lessons import lesson
from grader.model import ImageFacts, ProbeFacts, RunFacts
from grader.registry import Evidence, Outcome, check

__all__ = [
    "describe_run_failure",
    "healthcheck",
    "healthcheck_meaningful",
    "no_healthcheck_hint",
    "probe_measured",
]

_NODE_EXAMPLE = ("`HEALTHCHECK CMD [\"node\", \"-e\", \"fetch('http://127.0.0.1:3000/health')"
                 ".then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\"]`")
_PYTHON_EXAMPLE = ("`HEALTHCHECK CMD [\"python\", \"-c\", \"import urllib.request; "
                   "urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)\"]`")


def no_healthcheck_hint(image: ImageFacts | None) -> str:
    """The example uses a runtime the image has (slim images have no curl)."""
    has_node = image is not None and any(f"{d}/node" in image.merged for d in ("usr/local/bin", "usr/bin"))
    example = _NODE_EXAMPLE if has_node else _PYTHON_EXAMPLE
    return f"Add a HEALTHCHECK that asks the app itself on 127.0.0.1 with a tool the image has, e.g. {example}."


def _tail(lines: tuple[str, ...], count: int = 3) -> str:
    shown = [line for line in lines if line.strip()][-count:]
    return (" Last output: " + " | ".join(shown)) if shown else ""


def describe_run_failure(run: RunFacts) -> str:
    """One sentence on why a container did not turn healthy, with the last lines it printed."""
    if not run.started:
        return f"The container could not start: {run.start_error}."
    if run.exit_code is not None:
        return f"The container exited with code {run.exit_code} before turning healthy.{_tail(run.logs_tail)}"
    if run.health_status == "unhealthy":
        return f"The container turned unhealthy.{_tail(run.health_log)}"
    return f"The container was still '{run.health_status}' when the wait ended.{_tail(run.health_log or run.logs_tail)}"


@check("healthcheck", title="HEALTHCHECK defined and healthy", points=10,
       lesson=lesson("principles", "Healthchecks"), needs=("image", "run"))
def healthcheck(ev: Evidence) -> Outcome:
    """A HEALTHCHECK is defined and the container turns healthy with networking disabled.

    The grader shortens the interval and start period so a healthy app is seen within a second or two.
    """
    assert ev.image is not None and ev.run is not None
    hc = ev.image.healthcheck
    if hc is None or hc.disabled:
        return Outcome(False, "no HEALTHCHECK", "healthy", "The image has no HEALTHCHECK.",
                       hint=no_healthcheck_hint(ev.image))
    run = ev.run
    if run.health_status == "healthy":
        return Outcome(True, f"healthy after {run.health_seconds or 0:.1f} s", "healthy",
                       f"Turned healthy after {run.health_seconds or 0:.1f} s.")
    return Outcome(False, run.health_status or "not started", "healthy", describe_run_failure(run),
                   hint="Run the image yourself (`docker run --network none IMAGE`) and read its output; the "
                        "healthcheck must use 127.0.0.1 and a tool present in the final image.")


_WAY_NAMES = {"never-started": "when the app never started", "app-killed": "after the app was killed"}


def probe_measured(probe: ProbeFacts) -> dict[str, str]:
    """Per way: its verdict and how many of the results seen without the app passed."""
    return {way.way: f"{way.status}, {way.passes}/{way.runs} passed" for way in probe.ways}


@check("healthcheck-meaningful", title="Healthcheck fails when the app is down", points=5,
       lesson=lesson("principles", "Healthchecks"), needs=("image", "run"))
def healthcheck_meaningful(ev: Evidence) -> Outcome:
    """The image's healthcheck fails, and keeps failing, in containers of the same image without the app.

    Two ways, beside the main run: the app never started (the entrypoint is the grader's own waiter, a static
    busybox it brings), and the app started, turned healthy and was killed. Each uses the image's own retries
    and must turn unhealthy as Docker counts it, with not one passing result while the app is down, over at least
    as many results as the app needed to turn healthy. A healthcheck with state (a counter, a file the app left)
    or one that tests only what its CMD set up fails here. Never skipped: when the grader cannot judge, it fails
    and says why.
    """
    assert ev.image is not None and ev.run is not None
    hc = ev.image.healthcheck
    threshold = "every result fails without the app"
    if hc is None or hc.disabled:
        return Outcome(False, "no HEALTHCHECK", threshold, "There is no healthcheck to probe.",
                       hint=no_healthcheck_hint(ev.image))
    probe = ev.run.probe
    measured = probe_measured(probe) if probe and probe.ways else "not probed"
    if probe is not None and probe.status == "passed-without-app":
        ways = [_WAY_NAMES.get(way.way, way.way) for way in probe.ways if way.status == "passed-without-app"]
        return Outcome(False, measured, threshold, f"The healthcheck passed {' and '.join(ways)} ({probe.detail}).",
                       hint="Make the healthcheck ask the app itself (its /health on 127.0.0.1) every time, with no "
                            "state kept between runs, and exit non-zero when it does not answer.")
    if ev.run.health_status != "healthy":
        return Outcome(False, measured, threshold,
                       "The healthcheck never passed with the app running, so failing without it says nothing.",
                       hint="Fix the healthcheck check first; a healthcheck that always fails says nothing.")
    if probe is None or probe.status != "failed-as-expected":
        return Outcome(False, measured, threshold,
                       f"The grader could not judge the healthcheck: {probe.detail if probe else 'no probe ran'}.",
                       hint="If the message names something the grader lacks, fix that and regrade (`workshop "
                            "doctor`); otherwise check that the image's ENTRYPOINT/CMD starts the app by itself.")
    return Outcome(True, probe_measured(probe), threshold,
                   "The healthcheck fails, and keeps failing, when the app never started and after it was killed; "
                   "it passes when the app runs.")
