"""Grading spread over several Docker hosts: Celery with a Redis broker, one worker per Docker host.

    grader.queue.app          the Celery app and its delivery rules (acks late, prefetch 1, visibility timeout)
    grader.queue.fingerprint  does a worker's copy (apps, bases, settings, grader) match a job's?
    grader.queue.store        results, progress events, positions and worker heartbeats in Redis
    grader.queue.tasks        the grading task a worker runs
    grader.queue.worker       `workshop worker`
    grader.queue.submit       `workshop grade-class --queue` (and `submit_job` for a future `workshop serve`)

Needs the `queue` extra (celery[redis], redis); nothing else in the grader imports this package.
"""

from __future__ import annotations

__all__: list[str] = []
