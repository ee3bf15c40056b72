"""What `workshop watch` costs: seconds from saving the Dockerfile to the updated lines on screen.

    python tests/benchmarks/bench_watch.py [--repeats N] [--project express-rest-starter]

Runs the installed `workshop watch --context COPY --no-baseline` on a temporary copy of a vendored project
(tests/fixtures/projects), waits for the first grade, then saves N one-line edits and times each from the write to
the printed summary line, as a learner sees it ("wall"), beside the seconds watch itself reports from noticing the
save ("watch"). Kinds of edit:
  label - a new LABEL line (warm: every build step cached, the remembered run reused): the goal is <= 3 s;
  user  - USER switched between the app's user and root (the image changes: the container runs again).
Prints a Markdown table (seconds) and the median per kind. Images are `docker-diet-workshop/project-bench-watch-*`,
removed at the end with the project's state folder.
"""

from __future__ import annotations

import argparse
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import docker

from grader.paths import PROJECT_LABEL
from grader.project import PROJECTS_DIR, project_name

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
WORKSHOP = Path(sys.executable).parent / "workshop"
SUMMARY = re.compile(r"\[(\d+\.\d) s after the save\]")


def _reader(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stream = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def _wait(lines: queue.Queue[str], pattern: re.Pattern[str] | str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if (pattern.search(line) if isinstance(pattern, re.Pattern) else pattern in line):
            return line
    raise SystemExit(f"watch printed no {pattern!r} within {timeout:.0f} s")


def _edit(dockerfile: Path, kind: str, index: int) -> None:
    text = dockerfile.read_text()
    if kind == "label":
        text = text.replace("EXPOSE ", f'LABEL bench.edit="{index}"\nEXPOSE ', 1)
    else:
        text = text.replace("USER node\n", "USER root\n") if "USER node\n" in text else text.replace(
            "USER root\n", "USER node\n")
    dockerfile.write_text(text)


def _cleanup(copy: Path) -> None:
    client = docker.from_env()
    for image in client.api.images(filters={"label": PROJECT_LABEL}):
        for tag in image.get("RepoTags") or []:
            if tag.startswith("docker-diet-workshop/project-bench-watch-"):
                try:
                    client.api.remove_image(tag, force=True)
                except docker.errors.APIError:
                    pass
    shutil.rmtree(PROJECTS_DIR / project_name(copy), ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--project", default="express-rest-starter")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bench-watch"
        shutil.copytree(FIXTURES / args.project, copy)
        process = subprocess.Popen([str(WORKSHOP), "watch", "--context", str(copy), "--no-baseline"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rows: list[tuple[str, int, float, float]] = []
        try:
            lines = _reader(process)
            _wait(lines, "Watching", 1800)
            for kind in ("label", "user"):
                for index in range(args.repeats):
                    saved = time.monotonic()
                    _edit(copy / "Dockerfile", kind, index)
                    line = _wait(lines, SUMMARY, 900)
                    match = SUMMARY.search(line)
                    assert match is not None
                    rows.append((kind, index + 1, time.monotonic() - saved, float(match.group(1))))
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            _cleanup(copy)
    print(f"`workshop watch` on {args.project}: save -> updated lines (seconds; goal <= 3 s for a LABEL edit)\n")
    print("| edit | # | wall | watch |\n| --- | ---: | ---: | ---: |")
    for kind, index, wall, reported in rows:
        print(f"| {kind} | {index} | {wall:.2f} | {reported:.1f} |")
    for kind in ("label", "user"):
        walls = [wall for k, _, wall, _ in rows if k == kind]
        print(f"\nmedian {kind}: {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")


if __name__ == "__main__":
    main()
