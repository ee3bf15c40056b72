"""What the limits cost: grading time of the three reference solutions with the default limits and without
effective limits (every limit set far above what a build uses), on one back end.

    python tests/benchmarks/bench_limits.py [--backend auto|classic|buildx] [--repeats N] [--apps APP ...]

Each row grades one solution cold (`no_cache`: every step rebuilt, the container run again) and then warm (an
unchanged regrade), alternating the two settings so that load from other sessions falls on both. The limits'
mechanism (a cgroup per classic build, the BuildKit step limiter) runs in both columns; what differs is whether
anything is throttled. Prints a Markdown table; numbers are seconds (best of the repeats).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from grader.api import GradeConfig, grade
from grader.engine.limits import Limits
from grader.paths import SOLUTIONS_DIR
from grader.settings import load_settings

APPS = ("node-api", "fastapi", "combined")
UNLIMITED = Limits(build_memory_bytes=64 * 2**30, build_pids=1_000_000, build_cpus=float(os.cpu_count() or 2),
                   run_pids=1_000_000, run_cpus=float(os.cpu_count() or 2), image_max_bytes=10**12)


def _grade_seconds(app: str, limits: Limits, backend: str, tag: str, cold: bool) -> tuple[float, float, int]:
    """(total wall seconds, build seconds, exit code) of one grade."""
    settings = replace(load_settings(app), limits=limits)
    config = GradeConfig(backend=backend, no_cache=cold, baseline=False, lint=False, tag=tag, settings=settings)
    started = time.monotonic()
    report = grade(app, SOLUTIONS_DIR / app / "Dockerfile", config=config)
    return time.monotonic() - started, report.build.seconds if report.build else float("nan"), report.exit_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", choices=("auto", "classic", "buildx"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--apps", nargs="+", default=list(APPS), choices=APPS)
    args = parser.parse_args()
    api = docker.from_env().api
    rows = []
    for app in args.apps:
        best: dict[tuple[str, str], tuple[float, float, int]] = {}
        tags = {name: f"docker-diet-workshop/bench-limits:{app}-{name}-{uuid.uuid4().hex[:6]}"
                for name in ("limits", "none")}
        for _ in range(args.repeats):
            for name, limits in (("limits", Limits()), ("none", UNLIMITED)):
                for phase, cold in (("cold", True), ("warm", False)):
                    result = _grade_seconds(app, limits, args.backend, tags[name], cold)
                    key = (name, phase)
                    best[key] = min(best.get(key, result), result)
        rows.append((app, best))
        for tag in tags.values():
            try:
                api.remove_image(tag, force=True)
            except docker.errors.APIError:
                pass
    defaults = Limits()
    print(f"backend: {args.backend}; load average at the end: {os.getloadavg()[0]:.1f}; default limits: build "
          f"{defaults.build_memory_bytes // 2**20} MiB, {defaults.build_pids} pids, {defaults.build_cpus} CPUs; "
          f"run {defaults.run_pids} pids, {defaults.run_cpus} CPU\n")
    print("| solution | cold total, limits | cold total, none | cold build, limits | cold build, none "
          "| warm total, limits | warm total, none | exit codes |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for app, best in rows:
        cells = [f"{best[(n, p)][i]:.1f}" for p, i in (("cold", 0),) for n in ("limits", "none")]
        cells += [f"{best[(n, 'cold')][1]:.1f}" for n in ("limits", "none")]
        cells += [f"{best[(n, 'warm')][0]:.1f}" for n in ("limits", "none")]
        codes = ",".join(str(best[key][2]) for key in sorted(best))
        print(f"| {app} | " + " | ".join(cells) + f" | {codes} |")


if __name__ == "__main__":
    main()
