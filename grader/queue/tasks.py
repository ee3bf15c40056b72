"""The grading task, as a worker runs it: check the fingerprint, build the learner's files, store the result once.

    job (learner's files + fingerprint) -> already stored? superseded? -> same copy? (else refuse: back to queue)
        -> files written to a temp folder -> grader.api.grade() on this worker's engine -> result stored (SET NX)
        -> the job's image removed -> acknowledged (acks_late)

A failure of the grading machinery (the engine down or failing under the build) is retried on the queue and shown
as "could not grade, retried"; it never becomes the learner's fail, and after the last try it is stored as a
could-not-grade whose kind (grader.course.classroom.TRANSIENT_ERRORS) makes the next class run grade it again.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject

from grader.api import ENGINE_ERRORS, GradeConfig, grade, prepare_baselines, remove_graded_images
from grader.course.classroom import TRANSIENT_ERRORS
from grader.engine.limits import wait_for_disk_before_job
from grader.errors import GradeError, InternalError
from grader.model import BuildEvent, Report
from grader.queue.app import TASK_NAME, queue_name
from grader.queue.fingerprint import combine, copy_fingerprint, differences, fingerprint_parts
from grader.queue.store import Event, JobResult, QueuedJob, Store
from grader.reporters.json_report import to_dict
from grader.reporters.notebook import render_html
from grader.reporters.sanitize import html_escape

__all__ = [
    "MACHINE_RETRIES",
    "TRAVELLING_FIELDS",
    "WorkerContext",
    "config_from_job",
    "config_to_job",
    "register",
    "set_context",
    "tag_prefix",
]

#: Tries of a job whose grading machinery failed (engine down) before it is stored as "could not grade".
MACHINE_RETRIES = 3
#: The GradeConfig fields a job carries; the others (paths, parsed settings) are the worker's own copy.
TRAVELLING_FIELDS = ("backend", "build_timeout_s", "no_cache", "baseline", "lint", "class_mode", "rerun")


def config_to_job(config: GradeConfig) -> dict[str, Any]:
    """The config as it travels; a config pointing at files of the submitter's machine cannot travel."""
    if config.settings is not None or config.app_dir is not None or config.baseline_dockerfile is not None:
        raise ValueError("A queued job grades against each worker's own apps and grading.toml; custom settings, "
                         "app folders and baseline Dockerfiles are for local runs only.")
    return {name: getattr(config, name) for name in TRAVELLING_FIELDS}


def config_from_job(data: dict[str, Any]) -> GradeConfig:
    known = {f.name for f in fields(GradeConfig)} & set(TRAVELLING_FIELDS)
    return GradeConfig(**{name: value for name, value in data.items() if name in known})


def tag_prefix(worker: str) -> str:
    """Every image a worker builds is tagged `docker-diet-workshop/<exercise>:queue-<worker>-...`: the sweep at
    start and at shutdown removes exactly these (and the containers made from them)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in worker.lower())[:40]
    return f"queue-{safe}-"


@dataclass
class WorkerContext:
    """What one worker process shares between its grading threads."""

    name: str
    store: Store
    api: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    baselines: set[str] = field(default_factory=set)
    prints: dict[str, dict[str, str]] = field(default_factory=dict)  # its copy's parts; the heartbeat shows them


_CONTEXT: list[WorkerContext] = []


def set_context(context: WorkerContext) -> None:
    _CONTEXT[:] = [context]


def _context() -> WorkerContext:
    if not _CONTEXT:
        raise RuntimeError("grader.queue.tasks runs inside `workshop worker` (grader.queue.worker.run_worker).")
    return _CONTEXT[0]


def register(app: Celery) -> None:
    @app.task(name=TASK_NAME, bind=True, max_retries=MACHINE_RETRIES)  # type: ignore[untyped-decorator]
    def grade_job(task: Task, payload: dict[str, Any]) -> str:
        return run_job(task, QueuedJob.from_json(payload))


def run_job(task: Task, job: QueuedJob) -> str:
    """Grade one job; returns the state it ended in (graded, superseded, duplicate)."""
    context = _context()
    store = context.store
    if store.result(job) is not None:
        store.take(job.job_id)
        store.publish(job.run, Event(job.job_id, "graded", context.name, "already graded (delivered twice)"))
        return "duplicate"
    if not store.is_latest(job):
        store.take(job.job_id)
        store.publish(job.run, Event(job.job_id, "superseded", context.name,
                                     "a newer submission of this learner for this exercise replaced it"))
        return "superseded"
    config = config_from_job(job.config)
    _check_fingerprint(task, context, job, config)
    store.take(job.job_id)
    store.publish(job.run, Event(job.job_id, "building", context.name))
    report, fragment, seconds = _grade_files(context, job, config)
    error = report.get("error") or {}
    if error.get("kind") in TRANSIENT_ERRORS or (error and not _engine_answers(context)):
        report = _machine_failure(task, context, job, report)
    stored = store.store_result(job, JobResult(report, fragment, seconds, context.name, task.request.retries + 1))
    store.publish(job.run, Event(job.job_id, "graded", context.name, _summary(report) if stored else
                                 "already graded (delivered twice)"))
    return "graded"


def _check_fingerprint(task: Task, context: WorkerContext, job: QueuedJob, config: GradeConfig) -> None:
    """Refuse a job submitted against other apps, bases, settings or grader: it goes back to its queue (for a
    worker that matches), the submitter sees why, and this worker moves to the queue of its own copy."""
    try:
        mine = fingerprint_parts(context.api, job.exercise, config)
    except ENGINE_ERRORS as exc:
        _retry(task, context, job, f"the engine did not answer ({type(exc).__name__})")
    if combine(mine) == job.fingerprint:
        return
    what = ", ".join(differences(job.exercise, job.parts, mine)) or "its fingerprint"
    message = (f"worker {context.name} refused this job: its copy differs from the submitter's in {what}. "
               "Run every worker and the submitter on the same commit with the same base images "
               "(`git pull`, `workshop bases`); a matching worker takes the job meanwhile.")
    context.store.publish(job.run, Event(job.job_id, "refused", context.name, message))
    context.prints[job.exercise] = mine  # the heartbeat now shows the copy it really has
    old = queue_name(job.exercise, copy_fingerprint(job.parts))
    new = queue_name(job.exercise, copy_fingerprint(mine))
    destination = [task.request.hostname] if task.request.hostname else None
    try:
        task.app.control.cancel_consumer(old, destination=destination)
        task.app.control.add_consumer(new, destination=destination)
    except Exception:  # noqa: BLE001 - moving queues is an optimisation; the refusal itself already happened
        pass
    time.sleep(1.0)  # let the consumer move before the job is back in the queue
    raise Reject(message, requeue=True)


def _retry(task: Task, context: WorkerContext, job: QueuedJob, why: str) -> None:
    message = f"could not grade, retried: {why} (try {task.request.retries + 1} of {MACHINE_RETRIES + 1})"
    context.store.publish(job.run, Event(job.job_id, "retried", context.name, message))
    raise task.retry(countdown=3)


def _machine_failure(task: Task, context: WorkerContext, job: QueuedJob, report: dict[str, Any]) -> dict[str, Any]:
    """Retry on the queue (any worker may take it); after the last try, say so in the stored report."""
    message = str(report["error"].get("message", ""))
    if task.request.retries < MACHINE_RETRIES:
        _retry(task, context, job, message[:300])
    tries = task.request.retries + 1
    error = dict(report["error"], message=f"Could not grade, retried {tries} times on the queue (the grading "
                                          f"machinery failed, not the submission): {message}")
    return dict(report, error=error)


def _engine_answers(context: WorkerContext) -> bool:
    """A build that failed while the engine stopped answering failed for the machine, not for the learner."""
    try:
        context.api.ping()
    except ENGINE_ERRORS:
        return False
    return True


def _grade_files(context: WorkerContext, job: QueuedJob, config: GradeConfig) -> tuple[dict[str, Any], str, float]:
    """The learner's files in a temp folder, graded on this worker's engine under a tag of its own."""
    started = time.monotonic()
    wait_for_disk_before_job(job.exercise, None)  # as the local pool: pause while the engine's disk is short
    _baseline_once(context, job.exercise, config)
    tag = f"docker-diet-workshop/{job.exercise}:{tag_prefix(context.name)}{job.digest[:12]}-{uuid.uuid4().hex[:6]}"
    probing = _ProbingNotice(context.store, job, context.name)
    with tempfile.TemporaryDirectory(prefix="ddw-job-") as folder:
        for name, text in job.files.items():
            (Path(folder) / name).write_text(text)
        ignore = Path(folder) / ".dockerignore"
        try:
            report = grade(job.exercise, Path(folder) / "Dockerfile", ignore if ignore.exists() else None,
                           config=replace(config, tag=tag), progress=probing)
            data, fragment = to_dict(report), render_html(report)
        except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not stop the worker
            error = (GradeError(f"The Docker engine failed while grading ({type(exc).__name__})")
                     if isinstance(exc, ENGINE_ERRORS) else
                     InternalError(f"The grader failed on this submission ({type(exc).__name__}: {exc})."))
            data = to_dict(Report(exercise=job.exercise, checks=(), error=error))
            fragment = f"<h3>Grade for {html_escape(job.exercise)}</h3><p>{html_escape(error.message)}</p>"
        finally:
            remove_graded_images(context.api, [tag])
    return data, fragment, time.monotonic() - started


def _baseline_once(context: WorkerContext, exercise: str, config: GradeConfig) -> None:
    """The exercise's naive baseline, built once per worker before its first job of that exercise."""
    with context.lock:
        if exercise not in context.baselines:
            prepare_baselines(context.api, [exercise], config)
            context.baselines.add(exercise)


#: Build lines that say the image is made (the classic builder's last step; BuildKit's export).
_BUILT = re.compile(r"writing image|naming to|Successfully built|exporting to image")


class _ProbingNotice:
    """A build progress callback that says "probing" once the build reports its image made."""

    def __init__(self, store: Store, job: QueuedJob, worker: str) -> None:
        self.store, self.job, self.worker, self.sent = store, job, worker, False

    def __call__(self, event: BuildEvent) -> None:
        if not self.sent and _BUILT.search(event.text):
            self.sent = True
            self.store.publish(self.job.run, Event(self.job.job_id, "probing", self.worker))


def _summary(report: dict[str, Any]) -> str:
    if report.get("error"):
        return f"could not grade ({report['error']['kind']})"
    return f"{report['score']:g}/{report['max_score']:g}"
