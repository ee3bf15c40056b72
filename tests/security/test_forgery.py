"""Scores that cannot be forged, on the real engine and real nbgrader.

- A notebook with extra cells (one redefines `expect`, one patches grader.course.autograde, one forges an nbgrader id)
  and a submitted ipykernel_launcher.py / grader.py that patch the grader scores exactly what the same Dockerfile
  scores without them: none of that code runs at autograde.
- `FROM` another learner's graded image is refused in every mode; in class mode any image outside the allow
  list is refused too, and the message lists what is allowed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest

from grader.api import GradeConfig, grade
from grader.course.autograde import COURSE_ID, init_course
from grader.exercises import starter_dockerfile
from grader.paths import PROJECT_LABEL, REPO_ROOT

EXERCISE = "fastapi"
FORGERY_CELL = """\
import grader.course.autograde as _c
_c.expect = lambda report, check_id, points: float(points)
_c.expect_check = lambda exercise, check_id, points: float(points)
expect = _c.expect
print("FORGED-CELL-RAN")
"""
HIJACK = """\
import os, runpy, sys
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
import grader.course.autograde as _c
_c.expect = lambda report, check_id, points: float(points)
_c.expect_check = lambda exercise, check_id, points: float(points)
open(os.path.join(os.environ.get("HOME", "/tmp"), ".forgery-marker"), "w").write("ran")
del sys.modules["ipykernel_launcher"]
runpy.run_module("ipykernel_launcher", run_name="__main__")
"""


def _run(cmd: list[str], cwd: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT),
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3000, check=False)
    assert result.returncode == 0, \
        f"{cmd} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def _attack(folder: Path) -> None:
    """Extra cells after the grading cell, a forged-id cell first, and Python files that shadow modules."""
    path = folder / f"{EXERCISE}.ipynb"
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    grading = next(i for i, c in enumerate(cells) if "grade_submission(" in "".join(c["source"]))
    extra = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": FORGERY_CELL}
    forged = {**extra, "metadata": {"nbgrader": {"grade_id": "check-size", "locked": False, "solution": True,
                                                 "grade": False, "schema_version": 3}}}
    unknown = {**extra, "metadata": {"nbgrader": {"grade_id": "made-up", "locked": False, "solution": True,
                                                  "grade": False, "schema_version": 3}}}
    cells.insert(grading + 1, extra)
    cells.insert(0, forged)
    cells.append(unknown)
    path.write_text(json.dumps(notebook))
    (folder / "ipykernel_launcher.py").write_text(HIJACK)
    (folder / "grader.py").write_text("raise SystemExit('the learner grader.py was imported')\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> dict[str, float]:
    root = tmp_path_factory.mktemp("forgery-course")
    init_course(root, (EXERCISE,))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    _run([*nbgrader, "generate_assignment", EXERCISE], cwd=root)
    for student in ("honest", "forger"):
        target = root / "submitted" / student / EXERCISE
        shutil.copytree(root / "release" / EXERCISE, target)
        shutil.copyfile(starter_dockerfile(EXERCISE), target / "Dockerfile")
        if student == "forger":
            _attack(target)
        _run([*nbgrader, "autograde", EXERCISE, "--student", student], cwd=root)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        scores = {s: float(gradebook.find_submission(EXERCISE, s).score) for s in ("honest", "forger")}
        scores["max"] = float(gradebook.find_assignment(EXERCISE).max_score)
    autograded = (root / "autograded" / "forger" / EXERCISE / f"{EXERCISE}.ipynb").read_text()
    scores["forged_cell_ran"] = float("FORGED-CELL-RAN" in autograded)
    return scores


def test_extra_cells_and_shadowing_files_do_not_change_the_score(graded: dict[str, float]) -> None:
    print(f"\nnaive Dockerfile: honest {graded['honest']:g}, forger {graded['forger']:g} of {graded['max']:g}")
    assert graded["forger"] == graded["honest"] < graded["max"] * 0.5
    assert graded["forged_cell_ran"] == 0.0


def test_the_generated_config_drops_foreign_cells_and_sets_a_safe_path(tmp_path: Path) -> None:
    init_course(tmp_path, (EXERCISE,))
    config = (tmp_path / "nbgrader_config.py").read_text()
    assert "grader.course.nbgrader_guard.DropForeignCells" in config and 'PYTHONSAFEPATH"] = "1"' in config


def test_test_cells_read_no_notebook_global(tmp_path: Path) -> None:
    init_course(tmp_path, (EXERCISE,))
    notebook = json.loads((tmp_path / "source" / EXERCISE / f"{EXERCISE}.ipynb").read_text())
    tests = [c for c in notebook["cells"] if c["metadata"]["nbgrader"].get("grade")]
    assert tests and all("grader.course.autograde.expect_check(" in "".join(c["source"]) for c in tests)
    assert not any("report" in "".join(c["source"]).split("expect_check(", 1)[1] for c in tests)


# ---------------------------------------------------------------- FROM another learner's image


@pytest.fixture(scope="module")
def victim_image(docker_client: docker.DockerClient) -> str:
    """A tiny image the grader could have made: the grader's label, a predictable class tag."""
    tag = "docker-diet-workshop/fastapi:class-victim-forgery-test"
    docker_client.images.build(fileobj=_dockerfile("FROM python:3.11-slim\nLABEL note=victim\n"), tag=tag,
                               labels={PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "graded"}, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


def _dockerfile(text: str) -> object:
    import io

    return io.BytesIO(text.encode())


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def test_from_a_graded_image_is_refused_in_every_mode(tmp_path: Path, victim_image: str) -> None:
    path = _write(tmp_path, f"FROM {victim_image}\nUSER 1000\n")
    for class_mode in (False, True):
        report = grade(EXERCISE, path, config=GradeConfig(baseline=False, lint=False, class_mode=class_mode))
        assert report.exit_code == 2 and report.error is not None and report.error.kind == "dockerfile"
        assert "Line 1" in report.error.message and report.score == 0


def test_copy_from_a_graded_image_is_refused_outside_class_mode(tmp_path: Path, victim_image: str) -> None:
    path = _write(tmp_path, f"FROM python:3.11-slim\nCOPY --from={victim_image} /etc/hostname /x\n")
    report = grade(EXERCISE, path, config=GradeConfig(baseline=False, lint=False))
    assert report.exit_code == 2 and report.error is not None
    assert "Line 2" in report.error.message and "grader built" in report.error.message


@pytest.mark.parametrize("text, line", [
    ("FROM node:20-slim\n", 1),  # a real base, but not this exercise's
    ("FROM python:3.11-slim AS b\nCOPY --from=debian:bookworm-slim /etc/os-release /x\nFROM busybox\n", 3),
    ("FROM python:3.11-slim\nRUN --mount=type=bind,from=node:20,target=/n true\n", 2),
])
def test_class_mode_allows_only_the_exercises_bases(tmp_path: Path, text: str, line: int) -> None:
    report = grade(EXERCISE, _write(tmp_path, text), config=GradeConfig(baseline=False, lint=False, class_mode=True))
    assert report.exit_code == 2 and report.error is not None
    assert f"Line {line}" in report.error.message and "python:3.11-slim" in report.error.message
    assert report.build is None, "refused before any build"


def test_ci_grades_in_class_mode_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI workflow runs `workshop grade`: with $GITHUB_ACTIONS set, class mode is on without a flag."""
    import contextlib
    import io

    from grader.cli.workshop import main

    path = _write(tmp_path, "FROM node:20-slim\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        code = main(["grade", EXERCISE, "--dockerfile", str(path), "--no-baseline", "--format", "json"])
    assert code == 2 and "is not allowed in this class" in out.getvalue()
    monkeypatch.delenv("GITHUB_ACTIONS")
    monkeypatch.delenv("CI", raising=False)
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        main(["grade", EXERCISE, "--dockerfile", str(path), "--no-baseline", "--format", "json", "--no-class-mode"])
    assert "is not allowed in this class" not in out.getvalue()
