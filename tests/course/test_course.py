"""`workshop course init` and the helpers the notebooks call: no Docker needed, milliseconds each."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from grader.cli.workshop import main
from grader.course.autograde import (
    HIDDEN_CHECKS,
    CheckNotPassed,
    CourseError,
    expect,
    graded_cells,
    init_course,
    nbgrader_config,
)
from grader.errors import BuildFailed
from grader.exercises import starter_dockerfile
from grader.model import CheckResult, Report, Status
from grader.paths import APPS_DIR, EXERCISES
from grader.registry import all_checks
from grader.settings import load_settings


def result(check_id: str, status: Status, points: float, max_points: float = 10,
           hint: str | None = None) -> CheckResult:
    return CheckResult(id=check_id, title=check_id, status=status, points=points, max_points=max_points,
                       measured="1.2 GB", threshold="200 MB", message=f"{check_id} measured 1.2 GB.", hint=hint,
                       lesson="lessons/02-multi-stage.ipynb#Result")


def report(*checks: CheckResult) -> Report:
    return Report(exercise="fastapi", checks=checks)


def test_course_init_writes_config_and_three_assignments(tmp_path: Path) -> None:
    folders = init_course(tmp_path)
    assert [f.name for f in folders] == list(EXERCISES)
    for exercise in EXERCISES:
        folder = tmp_path / "source" / exercise
        assert (folder / "Dockerfile").read_bytes() == starter_dockerfile(exercise).read_bytes()
        assert (folder / f"{exercise}.ipynb").is_file() and (folder / "grading.toml").is_file()
        app_files = sorted(p.relative_to(APPS_DIR / exercise) for p in (APPS_DIR / exercise).rglob("*")
                           if p.is_file() and "node_modules" not in p.parts and "__pycache__" not in p.parts)
        assert app_files and all((folder / "app" / rel).is_file() for rel in app_files)
    from traitlets.config.loader import PyFileConfigLoader

    c = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert c.Autograde.exclude_overwriting == {e: ["Dockerfile", ".dockerignore"] for e in EXERCISES}
    assert c.Execute.timeout >= 1800 and c.ExecutePreprocessor.timeout >= 1800
    assert c.CourseDirectory.course_id == "docker-diet-workshop"


def test_notebook_cells_map_points_to_check_ids(tmp_path: Path) -> None:
    init_course(tmp_path, ("node-api",))
    notebook = json.loads((tmp_path / "source" / "node-api" / "node-api.ipynb").read_text())
    graded = [c for c in notebook["cells"] if c["metadata"]["nbgrader"]["grade"]]
    settings = load_settings("node-api")
    scored = {s.id: settings.points.get(s.id, s.points) for s in all_checks() if not s.bonus}
    scored = {k: v for k, v in scored.items() if v > 0}
    assert {c["metadata"]["nbgrader"]["grade_id"] for c in graded} == {f"check-{k}" for k in scored}
    for cell in graded:
        check_id = cell["metadata"]["nbgrader"]["grade_id"].removeprefix("check-")
        assert cell["metadata"]["nbgrader"]["points"] == scored[check_id]
        expected = f"grader.course.autograde.expect_check('node-api', {check_id!r}, points={scored[check_id]:g})"
        assert expected in "".join(cell["source"])
        assert ("### BEGIN HIDDEN TESTS" in "".join(cell["source"])) == (check_id in HIDDEN_CHECKS)
    grading = [c for c in notebook["cells"] if "grade_submission(" in "".join(c["source"])]
    assert len(grading) == 1, "one grade() per notebook"
    assert all(c["metadata"]["nbgrader"]["locked"] for c in notebook["cells"])


def test_test_cells_leave_out_bonus_and_advisory_checks() -> None:
    ids = {cell.check_id for cell in graded_cells(load_settings("fastapi"))}
    assert "beats-article" not in ids and "lint" not in ids and "builds" in ids


def test_course_init_refuses_an_existing_course_and_names_the_fix(tmp_path: Path) -> None:
    init_course(tmp_path, ("fastapi",))
    with pytest.raises(CourseError, match="--force"):
        init_course(tmp_path, ("fastapi",))
    (tmp_path / "gradebook.db").write_text("kept")
    init_course(tmp_path, ("fastapi",), force=True)
    assert (tmp_path / "gradebook.db").read_text() == "kept"


def test_cli_course_init_exit_codes(tmp_path: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["course", "init", str(tmp_path), "--exercise", "fastapi"]) == 0
    assert "nbgrader generate_assignment fastapi" in out.getvalue()
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["course", "init", str(tmp_path), "--exercise", "fastapi"]) == 2
    assert "--force" in err.getvalue()


def test_config_runs_and_names_the_course_for_any_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    from traitlets.config import Config

    config = Config()
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the config sets PATH and PYTHONSAFEPATH for nbgrader
    code = compile(nbgrader_config(("fastapi",), "x"), "nbgrader_config.py", "exec")
    exec(code, {"get_config": lambda: config})  # noqa: S102 - our own generated config, as nbgrader runs it
    assert config.CourseDirectory.course_id == "x"
    assert "grader.course.nbgrader_guard.DropForeignCells" in config.Autograde.sanitize_preprocessors
    assert os.environ["PYTHONSAFEPATH"] == "1"


def test_expect_gives_the_cells_points_when_the_check_passed() -> None:
    assert expect(report(result("size", Status.PASS, 20, 20)), "size", points=20) == 20


def test_expect_scales_partial_credit_to_the_cells_points() -> None:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        earned = expect(report(result("size", Status.FAIL, 5, 20, hint="Use a slim base.")), "size", points=10)
    assert earned == 2.5
    assert "Use a slim base." in out.getvalue()


def test_expect_raises_with_measurement_and_hint_when_nothing_was_earned() -> None:
    with pytest.raises(CheckNotPassed) as caught:
        expect(report(result("non-root", Status.FAIL, 0, hint="Add USER app.")), "non-root", points=10)
    assert "measured 1.2 GB" in str(caught.value) and "Add USER app." in str(caught.value)
    assert isinstance(caught.value, AssertionError)


def test_expect_raises_for_a_skipped_check() -> None:
    with pytest.raises(CheckNotPassed, match="skipped"):
        expect(report(result("size", Status.SKIPPED, 0)), "size", points=20)


def test_expect_says_why_when_the_image_could_not_be_graded() -> None:
    failed = Report(exercise="fastapi", checks=(), error=BuildFailed("The build failed at line 2."))
    with pytest.raises(CheckNotPassed, match="could not grade.*line 2"):
        expect(failed, "size", points=20)


def test_expect_writes_nothing_to_stderr() -> None:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        expect(report(result("size", Status.FAIL, 5, 20)), "size", points=20)
        with pytest.raises(CheckNotPassed):
            expect(report(result("size", Status.FAIL, 0, 20)), "size", points=20)
    assert err.getvalue() == ""


def test_grade_submission_without_an_engine_says_so_on_stdout_and_tries_again_next_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.course import autograde as course

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        first = course.grade_submission("fastapi", tmp_path)
    assert first.error is not None and first.error.kind == "no-engine"
    assert "could not grade (no-engine)" in out.getvalue() and err.getvalue() == ""
    assert not any(str(tmp_path.resolve()) in key for key in course._REPORTS), "not cached: the next run retries"
