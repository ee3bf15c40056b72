"""The Celery application: one broker URL, the delivery rules that lose nothing, and the queue names.

Delivery rules (issue 16, "nothing lost, nothing counted twice"):
- `task_acks_late`: a job is acknowledged only after its result is stored; `worker_prefetch_multiplier = 1`: a
  worker holds no job it has not started, so a lost worker strands at most the jobs it was grading.
- The Redis visibility timeout is longer than the longest grading (`visibility_timeout`): a job taken by a worker
  that died (SIGKILL, a host that went away) goes back to the queue after it, and another worker grades it; idle
  workers look for such jobs every `RESTORE_EVERY_S` seconds.
- `task_reject_on_worker_lost`: a job whose process died is requeued rather than acknowledged.
- Results are kept by the worker under (submission digest, fingerprint) with SET NX (grader.queue.store), so a job
  delivered twice is stored once, and a second delivery of a graded job is not built again.
- The broker's connection is retried forever, at start-up and after a loss: a broker restart pauses the run.

Queues: one per exercise and worker copy (`ddw.<exercise>.<copy fingerprint>`), so a job only reaches workers whose
apps, bases, settings and grader are those it was submitted against.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

__all__ = [
    "MARGIN_S",
    "RESTORE_EVERY_S",
    "RUN_ALLOWANCE_S",
    "TASK_NAME",
    "default_concurrency",
    "make_app",
    "queue_name",
    "visibility_timeout",
]

TASK_NAME = "grader.queue.grade"
#: Inspecting and running the image once (health wait up to 60 s, probes) plus the naive baseline's lookup.
RUN_ALLOWANCE_S = 180.0
#: Slack on top of a build and a run (a slow disk, a loaded engine).
MARGIN_S = 60.0
#: Idle workers look for jobs stranded by a lost worker this often.
RESTORE_EVERY_S = 2


def visibility_timeout(build_timeout_s: float) -> float:
    """How long a taken job may stay unacknowledged before it is given to another worker: the longest build
    (the build timeout), plus the run, plus a margin. 600 s builds give 840 s."""
    return build_timeout_s + RUN_ALLOWANCE_S + MARGIN_S


def default_concurrency(engine_cpus: int | None) -> int:
    """Gradings at once on one worker: two per CPU of the engine it serves (much of a grading waits: for a
    container to turn healthy, for the disk), at least 2 and at most 8, as grade-class's local pool does
    (docs/instructor-guide.md has the measurements). The engine's CPUs, not this machine's: DOCKER_HOST may be
    another host."""
    cpus = engine_cpus or os.cpu_count() or 1
    return max(2, min(8, 2 * cpus))


def queue_name(exercise: str, copy_fingerprint: str) -> str:
    return f"ddw.{exercise}.{copy_fingerprint}"


def make_app(url: str, *, build_timeout_s: float = 600.0, visibility_s: float | None = None) -> Celery:
    """A Celery app on the Redis at `url`, with the delivery rules above and the grading task registered.
    `visibility_s` overrides the visibility timeout (tests; it must stay above the longest grading)."""
    app = Celery("docker-diet-workshop", broker=url, set_as_current=False)
    transport: dict[str, Any] = {
        "visibility_timeout": visibility_s or visibility_timeout(build_timeout_s),
        "unacked_restore_interval": RESTORE_EVERY_S,
        "unacked_restore_throttle": 1,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "health_check_interval": 10,
    }
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport,
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_heartbeat=0,
        task_ignore_result=True,  # results go to grader.queue.store, keyed for exactly-once storage
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_default_queue="ddw.default",
        worker_enable_remote_control=True,
        worker_send_task_events=False,
    )
    from grader.queue.tasks import register

    register(app)
    return app
