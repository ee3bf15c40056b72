"""`workshop grade-class` on the real engine: generated submissions (one broken, one missing), parallel builds,
CSV/JSON/HTML per student, and a resume after an interruption that regrades nothing already finished."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from grader.api import GradeConfig
from grader.cli.workshop import main
from grader.course.classroom import (
    STATE_NAME,
    ClassResult,
    Outcome,
    find_jobs,
    grade_class,
    read_state,
)
from grader.paths import REPO_ROOT

from .helpers import EXERCISE, grader_containers, write_submission

CLASS = {"ada": "solution", "bob": "partial", "cy": "naive", "dee": "broken", "eve": "missing"}


def make_class(root: Path, students: dict[str, str] = CLASS) -> Path:
    for student, kind in students.items():
        write_submission(root / student / EXERCISE, kind)
    (root / "_instructor-notes").mkdir()  # not a student
    return root


def test_find_jobs_hashes_each_submission_and_skips_non_student_folders(tmp_path: Path) -> None:
    jobs = find_jobs(make_class(tmp_path / "subs"))
    assert [j.student for j in jobs] == sorted(CLASS)
    assert len({j.digest for j in jobs}) == len(jobs)


def test_read_state_ignores_a_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / STATE_NAME
    path.write_text('{"student": "ada", "exercise": "fastapi", "digest": "x"}\n{"student": "bob", "exerc')
    assert list(read_state(path)) == ["ada/fastapi"]


def test_missing_submissions_folder_exits_2_and_says_what_to_give(tmp_path: Path) -> None:
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["grade-class", str(tmp_path / "nope")]) == 2
    assert "one folder per student" in err.getvalue()


def test_grade_class_grades_everyone_and_one_bad_submission_stops_nothing(
        tmp_path: Path, docker_client: docker.DockerClient) -> None:
    subs, out = make_class(tmp_path / "subs"), tmp_path / "grades"
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as said:
        assert main(["grade-class", str(subs), "--output", str(out), "--jobs", "2"]) == 0
    assert err.getvalue().count("[") >= len(CLASS), "one progress line per submission"
    print(said.getvalue())
    with (out / "grades.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows["ada"]["percent"]) == 100.0
    assert float(rows["cy"]["percent"]) < float(rows["bob"]["percent"]) < 100.0
    assert float(rows["bob"]["non-root"]) == 0.0 and float(rows["ada"]["non-root"]) == 10.0
    assert rows["dee"]["status"] == "could not grade" and rows["dee"]["error"].startswith("build-failed")
    assert rows["eve"]["status"] == "could not grade" and "No Dockerfile" in rows["eve"]["error"]
    data = json.loads((out / "grades.json").read_text())
    assert {entry["student"] for entry in data if entry["exercise"]} == set(CLASS)
    assert [(e["student"], e["report"]) for e in data if not e["exercise"]] == [("_instructor-notes", None)]
    assert "Skipped _instructor-notes: the name starts with '_'" in said.getvalue()
    page = (out / "students" / "dee.html").read_text()
    assert "could not grade" in page.lower() and "line 2" in page
    assert "<th>check</th>" in (out / "students" / "bob.html").read_text()
    assert not [t for t in _class_tags(docker_client)], "each submission's image is removed after the run"

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()) as again:
        assert main(["grade-class", str(subs), "--output", str(out)]) == 0
    assert "Graded 0 submissions" in again.getvalue() and f"{len(CLASS)} already graded" in again.getvalue()


def test_resume_after_an_interruption_regrades_only_unfinished_work(
        tmp_path: Path, docker_client: docker.DockerClient) -> None:
    students = {f"s{i}": kind for i, kind in enumerate(("solution", "partial", "naive", "broken", "solution"))}
    subs, out = make_class(tmp_path / "subs", students), tmp_path / "grades"
    config = GradeConfig()

    def ctrl_c(done: int, total: int, outcome: Outcome) -> None:
        raise KeyboardInterrupt  # as if the instructor pressed Ctrl-C after the first result

    with pytest.raises(KeyboardInterrupt):
        grade_class(subs, out, jobs=1, config=config, progress=ctrl_c)
    finished = read_state(out / STATE_NAME)
    assert 1 <= len(finished) < len(students), finished
    stamps = {key: (out / "reports" / key.split("/")[0] / f"{EXERCISE}.json").stat().st_mtime_ns for key in finished}
    with (out / "grades.csv").open() as handle:  # written even when interrupted
        assert sum(row["status"] == "not graded yet" for row in csv.DictReader(handle)) == len(students) - len(finished)

    result: ClassResult = grade_class(subs, out, jobs=2, config=config)
    assert result.resumed == len(finished)
    assert {o.job.key for o in result.graded} == {f"{s}/{EXERCISE}" for s in students} - set(finished)
    assert {key: (out / "reports" / key.split("/")[0] / f"{EXERCISE}.json").stat().st_mtime_ns
            for key in finished} == stamps, "finished work was not graded again"

    (subs / "s0" / EXERCISE / "Dockerfile").write_text((subs / "s1" / EXERCISE / "Dockerfile").read_text())
    seen: dict[str, bool] = {}  # image id -> present on the engine while the run still held it (before cleanup)

    def note_image(done: int, total: int, outcome: Outcome) -> None:
        image_id = (outcome.report.get("image") or {}).get("id")
        if image_id:
            seen[image_id] = bool(docker_client.images.list(filters={"reference": outcome.report["image"]["tag"]}))

    changed = grade_class(subs, out, jobs=2, config=config, progress=note_image)
    assert [o.job.key for o in changed.graded] == [f"s0/{EXERCISE}"], "a changed submission is graded again"
    assert seen and all(seen.values()), "the graded image existed while the run went on"
    assert grader_containers(docker_client, set(seen)) == []
    for image_id in seen:
        with pytest.raises(docker.errors.ImageNotFound):
            docker_client.images.get(image_id)


def test_ctrl_c_on_the_command_line_exits_130_and_the_next_run_resumes(
        tmp_path: Path, docker_client: docker.DockerClient) -> None:
    subs, out = tmp_path / "subs", tmp_path / "grades"
    for i in range(10):  # the solution with a label of each learner's own: one metadata layer each
        folder = write_submission(subs / f"learner{i}" / EXERCISE, "solution")
        (folder / "Dockerfile").write_text((folder / "Dockerfile").read_text() + f'LABEL learner="{i}"\n')
    command = [str(Path(sys.executable).parent / "workshop"), "grade-class", str(subs), "--output", str(out),
               "--jobs", "1"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not (out / STATE_NAME).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 130, err
    assert "run the same command again" in err
    finished = len(read_state(out / STATE_NAME))
    assert 1 <= finished < 10
    result = subprocess.run([*command[:-2], "--jobs", "2"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    assert f"Graded {10 - finished} submissions" in result.stdout and f"{finished} already graded" in result.stdout


def _class_tags(client: docker.DockerClient) -> list[str]:
    """Tags this test's run would have left: one per student of CLASS."""
    wanted = tuple(f"docker-diet-workshop/{EXERCISE}:class-{student}-" for student in CLASS)
    return [tag for image in client.images.list(name=f"docker-diet-workshop/{EXERCISE}") for tag in image.tags
            if tag.startswith(wanted)]


def test_no_engine_exits_2_before_touching_the_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    subs, out = make_class(tmp_path / "subs", {"ada": "solution"}), tmp_path / "grades"
    out.mkdir()
    (out / STATE_NAME).write_text('{"student": "ada", "exercise": "fastapi", "digest": "old"}\n')
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["grade-class", str(subs), "--output", str(out), "--fresh"]) == 2
    assert "No Docker engine answers" in err.getvalue()
    assert list(read_state(out / STATE_NAME)) == ["ada/fastapi"], "--fresh forgets nothing until an engine answers"
