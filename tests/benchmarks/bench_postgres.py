"""What the postgres:15 service image costs: its size, the stand-in's build time, and a cold start to ready.

    python tests/benchmarks/bench_postgres.py [--runs 5] [--build]

A cold start is `docker run` of a fresh container with no network (POSTGRES_USER/PASSWORD/DB set, listening on
its loopback) until `pg_isready -h 127.0.0.1` succeeds inside it: initdb, the set-up server, the real server. The
CPU column is the container's own CPU time (its cgroup, as `docker stats` reads it), which on a busy machine tells
the work from the waiting.
`--build` also builds the stand-in recipe once under a private tag (from the present debian:bookworm-slim, apt
lists fetched again) and removes it. Prints a Markdown table; the issue's goal for the database is <= 5 s cold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from grader.bases import recipes
from grader.bases.catalog import base_status
from grader.paths import PROJECT_LABEL

TAG = "postgres:15"
ENV = {"POSTGRES_USER": "bench", "POSTGRES_PASSWORD": "bench", "POSTGRES_DB": "bench"}


def cold_start(client: docker.DockerClient, image: str) -> tuple[float, float]:
    """(seconds from `docker run` to pg_isready success, CPU seconds the container used until then)."""
    started = time.monotonic()
    container = client.containers.run(image, ["-c", "listen_addresses=127.0.0.1"], detach=True,
                                      network_mode="none", environment=ENV, labels={PROJECT_LABEL: "bench"})
    try:
        while container.exec_run(["pg_isready", "-q", "-h", "127.0.0.1", "-U", "bench"]).exit_code != 0:
            if time.monotonic() - started > 300:
                raise SystemExit(f"not ready after 300 s:\n{container.logs().decode(errors='replace')[-2000:]}")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        stats = client.api.stats(container.id, stream=False)  # the engine reads the cgroup, v1 or v2
        return seconds, int(stats["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9
    finally:
        container.remove(force=True, v=True)


def build_once(client: docker.DockerClient) -> tuple[float, int]:
    """(seconds, bytes) of one build of the stand-in recipe under a private tag, removed afterwards."""
    tag = f"docker-diet-workshop/bench-postgres:{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as context:
        Path(context, "Dockerfile").write_text(recipes.postgres(tag, "debian:bookworm-slim", has_extra_ca=False))
        shutil.copy(recipes.POSTGRES_ENTRYPOINT, Path(context, "docker-entrypoint.sh"))
        started = time.monotonic()
        client.images.build(path=context, tag=tag, rm=True, forcerm=True, nocache=True,
                            labels={PROJECT_LABEL: "bench"})
        seconds = time.monotonic() - started
    size = int(client.images.get(tag).attrs["Size"])
    client.images.remove(tag)
    return seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", action="store_true", help="also time one cold build of the stand-in recipe")
    args = parser.parse_args()
    client = docker.from_env()
    status = base_status(client, TAG)
    if not status.present:
        raise SystemExit("postgres:15 is missing: run `workshop bases` first.")
    print(f"{TAG}: {status.state.value}, {status.size_bytes / 1e6:.0f} MB; machine: {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}\n")
    print("| measure | median | min | max |\n| --- | --- | --- | --- |")
    if args.build:
        seconds, size = build_once(client)
        print(f"| stand-in build (apt, one layer), {size / 1e6:.0f} MB | {seconds:.1f} s | | |")
    runs = [cold_start(client, TAG) for _ in range(args.runs)]
    for name, values in (("cold start to pg_isready", [r[0] for r in runs]),
                         ("container CPU until ready", [r[1] for r in runs])):
        print(f"| {name} ({len(values)} runs) | {statistics.median(values):.2f} s | {min(values):.2f} s | "
              f"{max(values):.2f} s |")


if __name__ == "__main__":
    main()
