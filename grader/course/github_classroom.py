"""GitHub Classroom's side of grading: JSON reports as its autograding reporter reads them, and a Markdown summary.

Kept apart from grade-class (classroom.py re-exports both functions): it only reads finished reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grader.course.autograde import graded_cells

__all__ = ["classroom_results", "markdown_summary"]


def classroom_results(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """JSON reports (`workshop grade --all --format json`) as GitHub Classroom's autograding reporter reads them.

    The reporter (classroom-resources/autograding-grading-reporter) takes, per runner, base64 of
    {"version": 1, "status": pass|fail|error, "max_score": N, "tests": [{"name", "status", "score", "message"}]};
    the total is the sum of the tests' scores. One test per scored check of each exercise; the maximum is the
    exercise's full maximum even when the build failed (a failed build is 0 of 100, not 0 of 5). Bonus points
    are left out, so the total never exceeds the maximum."""
    from grader.settings import load_settings

    tests: list[dict[str, Any]] = []
    max_score = 0.0
    for report in reports:
        exercise = report["exercise"]
        checks = {check["id"]: check for check in report.get("checks", [])}
        error = report.get("error")
        for cell in graded_cells(load_settings(exercise)):
            max_score += cell.points
            check = checks.get(cell.check_id)
            if check is None:
                status, score = "error", 0.0
                message = f"could not grade ({error['kind']}): {error['message']}" if error else "not graded"
            else:
                status = "pass" if check["status"] == "pass" else "error" if check["status"] == "error" else "fail"
                score = float(check["points"]) * cell.points / check["max_points"] if check["max_points"] else 0.0
                message = check["message"] + (f" Next: {check['hint']}" if check.get("hint") and status != "pass"
                                              else "")
            tests.append({"name": f"{exercise}: {cell.check_id}", "status": status, "score": round(score, 2),
                          "message": message, "test_code": f"workshop grade {exercise}", "filename": "",
                          "line_no": 0, "execution_time": "0s"})
    overall = ("error" if any(r.get("error") for r in reports)
               else "pass" if all(t["status"] == "pass" for t in tests) else "fail")
    return {"version": 1, "status": overall, "max_score": max_score, "tests": tests}


def markdown_summary(results: dict[str, Any]) -> str:
    """Points per check as a Markdown table (for $GITHUB_STEP_SUMMARY)."""
    total = sum(test["score"] for test in results["tests"])
    lines = [f"### Docker Diet Workshop: {total:g} / {results['max_score']:g} points", "",
             "| check | status | points | details |", "| --- | --- | --- | --- |"]
    for test in results["tests"]:
        details = test["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {test['name']} | {test['status']} | {test['score']:g} | {details} |")
    return "\n".join(lines) + "\n"
