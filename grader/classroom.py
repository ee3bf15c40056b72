"""`workshop grade-class SUBMISSIONS_DIR`: grade a whole class without nbgrader, and survive interruptions.

    SUBMISSIONS_DIR/<student>/<exercise>/{Dockerfile,.dockerignore}
        -> jobs (student, exercise, hash of the two files)
        -> naive baselines built once, then N grade() calls in parallel on one engine (one shared build cache)
        -> OUTPUT/state.jsonl (one line per finished job, appended as each one ends: the resume point)
        -> OUTPUT/grades.csv, grades.json, students/<student>.html

A finished job whose two files have not changed since is never graded again, so Ctrl-C (or a crash) costs only
the builds that were running. A submission that cannot be graded (no Dockerfile, a failing build, a timeout, a bug)
is recorded as such and the class goes on. Each job builds under its own tag, so parallel builds of one exercise
never replace each other's image.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.api import GradeConfig, grade
from grader.course import RETRY_KINDS, graded_cells
from grader.errors import GradeError, NoEngine
from grader.limits import wait_for_disk_before_job
from grader.paths import EXERCISES
from grader.reporters.json_report import to_dict
from grader.reporters.notebook import render_html

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


def _digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for name in ("Dockerfile", ".dockerignore", "Dockerfile.dockerignore"):
        path = folder / name
        sha.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"<missing>") + b"\0")
    return sha.hexdigest()[:16]


def find_jobs(submissions: Path, exercises: Sequence[str] = EXERCISES) -> list[Job]:
    """Every <student>/<exercise>/ folder in `submissions`; folders starting with '.' or '_' are not students."""
    if not submissions.is_dir():
        raise FileNotFoundError(f"{submissions} is not a folder. Give the folder that holds one folder per student "
                                f"(each with {'/, '.join(EXERCISES)}/ inside).")
    jobs = []
    for student in sorted(p for p in submissions.iterdir() if p.is_dir() and p.name[0] not in "._"):
        for exercise in exercises:
            folder = student / exercise
            if folder.is_dir():
                jobs.append(Job(student.name, exercise, folder, _digest(folder)))
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
    """A name safe for files and image tags; names that had to change get a short hash, so none collide."""
    safe = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")[:60] or "student"
    return safe if safe == text else f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def job_tag(job: Job) -> str:
    """Each job builds under its own tag: parallel builds of one exercise never replace each other's image."""
    return f"docker-diet-workshop/{job.exercise}:class-{_slug(job.student)}"[:128]


def _error_report(job: Job, kind: str, message: str) -> dict[str, Any]:
    return {"exercise": job.exercise, "score": 0.0, "max_score": 0.0, "percent": 0.0, "passed": False,
            "exit_code": 2, "error": {"kind": kind, "message": message, "step": None, "line": None, "log_tail": []},
            "checks": []}


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
        report = grade(job.exercise, job.folder / "Dockerfile",
                       job.folder / ".dockerignore" if (job.folder / ".dockerignore").is_file() else None,
                       config=replace(config, tag=job_tag(job)))
        data, fragment = to_dict(report), render_html(report)
    except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not stop the class
        data = _error_report(job, "internal", f"The grader failed on this submission ({type(exc).__name__}: "
                                              f"{exc}). Grade it alone with `workshop grade {job.exercise} "
                                              f"--dockerfile {job.folder / 'Dockerfile'}` and report the bug.")
        fragment = f"<h3>Grade for {html.escape(job.exercise)}</h3><p>{html.escape(data['error']['message'])}</p>"
    outcome = Outcome(job, data, time.monotonic() - started)
    recorder.record(outcome, fragment)
    return outcome


def _engine() -> Any:
    """The engine's low-level client, or NoEngine (with the engine module's advice) before anything is graded."""
    from grader.engine import EngineUnavailable, connect

    try:
        return connect().api
    except EngineUnavailable as exc:
        raise NoEngine(str(exc)) from exc


def _prepare_baselines(api: Any, exercises: Iterable[str], config: GradeConfig) -> None:
    """Build each exercise's naive baseline once, before the parallel builds could race to build it together."""
    if not config.baseline:
        return
    from grader.baseline import ensure_baseline
    from grader.build import choose_builder

    builder = choose_builder(api, config.backend)
    for exercise in sorted(set(exercises)):
        try:
            ensure_baseline(api, exercise, builder, dockerfile=config.baseline_dockerfile, app_dir=config.app_dir)
        except GradeError:
            pass  # grade() skips `reduction` with the reason; the class still runs


def grade_class(submissions: Path, output: Path, *, jobs: int | None = None, config: GradeConfig | None = None,
                exercises: Sequence[str] = EXERCISES, fresh: bool = False, retry_errors: bool = False,
                keep_images: bool = False, progress: ProgressSink | None = None) -> ClassResult:
    """Grade every submission not already graded (same files) in `output`, `jobs` at a time, then write the
    CSV, JSON and per-student HTML for the whole class. `retry_errors` grades again the submissions that could
    not be graded (after fixing the machine: a missing base image, a full disk). Raises NoEngine before grading
    anything without an engine."""
    config = config or GradeConfig()
    started = time.monotonic()
    all_jobs = find_jobs(submissions, exercises)
    output.mkdir(parents=True, exist_ok=True)
    state_path = output / STATE_NAME
    done = {} if fresh else read_state(state_path)
    todo = [job for job in all_jobs if done.get(job.key, {}).get("digest") != job.digest
            or (retry_errors and str(done[job.key].get("summary", "")).startswith("could not grade"))]
    if not todo:
        write_outputs(all_jobs, output)
        return ClassResult((), len(all_jobs), len(all_jobs), time.monotonic() - started, output)
    api = _engine()  # no engine: say so once, before any job is recorded or the state forgotten
    if fresh and state_path.exists():
        state_path.unlink()
    _prepare_baselines(api, (job.exercise for job in todo), config)
    recorder = _Recorder(output)
    graded: list[Outcome] = []
    interrupted = False
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
        interrupted = True
        pool.shutdown(wait=True, cancel_futures=True)  # the running builds finish and are recorded
        raise
    finally:
        if not interrupted:
            pool.shutdown(wait=True)
        write_outputs(all_jobs, output)
        if not keep_images:
            remove_images(api, todo)
    return ClassResult(tuple(graded), len(all_jobs) - len(todo), len(all_jobs), time.monotonic() - started, output)


def remove_images(api: Any, jobs: Iterable[Job]) -> None:
    """Remove the jobs' images once the whole run is done (they are the build cache while it runs)."""
    import docker

    for job in jobs:
        try:
            api.remove_image(job_tag(job), force=True)
        except docker.errors.APIError:
            pass  # never built (could not grade) or already gone


def _reports(jobs: Sequence[Job], output: Path) -> list[tuple[Job, dict[str, Any] | None]]:
    state = read_state(output / STATE_NAME)
    rows = []
    for job in jobs:
        path = output / "reports" / _slug(job.student) / f"{job.exercise}.json"
        fresh = state.get(job.key, {}).get("digest") == job.digest
        rows.append((job, json.loads(path.read_text()) if fresh and path.exists() else None))
    return rows


def write_outputs(jobs: Sequence[Job], output: Path) -> None:
    """grades.csv (one row per submission, points per check), grades.json and students/<student>.html."""
    rows = _reports(jobs, output)
    check_ids: list[str] = []
    for _, report in rows:
        for check in (report or {}).get("checks", []):
            if check["id"] not in check_ids:
                check_ids.append(check["id"])
    with (output / "grades.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "exercise", "status", "score", "max_score", "percent", "error", *check_ids])
        for job, report in rows:
            if report is None:
                writer.writerow([job.student, job.exercise, "not graded yet", "", "", "", "", *[""] * len(check_ids)])
                continue
            points = {c["id"]: c["points"] for c in report.get("checks", [])}
            error = report.get("error")
            writer.writerow([job.student, job.exercise, "could not grade" if error else "graded", report["score"],
                             report["max_score"], report["percent"], f"{error['kind']}: {error['message']}"
                             if error else "", *[points.get(i, "") for i in check_ids]])
    (output / "grades.json").write_text(json.dumps(
        [{"student": job.student, "exercise": job.exercise, "report": report} for job, report in rows], indent=2))
    students = output / "students"
    students.mkdir(exist_ok=True)
    by_student: dict[str, list[tuple[Job, dict[str, Any] | None]]] = {}
    for job, report in rows:
        by_student.setdefault(job.student, []).append((job, report))
    for student, entries in by_student.items():
        parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(student)}</title>",
                 f"<h1>Docker Diet Workshop: {html.escape(student)}</h1><ul>"]
        for job, report in entries:
            line = (f"{report['score']:g}/{report['max_score']:g} ({report['percent']:g}%)" if report and not
                    report.get("error") else "could not grade" if report else "not graded yet")
            parts.append(f"<li>{html.escape(job.exercise)}: {line}</li>")
        parts.append("</ul>")
        for job, report in entries:
            fragment = output / "reports" / _slug(student) / f"{job.exercise}.html"
            if report is not None and fragment.exists():
                parts.append(fragment.read_text())
        (students / f"{_slug(student)}.html").write_text("\n".join(parts))


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
