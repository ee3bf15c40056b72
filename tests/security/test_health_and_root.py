"""Red team: healthchecks with state, healthchecks that outlive the app, setuid-root children, hidden tools.

Each attack is graded by the real grader on the real engine. The probes must judge every one of them (never
skip), and fail the check the attack aims at; the hostile image keeps every check's points in max_score.
"""

from __future__ import annotations

from dataclasses import replace

import docker
import pytest
from redteam import SMALL, Grade

from grader.model import Report, Status
from grader.registry import all_checks
from grader.settings import load_settings

APP = '["python", "-m", "http.server", "8000", "--bind", "127.0.0.1", "--directory", "/tmp"]'
ASKS_THE_APP = ('["python", "-c", "import urllib.request; '
                'urllib.request.urlopen(\'http://127.0.0.1:8000/\', timeout=2)"]')

#: Fails the first time, passes every time after: state in a file, nothing asks the app.
STATEFUL = f"""FROM python:3.11-slim
USER 1000
HEALTHCHECK --interval=5s CMD ["sh", "-c", "test -f /tmp/once || {{ touch /tmp/once; exit 1; }}"]
CMD {APP}
"""
#: A counter: fails six times (more than retries + 1), then passes; the main run turns healthy on the 7th result.
COUNTER = f"""FROM python:3.11-slim
USER 1000
HEALTHCHECK --interval=5s --retries=2 \\
  CMD ["sh", "-c", "n=$(cat /tmp/n 2>/dev/null || echo 0); echo $((n+1)) > /tmp/n; [ $n -ge 6 ]"]
CMD {APP}
"""
#: Tests a file the app leaves behind: fails while the app never ran, passes once it has run, even after it died.
LEFTOVER = """FROM python:3.11-slim
USER 1000
HEALTHCHECK --interval=5s CMD ["sh", "-c", "test -f /tmp/ready"]
CMD ["sh", "-c", "touch /tmp/ready; exec python -m http.server 8000 --bind 127.0.0.1 --directory /tmp"]
"""
#: USER 1000, but CMD starts a setuid-root copy of sleep that stays running beside the app.
SETUID_CHILD = f"""FROM python:3.11-slim
RUN cp /bin/sleep /usr/local/bin/nap && chmod 4755 /usr/local/bin/nap
USER 1000
HEALTHCHECK --interval=5s CMD {ASKS_THE_APP}
CMD ["sh", "-c", "/usr/local/bin/nap 3600 & exec python -m http.server 8000 --bind 127.0.0.1 --directory /tmp"]
"""
#: No shell, no sleep/node/python, PATH emptied, the entrypoint and tools moved: nothing of the image to borrow.
HOSTILE = """FROM debian:bookworm-slim
RUN mkdir /opt/t && mv /usr/bin/tail /opt/t/waitforever && mv /usr/bin/sleep /opt/t/zz \\
 && mv /usr/bin/true /opt/t/yes
RUN ["/usr/bin/rm", "-f", "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash", "/bin/sh"]
ENV PATH=
USER 1000
HEALTHCHECK --interval=5s CMD ["/opt/t/yes"]
ENTRYPOINT ["/opt/t/waitforever", "-f", "/dev/null"]
"""
#: python:3.11-slim is over SMALL's 100 MB image cap.
ROOMY = replace(SMALL, image_max_bytes=400_000_000)
#: Skipped only for what the configuration chose: grade_text turns lint and the baseline off.
#: What the configuration chose here: lint off, no baseline, and an app (the fixture's tiny one) with no probe.toml.
CHOSEN_SKIPS = {"lint", "reduction", "app-works"}


def _ways(report: Report) -> dict[str, str]:
    measured = report.check("healthcheck-meaningful").measured
    assert isinstance(measured, dict), measured
    return measured


def test_a_healthcheck_that_fails_once_then_passes_fails_healthcheck_meaningful(grade_text: Grade) -> None:
    report = grade_text(STATEFUL, "classic", limits=ROOMY)
    check = report.check("healthcheck-meaningful")
    assert report.check("healthcheck").status is Status.PASS, report.run
    assert check.status is Status.FAIL and check.max_points == 5, (check, report.run)
    assert _ways(report)["never-started"].startswith("passed-without-app"), _ways(report)


def test_a_counter_that_fails_more_times_than_the_retries_then_passes_fails_healthcheck_meaningful(
        grade_text: Grade) -> None:
    report = grade_text(COUNTER, "classic", limits=ROOMY)
    assert report.check("healthcheck").status is Status.PASS, report.run
    assert report.check("healthcheck-meaningful").status is Status.FAIL, report.check("healthcheck-meaningful")
    assert _ways(report)["never-started"].startswith("passed-without-app"), _ways(report)


def test_a_healthcheck_that_passes_after_the_app_is_killed_fails_healthcheck_meaningful(grade_text: Grade) -> None:
    report = grade_text(LEFTOVER, "classic", limits=ROOMY)
    check = report.check("healthcheck-meaningful")
    assert report.check("healthcheck").status is Status.PASS, report.run
    assert check.status is Status.FAIL and "after the app was killed" in check.message, (check, report.run)
    ways = _ways(report)
    assert ways["never-started"].startswith("failed-as-expected"), ways
    assert ways["app-killed"].startswith("passed-without-app"), ways


def test_a_setuid_root_child_of_a_user_1000_image_fails_non_root(grade_text: Grade, backend: str) -> None:
    report = grade_text(SETUID_CHILD, backend, limits=ROOMY)
    check = report.check("non-root")
    assert report.run is not None and report.run.uid == 1000, report.run
    assert check.status is Status.FAIL and "nap" in check.message, (check, report.run)
    assert report.run.setid_root is not None and "usr/local/bin/nap" in report.run.setid_root, report.run
    assert report.check("healthcheck-meaningful").status is Status.PASS, report.check("healthcheck-meaningful")


def test_an_image_that_hides_every_tool_is_still_judged_and_keeps_max_score(grade_text: Grade, backend: str) -> None:
    report = grade_text(HOSTILE, backend, limits=ROOMY)
    assert report.graded, report.error
    check = report.check("healthcheck-meaningful")
    assert report.check("healthcheck").status is Status.PASS, report.run
    assert check.status is Status.FAIL and "passed when the app never started" in check.message, (check, report.run)
    skipped = {c.id: c.message for c in report.checks if c.status is Status.SKIPPED}
    assert set(skipped) <= CHOSEN_SKIPS, skipped
    assert "turned off" in skipped.get("lint", "turned off") and "baseline" in skipped.get("reduction", "baseline")
    assert "no probe.toml" in skipped.get("app-works", "no probe.toml")
    assert report.max_score == sum(c.max_points for c in report.checks if c.scored and c.id not in skipped)
    settings = load_settings("fastapi")
    assert {c.id: c.max_points for c in report.checks} == {
        spec.id: float(settings.points.get(spec.id, spec.points)) for spec in all_checks()}


@pytest.mark.parametrize("text", [HOSTILE, LEFTOVER], ids=["hostile", "leftover"])
def test_the_probes_leave_no_container_behind(grade_text: Grade, text: str, api: docker.APIClient) -> None:
    report = grade_text(text, "classic", limits=ROOMY)
    assert report.build is not None
    left = api.containers(all=True, filters={"ancestor": report.build.image_id})
    assert left == [], left
