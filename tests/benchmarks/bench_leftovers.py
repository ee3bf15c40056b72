"""What a class run leaves on the engine before its cleanup, and after it.

    python tests/benchmarks/bench_leftovers.py [--backend auto|classic|buildx] [--fat-mb N]

Grades a small class of fastapi submissions (the reference solution, the naive starting point, and a submission
whose unused stage writes N MB before its last stage fails) with `keep_images`, so that nothing is pruned yet;
lists the run's leftovers (grader.engine.leftovers: new untagged images and build-cache records that ran one of
the class's RUN commands); then removes the graded images and prunes, as grade-class does at the end of a run,
and lists them again. Prints a Markdown table (MB: bytes the removal frees, each layer once).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from grader.api import GradeConfig
from grader.course.classroom import _commands, find_jobs, grade_class, remove_images
from grader.engine.leftovers import Leftovers, find_leftovers, mark_engine, prune_leftovers
from grader.exercises import starter_dockerfile
from grader.paths import SOLUTIONS_DIR

EXERCISE = "fastapi"
FAT = """FROM python:3.11-slim AS fat
RUN echo {token} && dd if=/dev/zero of=/fill bs=1M count={mb} status=none && echo small > /small
FROM python:3.11-slim
COPY --from=fat /small /small
RUN echo {token}-final && exit 3
"""


def _class(root: Path, fat_mb: int) -> None:
    (root / "solution" / EXERCISE).mkdir(parents=True)
    for source, name in (("Dockerfile", "Dockerfile"), ("Dockerfile.dockerignore", ".dockerignore")):
        shutil.copyfile(SOLUTIONS_DIR / EXERCISE / source, root / "solution" / EXERCISE / name)
    (root / "naive" / EXERCISE).mkdir(parents=True)
    shutil.copyfile(starter_dockerfile(EXERCISE), root / "naive" / EXERCISE / "Dockerfile")
    (root / "fat" / EXERCISE).mkdir(parents=True)
    (root / "fat" / EXERCISE / "Dockerfile").write_text(FAT.format(token=uuid.uuid4().hex, mb=fat_mb))


def _row(label: str, found: Leftovers) -> str:
    images = sum(size for _, size in found.images) / 1e6
    cache = sum(size for _, size in found.cache) / 1e6
    return f"| {label} | {len(found.images)} | {images:,.1f} | {len(found.cache)} | {cache:,.1f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", choices=("auto", "classic", "buildx"))
    parser.add_argument("--fat-mb", type=int, default=40)
    args = parser.parse_args()
    api = docker.from_env().api
    with tempfile.TemporaryDirectory(prefix="bench-leftovers-") as tmp:
        subs = Path(tmp) / "subs"
        _class(subs, args.fat_mb)
        mark = mark_engine(api)
        started = time.monotonic()
        config = GradeConfig(backend=args.backend, lint=False)
        result = grade_class(subs, Path(tmp) / "out", jobs=2, config=config, keep_images=True)
        jobs = find_jobs(subs)
        commands = _commands(jobs, config)
        before = find_leftovers(api, mark, commands)
        remove_images(api, jobs)
        pruned = prune_leftovers(api, find_leftovers(api, mark, commands))
        after = find_leftovers(api, mark, commands)
    print(f"backend {args.backend}; {len(result.graded)} submissions graded in {time.monotonic() - started:.0f} s; "
          f"the fat stage writes {args.fat_mb} MB\n")
    print("| when | untagged images | MB | build-cache records | MB |\n| --- | --- | --- | --- | --- |")
    print(_row("after grading, before cleanup (graded images still tagged)", before))
    print(_row("removed by the cleanup (graded images untagged first)", pruned))
    print(_row("after cleanup", after))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
