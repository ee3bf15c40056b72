"""The grader's memory is bounded by the grader, not by the image; a grade killed mid-way poisons no cache.

Real engine: each image is built and graded by a subprocess (tests/security/grade_child.py) whose peak RSS comes
from os.wait4. The full-size measurements (a 3.5 GB sparse passwd, 600,000 files, ...) are in
tests/benchmarks/bench_hostile_memory.py; these are the small, fast cases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from redteam import new_tag, remove_tag

CHILD = Path(__file__).with_name("grade_child.py")
#: The grading subprocess's peak: measured 90-99 MB; the readers that loaded these files whole took 753 MB just to
#: inspect the image below.
PEAK_BOUND_MB = 250

HOSTILE = """FROM debian:bookworm-slim
RUN mkdir -p /var/lib/dpkg/status.d && truncate -s 300M /var/lib/dpkg/status.d/zeros
RUN awk 'BEGIN{for(i=0;i<550000;i++) printf "user%d:x:%d:%d::/home/u:/bin/sh\\n",i,i+2000,i+2000}' >> /etc/passwd \\
 && echo 'ghost:x:1000:1000::/home/ghost:/bin/sh' >> /etc/passwd
USER ghost
CMD ["sleep", "2"]
"""

LAYERED = """FROM debian:bookworm-slim
RUN mkdir /app && cd /app && seq 2000 | xargs touch
RUN echo SECRET=1 > /app/.env
RUN mkdir /app/tests && touch /app/tests/a.test.js
RUN rm /app/.env
CMD ["sleep", "2"]
"""


def _app(tmp_path: Path, text: str) -> Path:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "hello.txt").write_text("hello\n")
    (app / "Dockerfile").write_text(text)
    return app / "Dockerfile"


def _grade(dockerfile: Path, tag: str, state: Path, mode: str = "normal",
           kill_when: Callable[[], bool] | None = None) -> tuple[int, float, dict[str, Any]]:
    """(exit code, peak RSS in MB, result) of one grade in a fresh process; `kill_when` SIGKILLs it once true."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([sys.executable, str(CHILD), str(dockerfile), tag, str(state), mode],
                                   stdout=out, stderr=err)
        deadline = time.monotonic() + 600
        while (reaped := os.wait4(process.pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, "the grade did not finish in 10 minutes"
            if kill_when is not None and kill_when():
                os.kill(process.pid, signal.SIGKILL)
                kill_when = None
            time.sleep(0.005)
        _, status, usage = reaped
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().decode().splitlines()
        result = json.loads(lines[-1]) if code == 0 and lines else {"stderr": err.read().decode()[-2000:]}
    # The child's own high-water mark (grade_child.own_peak_mb): wait4's ru_maxrss also holds the pre-exec peak of
    # this test process, which forked the child, and that grows over a long suite (4.9 GB seen at 82 % of one).
    return code, float(result.get("peak_mb", usage.ru_maxrss / 1024)), result


@pytest.fixture
def tag(docker_client: docker.DockerClient) -> Iterator[str]:
    made = new_tag()
    yield made
    remove_tag(docker_client.api, made)


def test_a_hostile_image_is_graded_within_the_grader_s_memory_bound(tmp_path: Path, tag: str) -> None:
    """A 300 MB sparse dpkg status file (read whole, it took the grade past 1 GB) and a 24 MB /etc/passwd whose
    USER is past the grader's read bound."""
    code, peak, result = _grade(_app(tmp_path, HOSTILE), tag, tmp_path / "state")
    assert code == 0 and result["error"] is None, result
    assert peak < PEAK_BOUND_MB, f"the grading process peaked at {peak:.0f} MB"
    passwd, status_file = result["truncated_files"]
    assert passwd.startswith("/etc/passwd (read 16.8 MB of 23.9 MB")
    assert status_file.startswith("/var/lib/dpkg/status.d/zeros (read 16.8 MB of 315 MB")
    status, message = result["checks"]["non-root"]
    assert status == "fail" and "as far as the grader read it: /etc/passwd" in message
    status, message = result["checks"]["no-compilers"]
    assert status == "fail" and "it read /var/lib/dpkg/status.d/zeros" in message and "only in part" in message
    assert result["checks"]["no-secrets"][0] == "pass"  # every path was indexed: nothing to doubt


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """What must not differ between a clean grade and a regrade after a crash (the build's seconds may)."""
    return {check: (status, message) for check, (status, message) in result["checks"].items() if check != "builds"}


@pytest.mark.parametrize("kill", ["renaming-the-second-layer-index", "when-the-first-index-lands"])
def test_a_grade_killed_during_inspection_leaves_the_next_grade_correct(tmp_path: Path, tag: str, kill: str) -> None:
    dockerfile = _app(tmp_path, LAYERED)
    clean_code, _, clean = _grade(dockerfile, tag, tmp_path / "clean")
    assert clean_code == 0 and clean["checks"]["no-secrets"][0] == "fail", clean
    state = tmp_path / "crashed"
    layers = state / "layers"
    if kill == "renaming-the-second-layer-index":
        code, _, _ = _grade(dockerfile, tag, state, mode="die-on-second-store")
    else:
        code, _, _ = _grade(dockerfile, tag, state, kill_when=lambda: any(layers.glob("*.pickle")))
    assert code == -signal.SIGKILL
    assert layers.is_dir() and not (state / "runs").exists()  # killed during the inspection, before the run
    again_code, _, again = _grade(dockerfile, tag, state)
    assert again_code == 0 and _summary(again) == _summary(clean)
    assert len(list(layers.glob("*.pickle"))) == 5  # the base layer and the four RUN layers, each whole
