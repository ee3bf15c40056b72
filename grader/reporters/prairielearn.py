"""PrairieLearn's external-grading `results.json` (schema: prairielearn-results.schema.json beside this file).

An externally graded question's entrypoint writes /grade/results/results.json. `score` is a fraction in [0, 1]
(our percent, capped as it is at 100); each check is a test with points and max_points, which the
`<pl-external-grader-results>` element renders. A report that could not be graded (no engine, a Dockerfile that
does not parse or build, a timeout) is `"gradable": false` with the reason in `format_errors`: PrairieLearn then
awards and takes no points and does not count the attempt. With several exercises (`grade --all`) the result is
gradable only when every exercise was, because a fraction over the rest would misstate the grade.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grader.model import CheckResult, Report, Status
from grader.reporters.plain import check_detail, comparison_heading, comparison_rows, error_text, score_line, shorten

__all__ = ["SCHEMA_NAME", "render", "render_all", "to_dict"]

SCHEMA_NAME = "prairielearn-results"


def render(report: Report) -> str:
    return render_all([report])


def render_all(reports: Sequence[Report]) -> str:
    return json.dumps(to_dict(reports), indent=2)


def to_dict(reports: Sequence[Report]) -> dict[str, Any]:
    ungraded = [report for report in reports if report.error is not None]
    message = "; ".join(score_line(report) for report in reports)
    if ungraded:
        return {
            "gradable": False,
            "format_errors": [shorten(score_line(report), 1000) for report in ungraded],
            "message": message,
            "output": "\n\n".join(error_text(report) for report in ungraded),
        }
    earned = sum(report.score for report in reports)
    possible = sum(report.max_score for report in reports)
    several = len(reports) > 1
    return {
        "gradable": True,
        "score": round(min(1.0, earned / possible), 4) if possible else 0.0,
        "message": message,
        "output": "\n\n".join(_output(report) for report in reports),
        "tests": [_test(report, check, several) for report in reports for check in report.checks],
    }


def _output(report: Report) -> str:
    rows = comparison_rows(report)
    if not rows:
        return score_line(report)
    title, first, second = comparison_heading(report)
    return "\n".join([score_line(report), f"{title} ({first} / {second}):",
                      *(f"  {what}: {article or '-'} / {shorten(you, 200) or '-'}" for what, article, you in rows)])


def _test(report: Report, check: CheckResult, several: bool) -> dict[str, Any]:
    verdict = {Status.PASS: "passed", Status.FAIL: "failed", Status.ERROR: "error", Status.SKIPPED: "skipped"}
    counted = check.scored and check.status is not Status.SKIPPED
    return {
        "name": f"{report.exercise}: {check.id}" if several else check.id,
        "description": check.title + (" (bonus)" if check.bonus else "" if check.max_points else " (advisory)"),
        "points": check.points,
        "max_points": check.max_points if counted else 0.0,
        "message": f"{verdict[check.status]}: {shorten(check.message)}",
        "output": check_detail(check),
    }
