"""Checks about the running container: healthcheck, healthcheck-meaningful."""

from __future__ import annotations

from grader.checks.lessons import lesson
from grader.model import ImageFacts, RunFacts
from grader.registry import Evidence, Outcome, check

__all__ = ["describe_run_failure", "healthcheck", "healthcheck_meaningful", "no_healthcheck_hint"]

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


@check("healthcheck-meaningful", title="Healthcheck fails when the app is down", points=5,
       lesson=lesson("principles", "Healthchecks"), needs=("image", "run"))
def healthcheck_meaningful(ev: Evidence) -> Outcome:
    """The image's healthcheck fails in a container of the same image whose app is not running.

    The grader replaces the entrypoint with something that only waits (sleep, node or python, whichever the
    image has), so `HEALTHCHECK CMD true` cannot pass. Skipped, with the reason, when nothing can wait.
    """
    assert ev.image is not None and ev.run is not None
    hc = ev.image.healthcheck
    if hc is None or hc.disabled:
        return Outcome(False, "no HEALTHCHECK", "fails without the app", "There is no healthcheck to probe.",
                       hint=no_healthcheck_hint(ev.image))
    probe = ev.run.probe
    if probe is None or probe.status == "skipped":
        return Outcome(False, "not probed", "fails without the app",
                       f"Skipped: {probe.detail if probe else 'the probe did not run'}.", skipped=True)
    if probe.status == "passed-without-app":
        return Outcome(False, "passes without the app", "fails without the app",
                       f"The healthcheck passed while the app was not running ({probe.detail}).",
                       hint="Make the healthcheck request the app's /health endpoint and exit non-zero on failure.")
    if ev.run.health_status != "healthy":
        return Outcome(False, "fails with and without the app", "fails without the app",
                       "The healthcheck fails without the app, but it never passed with it either.",
                       hint="Fix the healthcheck check first; a healthcheck that always fails says nothing.")
    return Outcome(True, "fails without the app", "fails without the app",
                   "The healthcheck fails when the app is not running, and passes when it is.")
