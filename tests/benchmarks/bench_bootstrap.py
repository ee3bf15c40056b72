"""How long the README's two commands take to reach their goal when everything is already set up.

    .venv/bin/python tests/benchmarks/bench_bootstrap.py [--runs 3]

`test`: until pytest has collected the suite (`bootstrap.py test --collect-only -q`, so the tests themselves do not
count). `lab`: until JupyterLab answers on 127.0.0.1, then SIGTERM to bootstrap.py and the time it takes to stop.
Prints a Markdown table. The target is under 15 s to reach pytest or JupyterLab.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON3 = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def time_test_command() -> float:
    started = time.monotonic()
    subprocess.run([PYTHON3, "grader/bootstrap.py", "test", "--collect-only", "-q"], cwd=REPO_ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def time_lab_command() -> tuple[float, float]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = os.urandom(8).hex()
    started = time.monotonic()
    lab = subprocess.Popen([PYTHON3, "grader/bootstrap.py", "lab", "--no-browser", "--port", str(port)],
                           cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=dict(os.environ, JUPYTER_TOKEN=token))
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=1):
                break
        except OSError:
            if lab.poll() is not None or time.monotonic() - started > 300:
                raise SystemExit("the lab did not start") from None
            time.sleep(0.1)
    answered = time.monotonic() - started
    stopping = time.monotonic()
    lab.send_signal(signal.SIGTERM)
    lab.wait(timeout=120)
    return answered, time.monotonic() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    tests = [time_test_command() for _ in range(runs)]
    labs = [time_lab_command() for _ in range(runs)]
    print("| command (everything present) | median | min | max |")
    print("| --- | --- | --- | --- |")
    for name, values in (("`bootstrap.py test` until pytest has collected", tests),
                         ("`bootstrap.py lab` until JupyterLab answers", [a for a, _ in labs]),
                         ("SIGTERM to `bootstrap.py lab` until it exits", [s for _, s in labs])):
        print(f"| {name} | {statistics.median(values):.1f} s | {min(values):.1f} s | {max(values):.1f} s |")


if __name__ == "__main__":
    main()
