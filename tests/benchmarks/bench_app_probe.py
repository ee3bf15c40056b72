"""What `app-works` costs: seconds the app probe adds to the one run of each reference solution, and the cold start
of the PostgreSQL it starts for fastapi.

    python tests/benchmarks/bench_app_probe.py [--repeats N] [--apps APP ...]

Each solution is built once (the step cache makes that quick after the first time) and inspected once; then the
image is run alternately without its contract and with it (`run_image(..., contract)`), so that load from other
sessions falls on both columns. "added" is the difference of the medians; "probe" is the probe's own time as it
records it (database wait + the probe container + the requests). The database row starts PostgreSQL beside a
container that only sleeps and times it until `pg_isready` answers over TCP (initdb included: every probe starts
from an empty tmpfs). Goals (issue 15): the probe adds <= 2 s to a solution's run, the database <= 5 s cold.
Prints a Markdown table; numbers are seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from grader.app_contract import DatabaseSpec, load_contract
from grader.context import assemble_context
from grader.dockerfile import parse_dockerfile
from grader.engine.build import BuildRequest, choose_builder
from grader.engine.database import Database
from grader.engine.inspect import inspect_image
from grader.engine.run import RunLimits, run_image
from grader.paths import APPS_DIR, PROJECT_LABEL, SOLUTIONS_DIR
from grader.settings import load_settings

APPS = ("node-api", "fastapi", "combined")
TAG = "docker-diet-workshop/bench-app-probe"


def _build(api: docker.APIClient, app: str) -> str:
    text = (SOLUTIONS_DIR / app / "Dockerfile").read_text()
    context = assemble_context(APPS_DIR / app, text, (SOLUTIONS_DIR / app / "Dockerfile.dockerignore").read_text())
    labels = {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "graded"}
    build = choose_builder(api, "auto").build(BuildRequest(context, parse_dockerfile(text), f"{TAG}:{app}", labels,
                                                           limits=load_settings(app).limits))
    return build.image_id


def _run_row(api: docker.APIClient, app: str, repeats: int) -> list[str]:
    facts = inspect_image(api, _build(api, app))
    limits = RunLimits.from_settings(load_settings(app))
    contract = load_contract(APPS_DIR / app)
    without, with_probe, probe_own = [], [], []
    for _ in range(repeats):
        without.append(run_image(api, facts, limits).seconds)
        run = run_image(api, facts, limits, contract)
        with_probe.append(run.seconds)
        assert run.app_probe is not None and run.app_probe.status == "probed", run.app_probe
        probe_own.append(run.app_probe.seconds)
    added = statistics.median(with_probe) - statistics.median(without)
    return [app, f"{statistics.median(without):.2f}", f"{statistics.median(with_probe):.2f}", f"{added:.2f}",
            f"{statistics.median(probe_own):.2f}", "<= 2", "yes" if added <= 2 else "NO"]


def _database_row(api: docker.APIClient, repeats: int) -> list[str]:
    times = []
    for _ in range(repeats):
        host = api.create_host_config(network_mode="none")
        sleeper = api.create_container("python:3.11-slim", command=["sleep", "120"], host_config=host,
                                       labels={PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "bench"})["Id"]
        database = Database(api, DatabaseSpec())
        try:
            api.start(sleeper)
            started = time.monotonic()
            database.start(sleeper)
            problem = database.wait()
            assert problem is None, problem
            times.append(time.monotonic() - started)
        finally:
            database.remove()
            api.remove_container(sleeper, force=True)
    best = statistics.median(times)
    return ["database (postgres:15, cold)", "", "", f"{best:.2f}", f"{min(times):.2f}-{max(times):.2f}", "<= 5",
            "yes" if best <= 5 else "NO"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--apps", nargs="+", default=list(APPS), choices=APPS)
    args = parser.parse_args()
    api = docker.from_env().api
    rows = []
    try:
        rows = [_run_row(api, app, args.repeats) for app in args.apps]
        rows.append(_database_row(api, args.repeats))
    finally:
        for app in args.apps:
            try:
                api.remove_image(f"{TAG}:{app}")
            except docker.errors.APIError:
                pass
    print("| solution | run without probe (s) | run with probe (s) | added (s) | probe's own / range (s) | goal "
          "| met |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
