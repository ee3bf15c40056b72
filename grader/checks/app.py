"""The check that the image runs the app: app-works.

The grader's own requests (apps/<app>/probe.toml, sent by grader/engine/app_probe.py from a container of the
grader's own) are judged over the recorded answers by grader/checks/verdicts.py; size is gated on the same verdict.
"""

from __future__ import annotations

from grader.app_contract import load_contract
from grader.checks.lessons import lesson
from grader.checks.verdicts import describe_contract, judge
from grader.paths import APPS_DIR, EXERCISES
from grader.registry import Evidence, Outcome, check

__all__ = ["app_works"]


def _contracts_text() -> str:
    found = [load_contract(APPS_DIR / app) for app in EXERCISES]
    return "\n\n".join(describe_contract(c) for c in found if c is not None)


@check("app-works", title="The app answers a user's requests", points=15,
       lesson=lesson("beyond", "Healthchecks that test something"), needs=("run",), details=_contracts_text)
def app_works(ev: Evidence) -> Outcome:
    """The grader sends the requests a user of the app would send and checks the answers' content, not only
    their status: for node-api, create a user, log in with the right and a wrong password, list users (bcrypt's
    compiled addon at work); for fastapi, create a note, read it back, /health shows psycopg2 and libpq loaded,
    /health/db reaches a real PostgreSQL; for combined, / serves the built page, every script and stylesheet it
    references is served, and the tasks API round-trips a task. The requests come from a container of the
    grader's own in the app's network namespace, not from anything in the image. Like health, it gates size:
    an image that does not run the app earns no size points. The contract lives in apps/<app>/probe.toml."""
    assert ev.run is not None
    probe = ev.run.app_probe
    if probe is None or probe.status == "not-run":
        return Outcome(False, "not probed", "every request answered as expected",
                       f"Not probed: {probe.detail if probe else 'the grader sent no requests'}.",
                       hint="Make the container start and turn healthy first (see the healthcheck check); the "
                            "grader then sends a user's requests.")
    if probe.status == "no-contract" or probe.contract is None:
        return Outcome(False, "no contract", "every request answered as expected",
                       f"Skipped: {probe.detail}.", skipped=True)
    verdicts = judge(probe)
    counted = [v for v in verdicts if v.counted]
    measured = {v.name: ("pass" if v.passed else "fail") if v.counted else "not counted" for v in verdicts}
    threshold = f"all {len(counted)} requests"
    note = f" Note: {probe.database_note}." if probe.database_note else ""
    failed = next((v for v in counted if not v.passed), None)
    if failed is None:
        return Outcome(True, measured, threshold,
                       f"All {len(counted)} requests got what a user expects ({', '.join(v.name for v in counted)})."
                       + note)
    port = probe.contract.port
    if failed.seen.startswith("no answer"):
        advice = (f"Nothing answered on port {port} inside the container: the app itself must run there and listen "
                  f"on port {port}, as the exercise says.")
    else:
        advice = ("Copy the whole built app (and what it loads at run time) into the final stage, then run the "
                  f"image and send the request yourself (port {port}).")
    return Outcome(False, measured, threshold,
                   f"`{failed.name}` ({failed.request}) answered {failed.seen}.{note}",
                   hint=f"`{failed.name}` expected {failed.expected}; it saw {failed.seen}. {advice}")
