"""Gradescope's autograder `results.json` (schema: gradescope-results.schema.json beside this file).

A Gradescope autograder's `run_autograder` writes /autograder/results/results.json; Gradescope shows each test with
its score, and the top-level `score` overrides the sum. One test per check: a bonus check has max_score 0 (its points
are extra credit), an advisory one scores 0 of 0 with a passed/failed status, a skipped one says why. A report that
could not be graded scores 0 and says why in `output` (Gradescope has no "not gradable" state). Every string is
declared `text` (Gradescope's default for the top-level output renders HTML), so a build log cannot inject markup.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grader.model import CheckResult, Report, Status
from grader.reporters.plain import check_detail, comparison_heading, comparison_rows, error_text, score_line, shorten

__all__ = ["SCHEMA_NAME", "render", "render_all", "to_dict"]

SCHEMA_NAME = "gradescope-results"


def render(report: Report) -> str:
    return render_all([report])


def render_all(reports: Sequence[Report]) -> str:
    """One results.json for one or more exercises (`grade --all`): every check of each, the scores summed."""
    return json.dumps(to_dict(reports), indent=2)


def to_dict(reports: Sequence[Report]) -> dict[str, Any]:
    several = len(reports) > 1
    return {
        "score": round(sum(_score(report) for report in reports), 2),
        "execution_time": round(sum(sum(report.timings.values()) for report in reports)),
        "output": "\n\n".join(_output(report) for report in reports),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",  # the grader's own progress lines are for the instructor
        "extra_data": {
            "exercises": [report.exercise for report in reports],
            "max_score": round(sum(report.max_score for report in reports), 2),
            "could_not_grade": [report.exercise for report in reports if report.error is not None],
        },
        "tests": [_test(report, check, several) for report in reports for check in report.checks],
    }


def _score(report: Report) -> float:
    """The report's score; 0 when it could not be graded (whatever its checks hold)."""
    return report.score if report.error is None else 0.0


def _output(report: Report) -> str:
    lines = [score_line(report)]
    if report.error is not None:
        lines += ["", error_text(report)]
    rows = comparison_rows(report)
    if rows:
        title, first, second = comparison_heading(report)
        lines += ["", f"{title} ({first} / {second}):"]
        lines += [f"  {what}: {article or '-'} / {shorten(you, 200) or '-'}" for what, article, you in rows]
    return "\n".join(lines)


def _test(report: Report, check: CheckResult, several: bool) -> dict[str, Any]:
    name = f"{report.exercise}: {check.id}" if several else check.id
    test: dict[str, Any] = {
        "name": f"{name} ({check.title})" + (" [bonus]" if check.bonus else ""),
        "score": check.points if report.error is None else 0.0,
        "max_score": check.max_points if check.scored and check.status is not Status.SKIPPED else 0.0,
        "output": check_detail(check),
        "output_format": "text",
        "tags": [report.exercise, check.id],
        "visibility": "visible",
    }
    if check.status is Status.SKIPPED:
        test["output"] = "Skipped: " + test["output"]
    else:
        test["status"] = "passed" if check.status is Status.PASS else "failed"
    return test
