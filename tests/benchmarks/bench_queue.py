"""What the queue costs and gives: one class of small submissions graded by the local pool and by workers.

    python tests/benchmarks/bench_queue.py [--count 30] [--modes local-1,local,queue-1x1,queue-1,queue-2x2]
    python tests/benchmarks/bench_queue.py --count 30 --modes queue-1e,queue-2e      (two engines; needs root)

The class: `--count` learners, each the fastapi solution plus a label of their own (one tiny build step each,
every other step a cache hit), so the numbers are the grading pipeline's, not pip's. Every mode grades the class
afresh (`--fresh`: the remembered container runs are forgotten, every container runs again):

    local-1     the local pool, one grading at a time        local    the local pool, its default width
    queue-1x1   one worker, one grading at a time             queue-1  one worker, its default concurrency
    queue-2x2   two workers of 2 gradings each: on this one engine (queue-2e: two engines), the same width as
                local and queue-1 (4 on 2 cores), split over two workers
    queue-1ex1  one worker on the shared engine, one grading at a time       } the OFFLINE class below, no
    queue-1e    one worker on the shared engine, its default concurrency     } naive baseline (it needs apt)
    queue-2e    that worker plus one on a second dockerd (tests/workers/
                second_engine.py), each at its default concurrency

The offline class (the -e modes): `--count` learners, each `FROM python:3.11-slim`, a COPY of the app, a LABEL of
their own, a non-root USER and a CMD; no RUN, so it builds on an engine without network. The second engine is on
this same machine (same 2 cores, same disk): queue-2e measures two workers on two engines sharing one broker, not
two machines' capacity.

Columns: wall seconds, throughput (submissions per minute), time to the first result, and the overhead per job:
for the one-at-a-time modes, (wall - sum of the gradings' own seconds) / count; the queue's own overhead is
queue-1x1's minus local-1's (goal: <= 0.5 s). Redis is Debian's redis-server, started here on a free port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import redis  # noqa: E402
from course.helpers import EXERCISE, write_submission  # noqa: E402
from workers.conftest import RedisServer, Worker  # noqa: E402
from workers.second_engine import BASES, SecondEngine, offline_class  # noqa: E402

from grader.api import GradeConfig  # noqa: E402
from grader.course.classroom import ClassResult, Outcome, grade_class  # noqa: E402
from grader.queue.submit import QueueRun  # noqa: E402

MODES = ("local-1", "local", "queue-1x1", "queue-1", "queue-2x2")
TWO_ENGINE_MODES = ("queue-1ex1", "queue-1e", "queue-2e")


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

    config = GradeConfig(baseline=mode not in TWO_ENGINE_MODES)
    common = {"config": config, "exercises": (EXERCISE,), "fresh": True, "progress": progress}
    if mode.startswith("local"):
        return grade_class(subs, out, jobs=1 if mode == "local-1" else None, **common)  # type: ignore[arg-type]
    return grade_class(subs, out, queue=QueueRun(url, wait_s=3600), **common)  # type: ignore[arg-type]


def graded_by(server: RedisServer, since: float) -> str:
    """Which worker graded how many jobs since `since` (each job's latest state, as the workers published it)."""
    client = redis.Redis(port=server.port)
    counts: dict[str, int] = {}
    for key in client.scan_iter("ddw:state:*"):
        event = json.loads(client.get(key) or "{}")
        if event.get("state") == "graded" and event.get("at", 0) >= since:
            counts[event["worker"]] = counts.get(event["worker"], 0) + 1
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "-"


def run_mode(mode: str, subs: Path, work: Path, server: RedisServer, second: str | None) -> dict[str, float | str]:
    workers: list[Worker] = []
    if mode.startswith("queue"):
        count, width = {"queue-1x1": (1, 1), "queue-1": (1, 0), "queue-2x2": (2, 2), "queue-1ex1": (1, 1),
                        "queue-1e": (1, 0), "queue-2e": (2, 0)}[mode]
        client = redis.Redis(port=server.port)
        for i in range(count):
            env = dict(os.environ, DOCKER_HOST=second) if i == 1 and mode == "queue-2e" and second else None
            name = f"bench{i}" if mode not in TWO_ENGINE_MODES else ("main-engine", "second-engine")[i]
            workers.append(Worker(server.url, name, work / f"{mode}-{i}.log", concurrency=width or None,
                                  env=env))
        for worker in workers:
            worker.wait_ready(client)
    first: list[float] = []
    since = time.time()
    started = time.monotonic()
    try:
        result = _grade(subs, work / mode, mode, server.url, first)
    finally:
        for worker in workers:
            worker.stop()
    wall = time.monotonic() - started
    grading = sum(outcome.seconds for outcome in result.graded)
    errors = sum(1 for outcome in result.graded if outcome.report.get("error"))
    for outcome in [outcome for outcome in result.graded if outcome.report.get("error")][:1]:
        print(f"{mode}: {errors} errors, e.g. {outcome.report['error']}", file=sys.stderr)
    return {"wall": wall, "per_min": 60 * len(result.graded) / wall, "first": first[0] if first else float("nan"),
            "overhead": (wall - grading) / max(1, len(result.graded)), "graded": len(result.graded),
            "errors": errors, "by": graded_by(server, since) if workers else "-"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    modes = args.modes.split(",")
    offline = all(mode in TWO_ENGINE_MODES for mode in modes)
    if not offline and any(mode in TWO_ENGINE_MODES for mode in modes):
        parser.error(f"{', '.join(TWO_ENGINE_MODES)} grade another class: run them apart from the others")
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder, contextlib.ExitStack() as stack:
        work = Path(folder)
        subs = (offline_class if offline else make_class)(work / "subs", args.count)
        second = None
        if "queue-2e" in modes:
            engine = stack.enter_context(SecondEngine())
            engine.load(BASES)
            second = engine.url
        server = RedisServer(work / "redis")
        server.start()
        rows = {}
        try:
            grade_class(subs, work / "warm", config=GradeConfig(baseline=not offline), exercises=(EXERCISE,))
            for mode in modes:
                rows[mode] = run_mode(mode, subs, work, server, second)
                print(f"{mode}: {rows[mode]}", file=sys.stderr, flush=True)
        finally:
            server.stop()
    what = "FROM python:3.11-slim + COPY + LABEL, built offline" if offline else "solution + one LABEL each"
    print(f"\n{args.count} submissions of {EXERCISE} ({what}; builds are cache hits on the shared engine)\n")
    print("| mode | graded | errors | wall s | per minute | first result s | overhead per job s | graded by |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for mode, row in rows.items():
        overhead = f"{row['overhead']:.2f}" if mode in ("local-1", "queue-1x1", "queue-1ex1") else "-"
        print(f"| {mode} | {row['graded']:.0f} | {row['errors']:.0f} | {row['wall']:.1f} | {row['per_min']:.1f} | "
              f"{row['first']:.1f} | {overhead} | {row['by']} |")
    if "local-1" in rows and "queue-1x1" in rows:
        print(f"\nQueue overhead per job: {rows['queue-1x1']['overhead'] - rows['local-1']['overhead']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
