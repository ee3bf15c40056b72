"""`workshop worker`: the command that serves grading jobs from a Redis broker (grader.queue.worker).

grader/cli/workshop.py calls `register(subparsers)`; exit codes: 0 stopped cleanly, 2 could not start (no engine,
the `queue` extra missing, a bad URL).
"""

from __future__ import annotations

import argparse
import sys

from grader.api import GradeConfig
from grader.model import EXIT_CANNOT
from grader.paths import EXERCISES

__all__ = [
    "MISSING_EXTRA",
    "check_queue_url",
    "cmd_worker",
    "register",
]

MISSING_EXTRA = ("The queue needs Celery and redis-py: `.venv/bin/pip install -e '.[queue]'` (the README's test "
                 "command installs them).")


def check_queue_url(url: str) -> str | None:
    """Why `url` is not a broker URL the queue takes, or None."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return f"--queue takes a Redis URL such as redis://HOST:6379/0 (rediss:// for TLS), not {url!r}."
    return None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("worker", help="Serve grading jobs from a Redis broker on this host's Docker engine.")
    p.add_argument("--queue", required=True, metavar="redis://HOST:PORT/N",
                   help="The broker (the same URL `grade-class --queue` submits to).")
    p.add_argument("--concurrency", "-c", type=int, default=None,
                   help="Gradings at once (default: 2 per CPU of the engine, between 2 and 8).")
    p.add_argument("--name", help="This worker's name (default: HOST-PID); its images are tagged with it.")
    p.add_argument("--build-timeout", type=float, default=GradeConfig().build_timeout_s, metavar="SECONDS",
                   help="The longest build this worker's jobs use; sets the broker's visibility timeout.")
    p.add_argument("--visibility-timeout", type=float, default=None, metavar="SECONDS",
                   help="Seconds before a taken, unacknowledged job goes to another worker (default: build timeout "
                        "+ 240; keep it above the longest grading).")
    p.add_argument("--exercise", action="append", choices=EXERCISES, dest="exercises",
                   help="Only this exercise's jobs (repeat for several; default: all three).")
    p.add_argument("--log-level", default="WARNING", help="Celery's log level (default WARNING).")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from grader.errors import NoEngine

    problem = check_queue_url(args.queue)
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_CANNOT
    try:
        from grader.queue.worker import run_worker
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        return EXIT_CANNOT
    try:
        return run_worker(args.queue, name=args.name, concurrency=args.concurrency,
                          build_timeout_s=args.build_timeout, exercises=tuple(args.exercises or EXERCISES),
                          visibility_s=args.visibility_timeout, log_level=args.log_level)
    except NoEngine as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_CANNOT
