"""`workshop grade-class SUBMISSIONS_DIR`: grade a whole class without nbgrader, and survive interruptions.

    SUBMISSIONS_DIR/<student>/<exercise>/{Dockerfile,.dockerignore}
        -> jobs (student, exercise, hash of the two files)
        -> naive baselines built once, then N grade() calls in parallel on one engine (one shared build cache)
        -> OUTPUT/state.jsonl (one line per finished job, appended as each one ends: the resume point)
        -> OUTPUT/grades.csv, grades.json, students/<student>.html, index.html (grader.course.class_outputs)
        -> the run's images, build cache and intermediate images pruned (grader.engine.leftovers)

A finished job is never graded again while nothing that decides its grade changed (its two files, the app, the
exercise's grading.toml, the base images' ids, the grader's version: grader.cache_keys), so Ctrl-C (or a crash)
costs only the builds that were running. A submission that cannot be graded (no Dockerfile, a failing build, a
timeout, a bug) is recorded as such and the class goes on; a job that failed because another exhausted what the
engine shares is retried (grader.course.pressure), and a folder that holds no submission is listed with the reason
(grader.course.roster). Each job builds under its own tag, so parallel builds of
one exercise never replace each other's image, and each student's reports go to a folder of their own (unique even
when two names look alike: `Bob` and `bob-cd9fb1`). Learners' files are read without following links
(grader.submission_files); every text written is stripped of control characters, every CSV cell of formulas.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
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
from grader.course.autograde import RETRY_KINDS
from grader.course.class_outputs import STATE_NAME, read_state, write_outputs
from grader.course.github_classroom import classroom_results, markdown_summary
from grader.course.pressure import BACKOFF_S, RETRIES, PressureMonitor, shared_cause
from grader.course.roster import Job, Skipped, find_jobs, find_skipped, job_tag
from grader.course.roster import slug as _slug
from grader.engine.leftovers import EngineMark, Leftovers, find_leftovers, mark_engine, prune_leftovers, run_commands
from grader.engine.limits import Limits, wait_for_disk_before_job
from grader.errors import GradeError, InternalError, UnsafeFile
from grader.exercises import starter_dockerfile
from grader.model import Report
from grader.paths import EXERCISES
from grader.reporters.json_report import to_dict
from grader.reporters.notebook import render_html
from grader.reporters.sanitize import html_escape
from grader.submission_files import present, read_text

if TYPE_CHECKING:
    from grader.queue.submit import QueueRun

__all__ = [
    "STATE_NAME",
    "TRANSIENT_ERRORS",
    "ClassResult",
    "Job",
    "Outcome",
    "ProgressSink",
    "Skipped",
    "classroom_results",
    "default_jobs",
    "find_jobs",
    "find_skipped",
    "grade_class",
    "job_tag",
    "markdown_summary",
    "read_state",
    "remove_images",
    "write_outputs",
]

#: Errors that say nothing about the submission (no engine; the engine failed under us): such a job is recorded
#: as "could not grade" but stays due, so the next run grades it again.
TRANSIENT_ERRORS = RETRY_KINDS


def default_jobs() -> int:
    """Parallel gradings: two per core, at most 8. Much of a grading is waiting (for the container to turn
    healthy, for the disk): on 2 cores, 90 new submissions took 82 s at 4 jobs, 100 s at 2 and 244 s at 1
    (docs/instructor-guide.md)."""
    return max(2, min(8, 2 * (os.cpu_count() or 1)))


@dataclass(frozen=True)
class Outcome:
    """What one job produced; `report` is the JSON report (grader.reporters.json_report.to_dict). `attempts` > 1
    when shared pressure made earlier attempts fail (grader.course.pressure)."""

    job: Job
    report: dict[str, Any]
    seconds: float
    attempts: int = 1

    @property
    def summary(self) -> str:
        report = self.report
        if report.get("error"):
            retried = f", retried {self.attempts - 1}x" if self.attempts > 1 else ""
            return f"could not grade ({report['error']['kind']}{retried})"
        return f"{report['score']:g}/{report['max_score']:g}"


@dataclass(frozen=True)
class ClassResult:
    """A run's numbers: what was graded now, what the state file already had, and where the files are;
    `skipped` lists the folders that hold no submission, `pruned` what the run's leftovers were."""

    graded: tuple[Outcome, ...]
    resumed: int
    total: int
    seconds: float
    output: Path
    interrupted: bool = False
    skipped: tuple[Skipped, ...] = ()
    pruned: Leftovers = field(default_factory=Leftovers)


ProgressSink = Callable[[int, int, Outcome], None]


def _error_report(job: Job, error: GradeError) -> dict[str, Any]:
    """A could-not-grade JSON report, through the one serialiser (so it matches report.schema.json)."""
    return to_dict(Report(exercise=job.exercise, checks=(), error=error))


class _Recorder:
    """Appends finished jobs to the state file and writes their report files, one thread at a time. A job that
    could not be graded for a reason outside the submission is written too, but stays due (`"due": true`)."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.lock = threading.Lock()
        (output / "reports").mkdir(parents=True, exist_ok=True)

    def record(self, outcome: Outcome, fragment: str) -> None:
        job = outcome.job
        due = (outcome.report.get("error") or {}).get("kind") in TRANSIENT_ERRORS
        base = self.output / "reports" / _slug(job.student)
        with self.lock:
            base.mkdir(parents=True, exist_ok=True)
            (base / f"{job.exercise}.json").write_text(json.dumps(outcome.report, indent=2))
            (base / f"{job.exercise}.html").write_text(fragment)
            entry = {"student": job.student, "exercise": job.exercise, "digest": job.digest,
                     "seconds": round(outcome.seconds, 2), "summary": outcome.summary, "due": due}
            with (self.output / STATE_NAME).open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())


def _limits(job: Job, config: GradeConfig) -> Limits:
    if config.settings is not None:
        return config.settings.limits
    from grader.settings import load_settings

    try:
        return load_settings(job.exercise).limits
    except GradeError:
        return Limits()


def _attempt(job: Job, config: GradeConfig) -> tuple[dict[str, Any], str]:
    """One grading of one submission; nothing it does can stop the class."""
    try:
        if job.problem is not None:
            raise UnsafeFile(job.problem)
        ignore = job.folder / ".dockerignore"
        report = grade(job.exercise, job.folder / "Dockerfile", ignore if present(ignore) else None,
                       config=replace(config, tag=job_tag(job)))
        return to_dict(report), render_html(report)
    except GradeError as exc:
        return _error_report(job, exc), _error_fragment(job, exc.message)
    except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not stop the class
        error = _internal(job, exc)
        return _error_report(job, error), _error_fragment(job, error.message)


def _grade_job(job: Job, config: GradeConfig, recorder: _Recorder, monitor: PressureMonitor | None = None) -> Outcome:
    """Grade one submission, again (at most RETRIES times, backing off) while shared pressure explains its
    failure (grader.course.pressure); after the last retry such a failure is "could not grade, retried"."""
    started, limits = time.monotonic(), _limits(job, config)
    attempts, cause = 0, None
    while True:
        wait_for_disk_before_job(job.exercise, limits)  # pause on low disk or inodes: the pressure clears first
        attempts += 1
        began = time.monotonic()
        data, fragment = _attempt(job, config)
        shortage = monitor.shortage(began, time.monotonic(), limits) if monitor else None
        cause = shared_cause(data.get("error"), shortage)
        if cause is None or attempts > RETRIES:
            break
        time.sleep(BACKOFF_S * 2 ** (attempts - 1))
    if cause is not None:
        error = GradeError(f"Could not grade, retried {attempts - 1} times: {cause}, while other submissions "
                           "were building. This is not a result of the submission; run grade-class again to grade "
                           f"it. Last attempt: {data['error']['kind']}: {data['error']['message']}"[:2000])
        data, fragment = _error_report(job, error), _error_fragment(job, error.message)
    outcome = Outcome(job, data, time.monotonic() - started, attempts)
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


def _due(job: Job, done: dict[str, dict[str, Any]], retry_errors: bool) -> bool:
    entry = done.get(job.key, {})
    return (entry.get("digest") != job.digest or bool(entry.get("due"))
            or (retry_errors and str(entry.get("summary", "")).startswith("could not grade")))


def grade_class(submissions: Path, output: Path, *, jobs: int | None = None, config: GradeConfig | None = None,
                exercises: Sequence[str] = EXERCISES, fresh: bool = False, retry_errors: bool = False,
                keep_images: bool = False, progress: ProgressSink | None = None,
                queue: QueueRun | None = None) -> ClassResult:
    """Grade every submission not already graded (same files, app, settings, bases, grader) in `output`, `jobs`
    at a time, then write the CSV, JSON and per-student HTML for the whole class. `retry_errors` grades again the
    submissions that could not be graded (after fixing the machine: a missing base image, a full disk).
    `fresh` (and `config.no_cache`) forget the state and the remembered container runs. Raises NoEngine before
    grading anything without an engine. Bases are limited to the exercise's allow list (class mode). With `queue`,
    the workers on its broker grade instead of a local pool (grader.queue.submit); the outputs are the same. Unless
    `keep_images` (or with `queue`: the workers clean their own engines), the run's images, build cache and
    intermediate images are removed at the end."""
    config = replace(config or GradeConfig(), class_mode=True)
    started = time.monotonic()
    skipped = tuple(find_skipped(submissions, exercises))  # raises NoSubmissions naming the folder
    api = connect_engine()  # no engine: say so once, before any job is recorded or the state forgotten
    all_jobs = find_jobs(submissions, exercises, exercise_fingerprints(api, exercises, config))
    output.mkdir(parents=True, exist_ok=True)
    state_path = output / STATE_NAME
    done = {} if fresh else read_state(state_path)
    todo = [job for job in all_jobs if _due(job, done, retry_errors)]
    if not todo:
        write_outputs(all_jobs, output, skipped)
        return ClassResult((), len(all_jobs), len(all_jobs), time.monotonic() - started, output, skipped=skipped)
    if fresh and state_path.exists():
        state_path.unlink()
    if fresh or config.no_cache:
        clear_run_cache()
        config = replace(config, rerun=True)
    mark = _mark(api) if queue is None else None
    if queue is None:
        prepare_baselines(api, (job.exercise for job in todo), config)
    pruned = Leftovers()
    try:
        if queue is None:
            graded, interrupted = _run_pool(todo, config, _Recorder(output), jobs, progress)
        else:  # the workers on the broker grade (and clean up on their own engines): grader.queue.submit
            from grader.queue.submit import grade_on_queue

            graded, interrupted = grade_on_queue(queue, api, todo, config, _Recorder(output), progress, forget={
                job.key for job in todo if fresh or (retry_errors and job.key in done)})
    finally:  # also on Ctrl-C: what finished is in the outputs, and nothing is left behind
        write_outputs(all_jobs, output, skipped)
        if not keep_images and queue is None:
            remove_images(api, todo)
            pruned = _prune(api, mark, _commands(todo, config))
    return ClassResult(tuple(graded), len(all_jobs) - len(todo), len(all_jobs), time.monotonic() - started, output,
                       interrupted, skipped, pruned)


def _mark(api: Any) -> EngineMark | None:
    try:
        return mark_engine(api)
    except ENGINE_ERRORS:
        return None  # the engine would not say what it holds: nothing is pruned, nothing is guessed


def _prune(api: Any, mark: EngineMark | None, commands: frozenset[str]) -> Leftovers:
    """The run's leftovers removed (grader.engine.leftovers); an engine that fails here costs only the pruning."""
    if mark is None:
        return Leftovers()
    try:
        return prune_leftovers(api, find_leftovers(api, mark, commands))
    except ENGINE_ERRORS:
        return Leftovers()


def _commands(jobs: Sequence[Job], config: GradeConfig) -> frozenset[str]:
    """The RUN commands the run built: the submissions' and the naive baselines' (grader.engine.leftovers)."""
    texts = []
    for path in [job.folder / "Dockerfile" for job in jobs if job.problem is None] + [
            config.baseline_dockerfile or starter_dockerfile(e) for e in {job.exercise for job in jobs}]:
        try:
            texts.append(read_text(path))
        except (GradeError, OSError):
            continue
    return run_commands(texts)


def _run_pool(todo: Sequence[Job], config: GradeConfig, recorder: _Recorder, jobs: int | None,
              progress: ProgressSink | None) -> tuple[list[Outcome], bool]:
    """Grade `todo` in parallel; on Ctrl-C the running builds finish and are recorded, then it re-raises."""
    graded: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=jobs or default_jobs(), thread_name_prefix="grade-class")
    with PressureMonitor() as monitor:
        try:
            pending: set[Future[Outcome]] = {pool.submit(_grade_job, job, config, recorder, monitor) for job in todo}
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
