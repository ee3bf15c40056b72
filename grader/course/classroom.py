"""`workshop grade-class SUBMISSIONS_DIR`: grade a whole class without nbgrader, and survive interruptions.

    SUBMISSIONS_DIR/<student>/<exercise>/{Dockerfile,.dockerignore}
        -> jobs (student, exercise, hash of the two files)
        -> naive baselines built once, then N grade() calls in parallel on one engine (one shared build cache)
        -> OUTPUT/state.jsonl (one line per finished job, appended as each one ends: the resume point)
        -> OUTPUT/grades.csv, grades.json, students/<student>.html

A finished job is never graded again while nothing that decides its grade changed (its two files, the app, the
exercise's grading.toml, the base images' ids, the grader's version: grader.cache_keys), so Ctrl-C (or a crash)
costs only the builds that were running. A submission that cannot be graded (no Dockerfile, a failing build, a
timeout, a bug) is recorded as such and the class goes on. Each job builds under its own tag, so parallel builds of
one exercise never replace each other's image, and each student's reports go to a folder of their own (unique even
when two names look alike: `Bob` and `bob-cd9fb1`). Learners' files are read without following links
(grader.submission_files); every text written is stripped of control characters, every CSV cell of formulas.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.api import (
    ENGINE_ERRORS,
    GradeConfig,
    clear_run_cache,
    connect_engine,
    exercise_fingerprints,
    grade,
    prepare_baselines,
    remove_graded_images,
)
from grader.course.autograde import RETRY_KINDS, graded_cells
from grader.engine.limits import wait_for_disk_before_job
from grader.errors import GradeError, InternalError, NoSubmissions, UnsafeFile
from grader.model import Report
from grader.paths import EXERCISES
from grader.reporters.json_report import to_dict
from grader.reporters.notebook import render_html
from grader.reporters.sanitize import csv_cell, html_escape
from grader.submission_files import digest as file_digest
from grader.submission_files import present

if TYPE_CHECKING:
    from grader.queue.submit import QueueRun

__all__ = [
    "STATE_NAME",
    "TRANSIENT_ERRORS",
    "ClassResult",
    "Job",
    "Outcome",
    "ProgressSink",
    "classroom_results",
    "default_jobs",
    "find_jobs",
    "grade_class",
    "job_tag",
    "markdown_summary",
    "read_state",
    "remove_images",
    "write_outputs",
]

STATE_NAME = "state.jsonl"
#: Errors that say nothing about the submission (no engine; the engine failed under us): such a job is not
#: recorded, so the next run grades it again.
TRANSIENT_ERRORS = RETRY_KINDS


def default_jobs() -> int:
    """Parallel gradings: two per core, at most 8. Much of a grading is waiting (for the container to turn
    healthy, for the disk): on 2 cores, 90 new submissions took 82 s at 4 jobs, 100 s at 2 and 244 s at 1
    (docs/instructor-guide.md)."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class Job:
    """One submission: a student's folder for one exercise, and the hash of what they submitted."""

    student: str
    exercise: str
    folder: Path
    digest: str
    problem: str | None = None  # why the folder cannot even be looked at (graded as "could not grade")

    @property
    def key(self) -> str:
        return f"{self.student}/{self.exercise}"


@dataclass(frozen=True)
class Outcome:
    """What one job produced; `report` is the JSON report (grader.reporters.json_report.to_dict)."""

    job: Job
    report: dict[str, Any]
    seconds: float

    @property
    def summary(self) -> str:
        report = self.report
        if report.get("error"):
            return f"could not grade ({report['error']['kind']})"
        return f"{report['score']:g}/{report['max_score']:g}"


@dataclass(frozen=True)
class ClassResult:
    """A run's numbers: what was graded now, what the state file already had, and where the files are."""

    graded: tuple[Outcome, ...]
    resumed: int
    total: int
    seconds: float
    output: Path
    interrupted: bool = False


ProgressSink = Callable[[int, int, Outcome], None]


def _digest(folder: Path, fingerprint: str = "") -> str:
    """The submitted files (read safely: a link or FIFO gets a stable marker) and the exercise's fingerprint."""
    sha = hashlib.sha256(fingerprint.encode() + b"\0")
    for name in ("Dockerfile", ".dockerignore", "Dockerfile.dockerignore"):
        sha.update(name.encode() + b"\0" + file_digest(folder / name).encode() + b"\0")
    return sha.hexdigest()[:16]


def _folder_problem(path: Path) -> str | None:
    """Why a student's or exercise folder is refused: a link (it could point anywhere) or unreadable."""
    if path.is_symlink():
        return f"{path} is a symbolic link; submit a real folder."
    try:
        os.listdir(path)
    except OSError as exc:
        return f"Cannot read the folder {path} ({exc.strerror or exc}). Check its permissions."
    return None


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _student_jobs(student: Path, exercises: Sequence[str], fingerprints: dict[str, str]) -> list[Job]:
    """The student's submissions; a student folder that is refused still yields one job per exercise folder
    seen (or one for the first exercise), so the problem shows in the grades instead of the student vanishing."""
    problem = _folder_problem(student)
    found = [exercise for exercise in exercises if _is_folder(student / exercise)]
    if problem is not None:
        digest = hashlib.sha256(problem.encode()).hexdigest()[:16]
        return [Job(student.name, exercise, student / exercise, digest, problem)
                for exercise in (found or list(exercises)[:1])]
    jobs = []
    for exercise in found:
        folder = student / exercise
        why = _folder_problem(folder)
        digest = (hashlib.sha256(why.encode()).hexdigest()[:16] if why
                  else _digest(folder, fingerprints.get(exercise, "")))
        jobs.append(Job(student.name, exercise, folder, digest, why))
    return jobs


def find_jobs(submissions: Path, exercises: Sequence[str] = EXERCISES,
              fingerprints: dict[str, str] | None = None) -> list[Job]:
    """Every <student>/<exercise>/ folder in `submissions`; folders starting with '.' or '_' are not students.

    `fingerprints` (exercise -> grader.cache_keys digest) enter each job's digest, so a changed app, grading.toml,
    base image or grader makes every job of that exercise due again."""
    if not submissions.is_dir():
        raise NoSubmissions(f"{submissions} is not a folder. Give the folder that holds one folder per student "
                                f"(each with {'/, '.join(EXERCISES)}/ inside).")
    jobs = []
    for student in sorted(p for p in submissions.iterdir() if p.name[0] not in "._" and (p.is_symlink() or p.is_dir())):
        jobs.extend(_student_jobs(student, exercises, fingerprints or {}))
    return jobs


def read_state(path: Path) -> dict[str, dict[str, Any]]:
    """Finished jobs by key; a line cut short by a crash is ignored (that job is graded again)."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            done[f"{entry['student']}/{entry['exercise']}"] = entry
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _slug(text: str) -> str:
    """A name safe for files and image tags, one per name: a name kept as it is never ends like a hashed one
    (`-` and 12 hex digits), and every other name gets that hash suffix, so `Bob` and `bob-cd9fb1` never meet."""
    safe = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")[:60] or "student"
    if safe == text and not re.search(r"-[0-9a-f]{12}$", safe):
        return safe
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def job_tag(job: Job) -> str:
    """Each submission builds under its own tag (its student's slug and a hash of its folder, so two classes
    graded on one engine never meet either): parallel builds never replace each other's image."""
    where = hashlib.sha256(str(job.folder.absolute()).encode()).hexdigest()[:8]
    return f"docker-diet-workshop/{job.exercise}:class-{_slug(job.student)}-{where}"[:128]


def _error_report(job: Job, error: GradeError) -> dict[str, Any]:
    """A could-not-grade JSON report, through the one serialiser (so it matches report.schema.json)."""
    return to_dict(Report(exercise=job.exercise, checks=(), error=error))


class _Recorder:
    """Appends finished jobs to the state file and writes their report files, one thread at a time."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.lock = threading.Lock()
        (output / "reports").mkdir(parents=True, exist_ok=True)

    def record(self, outcome: Outcome, fragment: str) -> None:
        job = outcome.job
        if (outcome.report.get("error") or {}).get("kind") in TRANSIENT_ERRORS:
            return
        base = self.output / "reports" / _slug(job.student)
        with self.lock:
            base.mkdir(parents=True, exist_ok=True)
            (base / f"{job.exercise}.json").write_text(json.dumps(outcome.report, indent=2))
            (base / f"{job.exercise}.html").write_text(fragment)
            entry = {"student": job.student, "exercise": job.exercise, "digest": job.digest,
                     "seconds": round(outcome.seconds, 2), "summary": outcome.summary}
            with (self.output / STATE_NAME).open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())


def _grade_job(job: Job, config: GradeConfig, recorder: _Recorder) -> Outcome:
    """Grade one submission; nothing it does can stop the class."""
    started = time.monotonic()
    try:
        wait_for_disk_before_job(job.exercise, config.settings.limits if config.settings else None)  # pause on low disk
        if job.problem is not None:
            raise UnsafeFile(job.problem)
        ignore = job.folder / ".dockerignore"
        report = grade(job.exercise, job.folder / "Dockerfile", ignore if present(ignore) else None,
                       config=replace(config, tag=job_tag(job)))
        data, fragment = to_dict(report), render_html(report)
    except GradeError as exc:
        data, fragment = _error_report(job, exc), _error_fragment(job, exc.message)
    except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not stop the class
        error = _internal(job, exc)
        data, fragment = _error_report(job, error), _error_fragment(job, error.message)
    outcome = Outcome(job, data, time.monotonic() - started)
    recorder.record(outcome, fragment)
    return outcome


def _internal(job: Job, exc: Exception) -> GradeError:
    if isinstance(exc, ENGINE_ERRORS):
        return GradeError(f"The Docker engine failed while grading ({type(exc).__name__}); not a problem with the "
                          "submission. Run grade-class again to grade it.")
    return InternalError(f"The grader failed on this submission ({type(exc).__name__}: {exc}). Grade it alone "
                          f"with `workshop grade {job.exercise} --dockerfile {job.folder / 'Dockerfile'}` and report "
                          "the bug.")


def _error_fragment(job: Job, message: str) -> str:
    return f"<h3>Grade for {html_escape(job.exercise)}</h3><p>{html_escape(message)}</p>"


def grade_class(submissions: Path, output: Path, *, jobs: int | None = None, config: GradeConfig | None = None,
                exercises: Sequence[str] = EXERCISES, fresh: bool = False, retry_errors: bool = False,
                keep_images: bool = False, progress: ProgressSink | None = None,
                queue: QueueRun | None = None) -> ClassResult:
    """Grade every submission not already graded (same files, app, settings, bases, grader) in `output`, `jobs`
    at a time, then write the CSV, JSON and per-student HTML for the whole class. `retry_errors` grades again the
    submissions that could not be graded (after fixing the machine: a missing base image, a full disk).
    `fresh` (and `config.no_cache`) forget the state and the remembered container runs. Raises NoEngine before
    grading anything without an engine. Bases are limited to the exercise's allow list (class mode). With `queue`,
    the workers on its broker grade instead of a local pool (grader.queue.submit); the outputs are the same."""
    config = replace(config or GradeConfig(), class_mode=True)
    started = time.monotonic()
    if not submissions.is_dir():
        find_jobs(submissions, exercises)  # raises FileNotFoundError naming the folder
    api = connect_engine()  # no engine: say so once, before any job is recorded or the state forgotten
    all_jobs = find_jobs(submissions, exercises, exercise_fingerprints(api, exercises, config))
    output.mkdir(parents=True, exist_ok=True)
    state_path = output / STATE_NAME
    done = {} if fresh else read_state(state_path)
    todo = [job for job in all_jobs if done.get(job.key, {}).get("digest") != job.digest
            or (retry_errors and str(done[job.key].get("summary", "")).startswith("could not grade"))]
    if not todo:
        write_outputs(all_jobs, output)
        return ClassResult((), len(all_jobs), len(all_jobs), time.monotonic() - started, output)
    if fresh and state_path.exists():
        state_path.unlink()
    if fresh or config.no_cache:
        clear_run_cache()
        config = replace(config, rerun=True)
    if queue is None:
        prepare_baselines(api, (job.exercise for job in todo), config)
    try:
        if queue is None:
            graded, interrupted = _run_pool(todo, config, _Recorder(output), jobs, progress)
        else:  # the workers on the broker grade (and clean up on their own engines): grader.queue.submit
            from grader.queue.submit import grade_on_queue

            graded, interrupted = grade_on_queue(queue, api, todo, config, _Recorder(output), progress, forget={
                job.key for job in todo if fresh or (retry_errors and job.key in done)})
    finally:  # also on Ctrl-C: what finished is in the outputs, and no image is left behind
        write_outputs(all_jobs, output)
        if not keep_images and queue is None:
            remove_images(api, todo)
    return ClassResult(tuple(graded), len(all_jobs) - len(todo), len(all_jobs), time.monotonic() - started, output,
                       interrupted)


def _run_pool(todo: Sequence[Job], config: GradeConfig, recorder: _Recorder, jobs: int | None,
              progress: ProgressSink | None) -> tuple[list[Outcome], bool]:
    """Grade `todo` in parallel; on Ctrl-C the running builds finish and are recorded, then it re-raises."""
    graded: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=jobs or default_jobs(), thread_name_prefix="grade-class")
    try:
        pending: set[Future[Outcome]] = {pool.submit(_grade_job, job, config, recorder) for job in todo}
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                graded.append(outcome)
                if progress is not None:
                    progress(len(graded), len(todo), outcome)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # the running builds finish and are recorded
        raise
    pool.shutdown(wait=True)
    return graded, False


def remove_images(api: Any, jobs: Iterable[Job]) -> None:
    """Remove the jobs' images once the whole run is done (they are the build cache while it runs)."""
    remove_graded_images(api, [job_tag(job) for job in jobs])


def _reports(jobs: Sequence[Job], output: Path) -> list[tuple[Job, dict[str, Any] | None]]:
    state = read_state(output / STATE_NAME)
    rows = []
    for job in jobs:
        path = output / "reports" / _slug(job.student) / f"{job.exercise}.json"
        fresh = state.get(job.key, {}).get("digest") == job.digest
        rows.append((job, json.loads(path.read_text()) if fresh and path.exists() else None))
    return rows


def _csv_rows(rows: list[tuple[Job, dict[str, Any] | None]]) -> list[list[object]]:
    check_ids: list[str] = []
    for _, report in rows:
        for check in (report or {}).get("checks", []):
            if check["id"] not in check_ids:
                check_ids.append(check["id"])
    table: list[list[object]] = [["student", "exercise", "status", "score", "max_score", "percent", "error",
                                  *check_ids]]
    for job, report in rows:
        if report is None:
            table.append([job.student, job.exercise, "not graded yet", "", "", "", "", *[""] * len(check_ids)])
            continue
        points = {c["id"]: c["points"] for c in report.get("checks", [])}
        error = report.get("error")
        table.append([job.student, job.exercise, "could not grade" if error else "graded", report["score"],
                      report["max_score"], report["percent"], f"{error['kind']}: {error['message']}"
                      if error else "", *[points.get(i, "") for i in check_ids]])
    return table


def _student_page(student: str, entries: list[tuple[Job, dict[str, Any] | None]], output: Path) -> str:
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html_escape(student)}</title>",
             f"<h1>Docker Diet Workshop: {html_escape(student)}</h1><ul>"]
    for job, report in entries:
        line = (f"{report['score']:g}/{report['max_score']:g} ({report['percent']:g}%)" if report and not
                report.get("error") else "could not grade" if report else "not graded yet")
        parts.append(f"<li>{html_escape(job.exercise)}: {line}</li>")
    parts.append("</ul>")
    for job, report in entries:
        fragment = output / "reports" / _slug(student) / f"{job.exercise}.html"
        if report is not None and fragment.exists():
            parts.append(fragment.read_text())
    return "\n".join(parts)


def write_outputs(jobs: Sequence[Job], output: Path) -> None:
    """grades.csv (one row per submission, points per check; no cell a spreadsheet would run as a formula),
    grades.json and students/<student>.html (one file per student, even when names look alike)."""
    rows = _reports(jobs, output)
    with (output / "grades.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([csv_cell(cell) for cell in row] for row in _csv_rows(rows))
    (output / "grades.json").write_text(json.dumps(
        [{"student": job.student, "exercise": job.exercise, "report": report} for job, report in rows], indent=2))
    students = output / "students"
    students.mkdir(exist_ok=True)
    by_student: dict[str, list[tuple[Job, dict[str, Any] | None]]] = {}
    for job, report in rows:
        by_student.setdefault(job.student, []).append((job, report))
    for student, entries in by_student.items():
        (students / f"{_slug(student)}.html").write_text(_student_page(student, entries, output))


# ---------------------------------------------------------------- GitHub Classroom


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
