"""The real nbgrader flow, end to end, on the real engine: course init, generate_assignment, three students'
submissions, autograde, generate_feedback, export. Builds are cache hits after the first run of the suite."""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from grader.course.autograde import COURSE_ID, init_course, submission_config

from .helpers import EXERCISE, grader_containers, run, write_submission

STUDENTS = ("naive", "partial", "solution")  # the order the gradebook must agree with


@dataclass(frozen=True)
class GradedCourse:
    root: Path
    seconds: dict[str, float]  # autograde time per student


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient,
           nbgrader_cmd: list[str]) -> Iterator[GradedCourse]:
    root = tmp_path_factory.mktemp("course")
    init_course(root)
    run([*nbgrader_cmd, "generate_assignment", EXERCISE], cwd=root)
    for student in STUDENTS:
        target = root / "submitted" / student / EXERCISE
        shutil.copytree(root / "release" / EXERCISE, target)
        write_submission(target, student)
        (target / "app" / "README.md").write_text("a learner's edit to the app: autograde restores the original")
        if student == "solution":  # edits and additions beside the two files: none of them may reach the build
            with (target / "app" / "requirements.txt").open("a") as handle:
                handle.write("this-package-does-not-exist-anywhere==0.0.1\n")
            (target / "app" / "added-by-learner.py").write_text("print('never built')\n")
            (target / "app" / "[bold]x\x1b[31m.txt").write_text("a hostile name\n")
    seconds = {}
    for student in STUDENTS:
        started = time.monotonic()
        run([*nbgrader_cmd, "autograde", EXERCISE, "--student", student], cwd=root)
        seconds[student] = round(time.monotonic() - started, 1)
    run([*nbgrader_cmd, "generate_feedback", EXERCISE], cwd=root)
    run([*nbgrader_cmd, "export"], cwd=root)
    print(f"\nautograde seconds per submission: {seconds}")
    yield GradedCourse(root, seconds)


def notebook(course: GradedCourse, student: str) -> dict:  # type: ignore[type-arg]
    return json.loads((course.root / "autograded" / student / EXERCISE / f"{EXERCISE}.ipynb").read_text())


def test_release_hides_the_hidden_tests_and_keeps_the_grading_cell(course: GradedCourse) -> None:
    released = (course.root / "release" / EXERCISE / f"{EXERCISE}.ipynb").read_text()
    source = (course.root / "source" / EXERCISE / f"{EXERCISE}.ipynb").read_text()
    assert "BEGIN HIDDEN TESTS" in source and "BEGIN HIDDEN TESTS" not in released
    assert "'no-secrets'" not in released and "grade_submission('fastapi')" in released


def test_gradebook_orders_naive_below_partial_below_full_marks(course: GradedCourse) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        scores = {s: gradebook.find_submission(EXERCISE, s).score for s in STUDENTS}
        max_score = gradebook.find_assignment(EXERCISE).max_score
        non_root = gradebook.find_grade("check-non-root", EXERCISE, EXERCISE, "partial").score
        needs_manual = [s for s in STUDENTS if gradebook.find_submission(EXERCISE, s).needs_manual_grade]
    print(f"\ngradebook: {scores} of {max_score}")
    assert scores["naive"] < scores["partial"] < scores["solution"] == max_score
    assert scores["naive"] <= 0.2 * max_score
    assert non_root == 0 and scores["partial"] == max_score - 10
    assert needs_manual == []


def test_learners_files_are_kept_and_the_app_is_restored(course: GradedCourse) -> None:
    graded = course.root / "autograded" / "solution" / EXERCISE
    submitted = course.root / "submitted" / "solution" / EXERCISE
    assert (graded / "Dockerfile").read_text() == (submitted / "Dockerfile").read_text()
    assert (graded / ".dockerignore").is_file()
    source_app = course.root / "source" / EXERCISE / "app"
    assert (graded / "app" / "README.md").read_text() == (source_app / "README.md").read_text()


def test_files_the_learner_added_are_ignored_and_named_in_the_feedback(course: GradedCourse) -> None:
    """The solution with an edited requirements.txt and two added files still earns full marks (it was built
    against the course's own app/), and the grading cell lists the added files, escaped."""
    cells = notebook(course, "solution")["cells"]
    grading = [c for c in cells if "grade_submission(" in "".join(c["source"])]
    printed = "".join("".join(o["text"]) for o in grading[0]["outputs"] if o["output_type"] == "stream")
    assert "Ignored 2 files you added: app/[bold]x\\x1b[31m.txt, app/added-by-learner.py." in printed
    assert "\x1b" not in printed
    feedback = (course.root / "feedback" / "solution" / EXERCISE / f"{EXERCISE}.html").read_text()
    assert "added-by-learner.py" in feedback
    assert "Ignored" not in "".join("".join(o.get("text", "")) for c in notebook(course, "naive")["cells"]
                                    for o in c.get("outputs", []))


def test_no_cell_writes_to_stderr(course: GradedCourse) -> None:
    for student in STUDENTS:
        for cell in notebook(course, student)["cells"]:
            for output in cell.get("outputs", []):
                assert not (output["output_type"] == "stream" and output["name"] == "stderr"), (student, output)


def test_the_grading_cell_ran_once_and_failures_carry_the_hint(course: GradedCourse) -> None:
    cells = notebook(course, "naive")["cells"]
    grading = [c for c in cells if "grade_submission(" in "".join(c["source"])]
    printed = "".join("".join(o["text"]) for o in grading[0]["outputs"] if o["output_type"] == "stream")
    assert printed.count("Done:") == 1
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors and all(o["ename"] == "CheckNotPassed" for o in errors)
    assert any("Next step:" in o["evalue"] for o in errors)


def test_feedback_html_shows_the_check_table_and_hints(course: GradedCourse) -> None:
    page = (course.root / "feedback" / "naive" / EXERCISE / f"{EXERCISE}.html").read_text()
    assert "<th>check</th>" in page and "no-secrets" in page and "non-root" in page
    assert "next:" in page and "Next step:" in page
    full = (course.root / "feedback" / "solution" / EXERCISE / f"{EXERCISE}.html").read_text()
    assert "CheckNotPassed" not in full


def test_export_writes_one_csv_row_per_student(course: GradedCourse) -> None:
    with (course.root / "grades.csv").open() as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(STUDENTS)
    assert float(rows["solution"]["score"]) == float(rows["solution"]["max_score"])
    assert float(rows["naive"]["score"]) < float(rows["partial"]["score"])


def test_autograde_left_no_container(course: GradedCourse, docker_client: docker.DockerClient) -> None:
    """Only this course's images (their tags come from the autograded folders): other sessions may be grading
    the same exercise on the engine right now, with containers of their own."""
    tags = [submission_config(EXERCISE, course.root / "autograded" / s / EXERCISE).tag for s in STUDENTS]
    ids = {docker_client.images.get(tag).id for tag in tags if tag}
    assert len(ids) == len(STUDENTS), "each learner's graded image is there to look for"
    assert grader_containers(docker_client, ids) == []


def test_every_assignment_passes_nbgrader_generate_assignment(tmp_path: Path, nbgrader_cmd: list[str]) -> None:
    init_course(tmp_path)
    for exercise in ("node-api", "combined"):  # fastapi: the course fixture above
        run([*nbgrader_cmd, "generate_assignment", exercise], cwd=tmp_path)
        released = tmp_path / "release" / exercise
        assert (released / "Dockerfile").is_file() and (released / "app").is_dir()
        assert "BEGIN HIDDEN TESTS" not in (released / f"{exercise}.ipynb").read_text()
