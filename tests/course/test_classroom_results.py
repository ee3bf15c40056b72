"""GitHub Classroom's reporter format from our JSON reports: pure, no Docker."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from pathlib import Path

from grader.cli.workshop import main
from grader.course.autograde import graded_cells
from grader.course.classroom import classroom_results, markdown_summary
from grader.settings import load_settings

FULL = sum(cell.points for cell in graded_cells(load_settings("fastapi")))


def check(check_id: str, status: str, points: float, max_points: float) -> dict[str, object]:
    return {"id": check_id, "status": status, "points": points, "max_points": max_points,
            "message": f"{check_id} measured", "hint": "do this next" if status != "pass" else None}


def graded(*checks: dict[str, object]) -> dict[str, object]:
    return {"exercise": "fastapi", "error": None, "checks": list(checks)}


def test_one_test_per_scored_check_with_points_and_the_full_maximum() -> None:
    report = graded(check("builds", "pass", 5, 5), check("size", "fail", 10, 20), check("non-root", "fail", 0, 10),
                    check("beats-article", "pass", 5, 5), check("lint", "fail", 0, 0))
    results = classroom_results([report])
    tests = {t["name"]: t for t in results["tests"]}
    assert results["version"] == 1 and results["max_score"] == FULL and results["status"] == "fail"
    assert tests["fastapi: builds"]["score"] == 5 and tests["fastapi: builds"]["status"] == "pass"
    assert tests["fastapi: size"]["score"] == 10 and "do this next" in tests["fastapi: size"]["message"]
    assert "fastapi: beats-article" not in tests and "fastapi: lint" not in tests
    assert sum(t["score"] for t in results["tests"]) <= results["max_score"]


def test_a_failed_build_is_zero_of_the_full_maximum() -> None:
    report = {"exercise": "fastapi", "checks": [],
              "error": {"kind": "build-failed", "message": "The build failed at line 2."}}
    results = classroom_results([report])
    assert results["status"] == "error" and results["max_score"] == FULL
    assert all(t["score"] == 0 and t["status"] == "error" and "line 2" in t["message"] for t in results["tests"])


def test_cli_writes_base64_for_the_reporter_and_markdown_for_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "grade.json"
    path.write_text(json.dumps([graded(check("builds", "pass", 5, 5))]))
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["classroom-results", str(path)]) == 0
    decoded = json.loads(base64.b64decode(out.getvalue().strip()))
    assert decoded["tests"][0]["name"] == "fastapi: builds"
    assert "| fastapi: builds | pass | 5 |" in markdown_summary(decoded)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["classroom-results", str(tmp_path / "missing.json")]) == 2
    assert "--format json" in err.getvalue()


def test_workflow_runs_the_documented_commands() -> None:
    workflow = (Path(__file__).resolve().parents[2] / ".github" / "workflows" / "grade.yml").read_text()
    assert "workshop grade --all --format junit" in workflow
    assert "workshop classroom-results grade.json" in workflow
    assert "autograding-grading-reporter" in workflow and "GRADE_RESULTS" in workflow


def test_a_real_json_report_becomes_classroom_results(tmp_path: Path, docker_client: object) -> None:
    """The workflow's chain on the real engine: `workshop grade --format json` then `workshop classroom-results`."""
    from .helpers import write_submission

    folder = write_submission(tmp_path / "learner", "partial")
    report = tmp_path / "grade.json"
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["grade", "fastapi", "--dockerfile", str(folder / "Dockerfile"), "--format", "json",
                     "--output", str(report)]) == 1
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["classroom-results", str(report), "--format", "json"]) == 0
    results = json.loads(out.getvalue())
    scores = {t["name"]: t["score"] for t in results["tests"]}
    assert results["status"] == "fail" and results["max_score"] == FULL
    assert scores["fastapi: non-root"] == 0 and sum(scores.values()) == FULL - 10
