"""The live view's one door to the grading queue: queue an upload, and read back its state, place and result.

The server builds nothing: a submission becomes a grader.queue job (the learner's files and the fingerprint of
the apps, bases, settings and grader it must be graded against), and a worker on some Docker host grades it. The
fingerprint's `bases` part needs an engine; a server without one takes it from a live worker whose copy of the
apps, settings and grader equals the server's, and says so when there is none.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from grader.api import ENGINE_ERRORS, GradeConfig, connect_engine
from grader.errors import GradeError
from grader.queue.app import make_app
from grader.queue.fingerprint import combine, fingerprint_parts
from grader.queue.store import QueuedJob, Store
from grader.queue.submit import submit_job
from grader.queue.tasks import config_to_job

__all__ = ["RUN", "JobStatus", "NoWorkerCopy", "QueueDispatcher", "failed_check_ids"]

#: The queue's run name for every upload to the live view (its progress events stream under it).
RUN = "serve"


class NoWorkerCopy(GradeError):
    """Neither this server's engine nor any live worker can say which base images a job must be graded on."""

    kind = "no-worker"


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands: its state, its place in the line (1 is next), a message, and the report once graded."""

    state: str
    position: int | None = None
    message: str = ""
    report: dict[str, Any] | None = None


class _NoEngine:
    """Stands in for an engine on a server without one: every base image reads as missing."""

    def inspect_image(self, name: str) -> dict[str, Any]:
        raise ValueError(name)


def failed_check_ids(report: dict[str, Any]) -> list[str]:
    """The scored checks a report failed, for the room's "fails most" list."""
    return [check["id"] for check in report.get("checks", [])
            if check.get("status") in ("fail", "error") and check.get("max_points")]


class QueueDispatcher:
    """Queues uploads on a Redis broker and follows them (grader.queue.store holds every record)."""

    def __init__(self, url: str, config: GradeConfig) -> None:
        self.config, self.store = config, Store(url)
        self.app = make_app(url, build_timeout_s=config.build_timeout_s)
        self.api: Any
        try:
            self.api = connect_engine()
        except GradeError:
            self.api = None

    def _parts(self, exercise: str) -> dict[str, str]:
        if self.api is not None:
            try:
                return fingerprint_parts(self.api, exercise, self.config)
            except ENGINE_ERRORS:
                pass
        mine = fingerprint_parts(_NoEngine(), exercise, self.config)
        for info in self.store.workers().values():
            theirs = info.get("fingerprints", {}).get(exercise, {})
            if all(theirs.get(part) == mine[part] for part in ("settings", "app", "grader")):
                return {**mine, "bases": str(theirs.get("bases", ""))}
        raise NoWorkerCopy(f"No worker serves {exercise} with this server's apps, grading settings and grader, and "
                           "this server has no Docker engine to read the base images from. Start `workshop worker "
                           "--queue URL` on a Docker host with the same checkout of the workshop.")

    def submit(self, learner: str, exercise: str, files: dict[str, str]) -> QueuedJob:
        """Queue one upload; a newer one from the same learner for the same app supersedes a waiting older one."""
        parts = self._parts(exercise)
        fingerprint = combine(parts)
        # The learner is part of the key: two learners' identical files are two results, never one shared.
        digest = hashlib.sha256(json.dumps([learner, files, fingerprint], sort_keys=True).encode()).hexdigest()[:32]
        job = QueuedJob(job_id=f"{RUN}-{uuid.uuid4().hex[:12]}", run=RUN, learner=learner, exercise=exercise,
                        digest=digest, fingerprint=fingerprint, parts=parts, files=files,
                        config=config_to_job(self.config))
        submit_job(self.app, self.store, job)
        return job

    def status(self, job: QueuedJob) -> JobStatus:
        """The job's newest state; `graded` with the report once a worker stored its result."""
        result = self.store.result(job)
        if result is not None:
            return JobStatus("graded", None, "", result.report)
        event = self.store.state(job.job_id)
        state = event.state if event is not None else "queued"
        message = event.message if event is not None else ""
        if state == "retried":
            message = message or "could not grade, retried"
        return JobStatus(state, self.store.position(job.job_id), message)
