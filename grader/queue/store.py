"""What the queue keeps in Redis besides Celery's own messages: results, progress, positions and the workers.

Celery carries the jobs; this module is the one place that names every other Redis key, so the submitter
(`grade-class --queue`), the workers and a future `workshop serve` read and write the same records:

    ddw:result:<digest>:<fingerprint>  one job's result (report + HTML fragment), written once (SET NX)
    ddw:state:<job id>                  the job's latest state: queued, building, probing, graded, retried, ...
    ddw:events:<run>                    a Redis stream of every state change of one run (what progress streams)
    ddw:pending                         sorted set: job ids waiting for a worker, by submission order
    ddw:latest:<learner>/<exercise>     the id of that learner's newest submission (older ones are superseded)
    ddw:worker:<name>                   a worker's heartbeat: its engine, concurrency and fingerprints (expires)

Everything is plain JSON, so any client (a web app, a shell with redis-cli) can read it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

__all__ = [
    "BROKER_WAIT_S",
    "EVENT_STATES",
    "HEARTBEAT_S",
    "Event",
    "JobResult",
    "QueuedJob",
    "Store",
]

#: Every state a job passes through, in order; "refused", "retried" and "superseded" are side roads.
EVENT_STATES = ("queued", "building", "probing", "graded", "refused", "retried", "superseded")
#: A worker refreshes its heartbeat this often; one unseen for three beats is gone.
HEARTBEAT_S = 5.0
#: How long a command waits for a broker that went away before it fails.
BROKER_WAIT_S = 300.0
_PREFIX = "ddw"


@dataclass(frozen=True)
class QueuedJob:
    """One submission as it travels: the learner's own files (base64 is not needed: they are text), never the app."""

    job_id: str
    run: str
    learner: str
    exercise: str
    digest: str  # the submission's files and the exercise fingerprint (grader.course.classroom.Job.digest)
    fingerprint: str  # grader.api.exercise_fingerprints for this exercise and config
    parts: dict[str, str]  # what the fingerprint is made of (grader.queue.fingerprint.fingerprint_parts)
    files: dict[str, str]  # file name -> text: Dockerfile, .dockerignore, Dockerfile.dockerignore
    config: dict[str, Any]  # the GradeConfig fields that travel (grader.queue.tasks.config_from_job)
    problem: str | None = None  # why the folder could not be read: graded as "could not grade" without a build

    @property
    def result_key(self) -> str:
        return f"{_PREFIX}:result:{self.digest}:{self.fingerprint}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueuedJob:
        return cls(**data)


@dataclass(frozen=True)
class JobResult:
    """A finished job: the JSON report, its HTML fragment, who graded it and how long it took."""

    report: dict[str, Any]
    fragment: str
    seconds: float
    worker: str
    attempts: int = 1


@dataclass(frozen=True)
class Event:
    """One state change of one job, as the progress stream shows it."""

    job_id: str
    state: str
    worker: str = ""
    message: str = ""
    at: float = field(default_factory=time.time)


class Store:
    """The queue's records in one Redis database (the broker's, so they persist and fail over with it)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Every command is retried for about BROKER_WAIT_S while the broker is away (a restart): a worker that
        # graded a job during it stores the result when the broker is back instead of losing it.
        # redis-py types every reply as a union of its protocol forms: Any here, plain values below.
        retry = Retry(ExponentialBackoff(cap=2.0, base=0.1), int(BROKER_WAIT_S / 2))
        self.redis: Any = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10,
                                               socket_connect_timeout=5, health_check_interval=10, retry=retry,
                                               retry_on_error=[redis.exceptions.ConnectionError,
                                                               redis.exceptions.TimeoutError])

    # ------------------------------------------------------------ jobs and positions (submitter side)

    def enqueue(self, job: QueuedJob) -> None:
        """Mark `job` as waiting, last in line, and as its learner's newest submission for the exercise: an older
        one still waiting leaves the line (its worker skips it as superseded)."""
        latest_key = f"{_PREFIX}:latest:{job.learner}/{job.exercise}"
        previous = self.redis.getset(latest_key, job.job_id)
        pipe = self.redis.pipeline()
        if previous and previous != job.job_id:
            pipe.zrem(f"{_PREFIX}:pending", previous)
        pipe.zadd(f"{_PREFIX}:pending", {job.job_id: self.redis.incr(f"{_PREFIX}:seq")})
        pipe.execute()
        self.publish(job.run, Event(job.job_id, "queued"))

    def position(self, job_id: str) -> int | None:
        """1 when `job_id` is next in line for a worker; None once a worker has it (or it is unknown)."""
        rank = self.redis.zrank(f"{_PREFIX}:pending", job_id)
        return None if rank is None else int(rank) + 1

    def is_latest(self, job: QueuedJob) -> bool:
        latest = self.redis.get(f"{_PREFIX}:latest:{job.learner}/{job.exercise}")
        return latest in (None, job.job_id)

    def take(self, job_id: str) -> None:
        """A worker started the job: it leaves the line."""
        self.redis.zrem(f"{_PREFIX}:pending", job_id)

    # ------------------------------------------------------------ results (worker side, read by everyone)

    def store_result(self, job: QueuedJob, result: JobResult) -> bool:
        """Keep the result unless one is already kept for the same files and fingerprint; True when stored.

        A job delivered twice (a worker lost after grading, before its acknowledgement) is thus stored once."""
        return bool(self.redis.set(job.result_key, json.dumps(asdict(result)), nx=True))

    def result(self, job: QueuedJob) -> JobResult | None:
        raw = self.redis.get(job.result_key)
        return None if raw is None else JobResult(**json.loads(raw))

    def results(self, jobs: list[QueuedJob]) -> list[JobResult | None]:
        """Many results in one round trip (MGET), in the order of `jobs`."""
        raws = self.redis.mget([job.result_key for job in jobs]) if jobs else []
        return [None if raw is None else JobResult(**json.loads(raw)) for raw in raws]

    def forget_result(self, job: QueuedJob) -> None:
        """`--fresh` and `--retry-errors`: grade these files again even though a result is kept."""
        self.redis.delete(job.result_key)

    # ------------------------------------------------------------ progress

    def publish(self, run: str, event: Event) -> None:
        pipe = self.redis.pipeline()
        pipe.xadd(f"{_PREFIX}:events:{run}", {"event": json.dumps(asdict(event))}, maxlen=100_000)
        pipe.set(f"{_PREFIX}:state:{event.job_id}", json.dumps(asdict(event)), ex=7 * 86400)
        pipe.execute()

    def events(self, run: str, after: str = "0", block_ms: int = 500) -> list[tuple[str, Event]]:
        """The run's events after stream id `after` (waits up to `block_ms` for the first): (id, event) pairs."""
        reply = self.redis.xread({f"{_PREFIX}:events:{run}": after}, block=block_ms, count=1000)
        found = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                found.append((str(entry_id), Event(**json.loads(fields["event"]))))
        return found

    def state(self, job_id: str) -> Event | None:
        raw = self.redis.get(f"{_PREFIX}:state:{job_id}")
        return None if raw is None else Event(**json.loads(raw))

    # ------------------------------------------------------------ workers

    def heartbeat(self, name: str, info: dict[str, Any]) -> None:
        self.redis.set(f"{_PREFIX}:worker:{name}", json.dumps(info), ex=int(3 * HEARTBEAT_S))

    def leave(self, name: str) -> None:
        self.redis.delete(f"{_PREFIX}:worker:{name}")

    def workers(self) -> dict[str, dict[str, Any]]:
        """Every live worker's heartbeat, by name."""
        found = {}
        for key in self.redis.scan_iter(f"{_PREFIX}:worker:*"):
            raw = self.redis.get(key)
            if raw is not None:
                found[key.split(":", 2)[2]] = json.loads(raw)
        return found
