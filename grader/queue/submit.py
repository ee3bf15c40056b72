"""`workshop grade-class SUBMISSIONS_DIR --queue redis://...`: one job per submission, graded by the workers.

    jobs (grader.course.classroom.find_jobs) -> learner's files read here (size-limited) -> round-robin order
        -> Celery, one queue per exercise and fingerprint -> progress streamed from the workers' events
        -> each result recorded by classroom's own recorder -> the same CSV, JSON and HTML as the local pool

Fairness (documented in docs/queue.md): jobs go on the queue one learner at a time in turn (every learner's first
submission before anyone's second), and a learner's newer submission of an exercise supersedes a waiting older
one, which leaves the line at once and costs a worker no build. `Store.position(job_id)` is a learner's place.

For a future `workshop serve`: `submit_job(app, store, job)` queues one submission, `Store.position`,
`Store.state` and `Store.events` follow it, and `Store.result` reads its report once a worker stored it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import redis
from celery import Celery

from grader.api import GradeConfig, grade
from grader.course.classroom import Job, Outcome, ProgressSink
from grader.errors import GradeError, UnsafeFile
from grader.model import Report
from grader.queue.app import TASK_NAME, make_app, queue_name
from grader.queue.fingerprint import combine, copy_fingerprint, differences, fingerprint_parts
from grader.queue.store import Event, QueuedJob, Store
from grader.queue.tasks import config_to_job
from grader.reporters.json_report import to_dict
from grader.reporters.notebook import render_html
from grader.reporters.sanitize import html_escape
from grader.submission_files import present, read_optional_text

__all__ = [
    "MAX_FILE_BYTES",
    "EventSink",
    "QueueRun",
    "fair_order",
    "grade_on_queue",
    "submit_job",
]

#: A submission's files travel in the job; each is a few kB, and more than this is refused with a message.
MAX_FILE_BYTES = 64 * 1024
_FILES = ("Dockerfile", ".dockerignore", "Dockerfile.dockerignore")
#: (student/exercise, event, place in line or None) as the run's progress streams.
EventSink = Callable[[str, Event, int | None], None]


@dataclass(frozen=True)
class QueueRun:
    """Where to queue and how to follow: the broker URL, a sink for each state change, and how long to wait."""

    url: str
    on_event: EventSink | None = None
    wait_s: float | None = None  # give up waiting after this long (None: until every job is graded)


class _Recording(Protocol):
    """The classroom recorder's interface (grader.course.classroom._Recorder): record(outcome, fragment)."""

    def record(self, outcome: Outcome, fragment: str) -> None: ...


def fair_order(jobs: Sequence[Job]) -> list[Job]:
    """Round-robin over learners: every learner's first job, then every learner's second, ..."""
    by_learner: dict[str, list[Job]] = {}
    for job in jobs:
        by_learner.setdefault(job.student, []).append(job)
    rounds = max((len(queue) for queue in by_learner.values()), default=0)
    return [queue[i] for i in range(rounds) for queue in by_learner.values() if i < len(queue)]


def _read_files(job: Job) -> dict[str, str]:
    """The learner's files, read without following links, each at most MAX_FILE_BYTES (else UnsafeFile)."""
    files = {}
    for name in _FILES:
        text = read_optional_text(job.folder / name, max_bytes=MAX_FILE_BYTES)
        if text is not None:
            files[name] = text
    return files


def _local_outcome(job: Job, config: GradeConfig, error: GradeError | None) -> tuple[Outcome, str]:
    """A job that needs no build (unreadable folder, missing Dockerfile, a file too large), graded here exactly as
    the local pool grades it, so the outputs match."""
    started = time.monotonic()
    if error is None:  # no Dockerfile: grade() says so in its own words without touching the engine
        report = grade(job.exercise, job.folder / "Dockerfile", config=config)
        data, fragment = to_dict(report), render_html(report)
    else:
        data = to_dict(Report(exercise=job.exercise, checks=(), error=error))
        fragment = f"<h3>Grade for {html_escape(job.exercise)}</h3><p>{html_escape(error.message)}</p>"
    return Outcome(job, data, time.monotonic() - started), fragment


def _summary(report: dict[str, Any]) -> str:
    return Outcome(Job("", "", Path(), ""), report, 0.0).summary


def submit_job(app: Celery, store: Store, job: QueuedJob) -> None:
    """Queue one submission (a future `workshop serve` calls this for each upload)."""
    store.enqueue(job)
    app.send_task(TASK_NAME, args=[job.to_json()], task_id=job.job_id,
                  queue=queue_name(job.exercise, copy_fingerprint(job.parts)),
                  retry=True, retry_policy={"max_retries": None, "interval_start": 1, "interval_max": 5})


class _Follower:
    """Follows one run: submits, streams the events, records each result once."""

    def __init__(self, run: QueueRun, api: Any, config: GradeConfig, recorder: _Recording,
                 progress: ProgressSink | None) -> None:
        self.run, self.api, self.config, self.recorder, self.progress = run, api, config, recorder, progress
        self.store = Store(run.url)
        self.app = make_app(run.url, build_timeout_s=config.build_timeout_s)
        self.run_id = uuid.uuid4().hex[:12]
        self.parts: dict[str, dict[str, str]] = {}
        self.waiting: dict[str, tuple[Job, QueuedJob]] = {}
        self.graded: list[Outcome] = []
        self.shown: dict[str, bool] = {}  # job id -> its "graded" event was shown
        self.total = 0
        self.cursor = "0"

    def emit(self, key: str, event: Event, place: int | None = None) -> None:
        if self.run.on_event is not None:
            self.run.on_event(key, event, place)

    def finish(self, outcome: Outcome, fragment: str) -> None:
        self.recorder.record(outcome, fragment)
        self.graded.append(outcome)
        if self.progress is not None:
            self.progress(len(self.graded), self.total, outcome)

    def queued_job(self, job: Job, files: dict[str, str]) -> QueuedJob:
        if job.exercise not in self.parts:
            self.parts[job.exercise] = fingerprint_parts(self.api, job.exercise, self.config)
        parts = self.parts[job.exercise]
        return QueuedJob(job_id=f"{self.run_id}-{uuid.uuid4().hex[:8]}", run=self.run_id, learner=job.student,
                         exercise=job.exercise, digest=job.digest, fingerprint=combine(parts), parts=parts,
                         files=files, config=config_to_job(self.config))

    def submit_all(self, todo: Sequence[Job], forget: Callable[[Job], bool]) -> None:
        self.total = len(todo)
        for job in fair_order(todo):
            try:
                if job.problem is not None:
                    raise UnsafeFile(job.problem)
                files = _read_files(job)
                if "Dockerfile" not in files or not present(job.folder / "Dockerfile"):
                    self.finish(*_local_outcome(job, self.config, None))
                    continue
            except GradeError as exc:
                self.finish(*_local_outcome(job, self.config, exc))
                continue
            queued = self.queued_job(job, files)
            if forget(job):
                self.store.forget_result(queued)
            self.waiting[queued.job_id] = (job, queued)
            submit_job(self.app, self.store, queued)
            self.emit(job.key, Event(queued.job_id, "queued"), self.store.position(queued.job_id))

    def collect(self) -> None:
        """Record every waiting job whose result a worker has stored."""
        pairs = list(self.waiting.values())
        for (job, queued), result in zip(pairs, self.store.results([q for _, q in pairs]), strict=True):
            if result is not None:
                del self.waiting[queued.job_id]
                if not self.shown.get(queued.job_id):  # stored before its event was read: say it here
                    self.emit(job.key, Event(queued.job_id, "graded", result.worker, _summary(result.report)))
                self.finish(Outcome(job, result.report, result.seconds), result.fragment)

    def follow(self) -> None:
        """Stream the run's events until every job is recorded; a lost broker is waited for, not fatal."""
        deadline = None if self.run.wait_s is None else time.monotonic() + self.run.wait_s
        last_check = 0.0
        while self.waiting and (deadline is None or time.monotonic() < deadline):
            try:
                for entry_id, event in self.store.events(self.run_id, self.cursor):
                    self.cursor = entry_id
                    pair = self.waiting.get(event.job_id)
                    if pair is not None and event.state != "queued":  # queued was shown with its place
                        self.emit(pair[0].key, event)
                        self.shown[event.job_id] = event.state == "graded"
                    if event.state == "superseded" and pair is not None:
                        del self.waiting[event.job_id]
                if time.monotonic() - last_check > 5.0:
                    last_check = time.monotonic()
                    self.check_workers()
                self.collect()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                self.emit("*", Event("*", "waiting", message=f"the broker does not answer ({exc}); retrying"))
                time.sleep(1.0)

    def check_workers(self) -> None:
        """Say so when no live worker serves an exercise of this run, and how the live ones differ."""
        workers = self.store.workers()
        for exercise, parts in self.parts.items():
            if not any(q.exercise == exercise for _, q in self.waiting.values()):
                continue
            theirs = {name: dict(info.get("fingerprints", {}).get(exercise, {}), how=parts["how"])
                      for name, info in workers.items()}
            if any(copy_fingerprint(other) == copy_fingerprint(parts) for other in theirs.values() if other.keys()
                   >= parts.keys()):
                continue
            why = "; ".join(f"worker {name} differs in {', '.join(differences(exercise, parts, other)) or 'its queue'}"
                            for name, other in theirs.items()) or "no worker is running"
            self.emit("*", Event("*", "waiting", message=f"no worker matches {exercise}'s apps, bases and settings "
                                                        f"({why}); its jobs wait for one"))


def grade_on_queue(run: QueueRun, api: Any, todo: Sequence[Job], config: GradeConfig, recorder: _Recording,
                   progress: ProgressSink | None, *, forget: Collection[str] = ()) -> tuple[list[Outcome], bool]:
    """Queue `todo`, follow it to the end, record each result through `recorder`; (outcomes, interrupted).

    Jobs whose key is in `forget` grade their files again even if a result is kept (--fresh, --retry-errors). On
    Ctrl-C the jobs stay queued and their results stay kept: the next run records them without grading again."""
    follower = _Follower(run, api, replace(config), recorder, progress)
    follower.submit_all(todo, lambda job: job.key in forget)
    follower.collect()
    follower.follow()
    return follower.graded, bool(follower.waiting)
