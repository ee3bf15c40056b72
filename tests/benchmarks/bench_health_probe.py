"""What the healthcheck probes and the process sampling cost a grade of each reference solution.

    python tests/benchmarks/bench_health_probe.py [--repeats N] [--only node-api stretch/fastapi ...]

Grades every solution and stretch solution under its own tag with `rerun` (the container is run again, the build
comes from the cache) and prints, per solution: the run step (main run, both healthcheck probes, the setuid scan
and the process sampling, which run concurrently), how long the main run took to turn healthy, the difference
(what the run step spends beyond the main run's own wait: container set-up and removal, and waiting for the
probes), the time beyond the build, the load average, and the verdicts of healthcheck-meaningful and non-root.
Run it on a checkout before and after a change to the probes to see what the change costs, alternating the two
solution by solution (`--only`) on a shared machine, since its load moves more than the probes do; the best of N
repeats is kept, because the slowest run says more about the neighbours than about the probe.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker  # noqa: E402

from grader.api import GradeConfig, grade  # noqa: E402
from grader.paths import SOLUTIONS_DIR  # noqa: E402

APPS = ("node-api", "fastapi", "combined")


def _solutions() -> list[tuple[str, Path]]:
    found = [(app, SOLUTIONS_DIR / app / "Dockerfile") for app in APPS]
    found += [(app, SOLUTIONS_DIR / "stretch" / app / "Dockerfile") for app in APPS]
    return [(app, path) for app, path in found if path.is_file()]


def _verdict(report: object, check_id: str) -> str:
    try:
        result = report.check(check_id)  # type: ignore[attr-defined]
    except (KeyError, AttributeError):
        return "-"
    return f"{result.status.value} {result.points:g}/{result.max_points:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="solutions to grade, e.g. node-api stretch/fastapi (default all)")
    args = parser.parse_args()
    tag_prefix = f"docker-diet-workshop/bench-health-{uuid.uuid4().hex[:8]}"
    rows = []
    client = docker.from_env()
    try:
        for app, dockerfile in _solutions():
            name = str(dockerfile.parent.relative_to(SOLUTIONS_DIR))
            if args.only and name not in args.only:
                continue
            tag = f"{tag_prefix}:{name.replace('/', '-')}"
            runs, beyond, healthy, report = [], [], [], None
            for _ in range(max(args.repeats, 1)):
                config = GradeConfig(baseline=False, lint=False, tag=tag, rerun=True)
                report = grade(app, dockerfile, config=config)
                runs.append(report.timings.get("run", float("nan")))
                beyond.append(report.timings.get("beyond_build", float("nan")))
                healthy.append(report.run.health_seconds if report.run and report.run.health_seconds else float("nan"))
            best = runs.index(min(runs))
            rows.append((name, runs[best], healthy[best], beyond[best], os.getloadavg()[0],
                         _verdict(report, "healthcheck"), _verdict(report, "healthcheck-meaningful"),
                         _verdict(report, "non-root")))
            try:
                client.api.remove_image(tag, force=True)
            except docker.errors.APIError:
                pass
    finally:
        client.close()
    print(f"{'solution':<18} {'run s':>6} {'healthy s':>9} {'run-healthy':>11} {'beyond build':>12} {'load':>5}  "
          f"{'healthcheck':<11} {'meaningful':<11} non-root")
    for name, run_s, healthy_s, beyond_s, load, health, meaningful, non_root in rows:
        print(f"{name:<18} {run_s:>6.2f} {healthy_s:>9.2f} {run_s - healthy_s:>11.2f} {beyond_s:>12.2f} {load:>5.1f}  "
              f"{health:<11} {meaningful:<11} {non_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
