"""What the queue costs and gives: one class of small submissions graded by the local pool and by workers.

    python tests/benchmarks/bench_queue.py [--count 30] [--modes local-1,local,queue-1x1,queue-1,queue-2x2]

The class: `--count` learners, each the fastapi solution plus a label of their own (one tiny build step each,
every other step a cache hit), so the numbers are the grading pipeline's, not pip's. Every mode grades the class
afresh (`--fresh`: the remembered container runs are forgotten, every container runs again):

    local-1     the local pool, one grading at a time        local    the local pool, its default width
    queue-1x1   one worker, one grading at a time             queue-1  one worker, its default concurrency
    queue-2x2   two workers of 2 gradings each: on this one engine (no second dockerd here), the same width as
                local and queue-1 (4 on 2 cores), split over two workers

Columns: wall seconds, throughput (submissions per minute), time to the first result, and the overhead per job:
for the one-at-a-time modes, (wall - sum of the gradings' own seconds) / count; the queue's own overhead is
queue-1x1's minus local-1's (goal: <= 0.5 s). Redis is Debian's redis-server, started here on a free port.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import redis  # noqa: E402
from course.helpers import EXERCISE, write_submission  # noqa: E402
from workers.conftest import RedisServer, Worker  # noqa: E402

from grader.api import GradeConfig  # noqa: E402
from grader.course.classroom import ClassResult, Outcome, grade_class  # noqa: E402
from grader.queue.submit import QueueRun  # noqa: E402

MODES = ("local-1", "local", "queue-1x1", "queue-1", "queue-2x2")


def make_class(root: Path, count: int) -> Path:
    for i in range(count):
        folder = write_submission(root / f"learner{i:03d}" / EXERCISE, "solution")
        (folder / "Dockerfile").write_text((folder / "Dockerfile").read_text() + f'LABEL learner="bench-{i}"\n')
    return root


def _grade(subs: Path, out: Path, mode: str, url: str, first: list[float]) -> ClassResult:
    started = time.monotonic()

    def progress(done: int, total: int, outcome: Outcome) -> None:
        if not first:
            first.append(time.monotonic() - started)

    common = {"config": GradeConfig(), "exercises": (EXERCISE,), "fresh": True, "progress": progress}
    if mode.startswith("local"):
        return grade_class(subs, out, jobs=1 if mode == "local-1" else None, **common)  # type: ignore[arg-type]
    return grade_class(subs, out, queue=QueueRun(url, wait_s=3600), **common)  # type: ignore[arg-type]


def run_mode(mode: str, subs: Path, work: Path, server: RedisServer) -> dict[str, float]:
    workers: list[Worker] = []
    if mode.startswith("queue"):
        count, width = {"queue-1x1": (1, 1), "queue-1": (1, 0), "queue-2x2": (2, 2)}[mode]
        client = redis.Redis(port=server.port)
        for i in range(count):
            workers.append(Worker(server.url, f"bench{i}", work / f"{mode}-{i}.log", concurrency=width or None))
        for worker in workers:
            worker.wait_ready(client)
    first: list[float] = []
    started = time.monotonic()
    try:
        result = _grade(subs, work / mode, mode, server.url, first)
    finally:
        for worker in workers:
            worker.stop()
    wall = time.monotonic() - started
    grading = sum(outcome.seconds for outcome in result.graded)
    errors = sum(1 for outcome in result.graded if outcome.report.get("error"))
    return {"wall": wall, "per_min": 60 * len(result.graded) / wall, "first": first[0] if first else float("nan"),
            "overhead": (wall - grading) / max(1, len(result.graded)), "graded": len(result.graded),
            "errors": errors}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        work = Path(folder)
        subs = make_class(work / "subs", args.count)
        server = RedisServer(work / "redis")
        server.start()
        rows = {}
        try:
            grade_class(subs, work / "warm", config=GradeConfig(), exercises=(EXERCISE,))  # builds cached once
            for mode in args.modes.split(","):
                rows[mode] = run_mode(mode, subs, work, server)
                print(f"{mode}: {rows[mode]}", file=sys.stderr, flush=True)
        finally:
            server.stop()
    print(f"\n{args.count} submissions of {EXERCISE} (solution + one LABEL each; builds are cache hits)\n")
    print("| mode | graded | errors | wall s | per minute | first result s | overhead per job s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for mode, row in rows.items():
        overhead = f"{row['overhead']:.2f}" if mode in ("local-1", "queue-1x1") else "-"
        print(f"| {mode} | {row['graded']:.0f} | {row['errors']:.0f} | {row['wall']:.1f} | {row['per_min']:.1f} | "
              f"{row['first']:.1f} | {overhead} |")
    if "local-1" in rows and "queue-1x1" in rows:
        print(f"\nQueue overhead per job: {rows['queue-1x1']['overhead'] - rows['local-1']['overhead']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
