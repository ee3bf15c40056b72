"""The engine is shared fairly: what one submission exhausts (disk, inodes, cache) never fails another learner.

Each attack is bounded: the disk filler writes 1.5 GB for a few seconds (the machine has tens of GB free; the
grader's threshold is set just under what is free now, so the grader sees the shortage the write makes), the inode
test fills a 400-inode tmpfs of its own, the leftover test a 40 MB stage. Every build is a real one.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest

import grader.engine.limits as limits_module
from grader.api import GradeConfig
from grader.course import pressure
from grader.course.classroom import STATE_NAME, ClassResult, Outcome, grade_class, read_state
from grader.course.pressure import Reading, shared_cause
from grader.engine.leftovers import Leftovers, find_leftovers, mark_engine, run_commands
from grader.engine.limits import MB, Limits, free_bytes, free_inodes
from grader.paths import SOLUTIONS_DIR
from grader.settings import load_settings

pytestmark = pytest.mark.docker

EXERCISE = "fastapi"
QUICK = GradeConfig(lint=False, build_timeout_s=600)


def _solution(folder: Path) -> None:
    folder.mkdir(parents=True)
    for source, name in (("Dockerfile", "Dockerfile"), ("Dockerfile.dockerignore", ".dockerignore")):
        shutil.copyfile(SOLUTIONS_DIR / EXERCISE / source, folder / name)


def _config(**limits: Any) -> GradeConfig:
    settings = load_settings(EXERCISE)
    return replace(QUICK, settings=replace(settings, limits=replace(settings.limits, **limits)))


# ------------------------------------------------------------------------------------------ the rule, pure


def _reading(free: int = 10**12, inodes: int = 10**9, forks: int = 0, ooms: int = 0) -> Reading:
    return Reading(0.0, free, inodes, forks, ooms, 100, 1 << 22)


def test_a_failed_build_without_measured_pressure_stays_the_learners_failure() -> None:
    """Own limits (the message says build_pids) and text a step printed never make a failure shared."""
    error = {"kind": "build-failed", "message": "No space left on device. Cannot fork ([limits] build_pids)"}
    assert shared_cause(error, pressure._short([_reading(), _reading()], Limits())) is None
    assert shared_cause({"kind": "dockerfile", "message": "x"}, "the disk was full") is None


def test_measured_pressure_or_an_engine_failure_makes_a_failure_shared() -> None:
    short = pressure._short([_reading(forks=3), _reading(free=10 * MB, forks=9)], Limits())
    assert short is not None and "MB free" in short and "refused 6 forks" in short
    assert shared_cause({"kind": "build-failed", "message": ""}, short) == short
    assert shared_cause({"kind": "error", "message": "500 Server Error"}, None) is not None
    inodes = pressure._short([_reading(inodes=10)], Limits(min_free_inodes=100))
    assert inodes is not None and "10 free inodes" in inodes


# ------------------------------------------------------------------------------------------ on the engine


def test_a_build_filling_the_disk_does_not_fail_another_learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               docker_client: docker.DockerClient) -> None:
    """The filler holds 1.5 GB while the solution builds beside it: the solution is graded in full; the filler,
    whose failure the shortage explains, is retried and ends as "could not grade, retried", never as a grade."""
    monkeypatch.setattr(pressure, "BACKOFF_S", 0.5)
    monkeypatch.setattr(limits_module, "PAUSE_POLL_S", 0.5)
    subs, token = tmp_path / "subs", uuid.uuid4().hex
    _solution(subs / "ada" / EXERCISE)
    (subs / "filler" / EXERCISE).mkdir(parents=True)
    (subs / "filler" / EXERCISE / "Dockerfile").write_text(
        f"FROM python:3.11-slim\nRUN echo {token} && dd if=/dev/zero of=/fill bs=1M count=1500 status=none "
        "&& sleep 8 && exit 1\n")
    config = _config(min_free_disk_bytes=free_bytes() - 700 * MB)
    result = grade_class(subs, tmp_path / "out", jobs=2, config=config)
    by_student = {o.job.student: o for o in result.graded}
    ada, filler = by_student["ada"], by_student["filler"]
    print(f"\nada: {ada.summary} in {ada.attempts} attempt(s); filler: {filler.summary}, "
          f"{filler.report['error']['message'][:160]}")
    assert ada.report["error"] is None and ada.report["percent"] == 100.0
    assert filler.attempts == pressure.RETRIES + 1 and filler.report["error"]["kind"] == "error"
    assert "retried 2 times" in filler.report["error"]["message"] and "disk" in filler.report["error"]["message"]
    assert read_state(tmp_path / "out" / STATE_NAME)[f"filler/{EXERCISE}"]["due"] is True, "graded again next run"
    assert free_bytes() > config.settings.limits.min_free_disk_bytes, "nothing of the filler survives the run"


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Any:
    """A 400-inode tmpfs of the test's own (the engine's disk has millions of inodes)."""
    where = tmp_path / "small"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=400", "ddw-inode-test", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_grade_class_pauses_while_inodes_are_short(tmp_path: Path, small_tmpfs: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  docker_client: docker.DockerClient) -> None:
    for number in range(300):
        (small_tmpfs / f"f{number}").touch()
    assert free_inodes((small_tmpfs,)) < 200
    monkeypatch.setattr(limits_module, "DISK_PATHS", (*limits_module.DISK_PATHS, small_tmpfs))
    monkeypatch.setattr(limits_module, "PAUSE_POLL_S", 0.2)
    _solution(tmp_path / "subs" / "ada" / EXERCISE)
    results: list[ClassResult] = []
    said = io.StringIO()
    config = _config(min_free_inodes=200, min_free_disk_bytes=1)  # the tmpfs has 16 MB: only its inodes count
    run = threading.Thread(target=lambda: results.append(grade_class(
        tmp_path / "subs", tmp_path / "out", jobs=1, config=config)), daemon=True)
    with contextlib.redirect_stderr(said):
        run.start()
        deadline = time.monotonic() + 900
        while "Paused:" not in said.getvalue() and run.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        assert run.is_alive() and not (tmp_path / "out" / STATE_NAME).exists(), "no job runs while inodes are short"
        for path in small_tmpfs.iterdir():
            path.unlink()
        run.join(900)
    text = said.getvalue()
    print(text)
    assert "free inodes" in text and "min_free_inodes" in text and "Resumed:" in text
    report = results[0].graded[0].report
    missed = [(c["id"], c["message"]) for c in report["checks"] if c["status"] != "pass"]
    assert report["error"] is None and report["percent"] == 100.0, missed


FAT = """FROM python:3.11-slim AS fat
RUN echo {token} && dd if=/dev/zero of=/fill bs=1M count=40 status=none && echo small > /small
FROM python:3.11-slim
COPY --from=fat /small /small
RUN echo {token}-final && exit 3
"""


@pytest.mark.parametrize("backend", ["classic", "buildx"])
def test_a_class_run_leaves_no_build_cache_or_intermediate_image(tmp_path: Path, backend: str,
                                                                docker_client: docker.DockerClient) -> None:
    """A 40 MB stage the final image never copies stays as cache (buildx) or intermediate images (classic) once
    its build failed; it is listed WHILE the run goes on (before any cleanup), and gone after it."""
    api, text = docker_client.api, FAT.format(token=uuid.uuid4().hex)
    subs = tmp_path / "subs"
    (subs / "filler" / EXERCISE).mkdir(parents=True)
    (subs / "filler" / EXERCISE / "Dockerfile").write_text(text)
    _solution(subs / "ada" / EXERCISE)
    mark, commands = mark_engine(api), run_commands([text])
    during: list[Leftovers] = []

    def look(done: int, total: int, outcome: Outcome) -> None:
        during.append(find_leftovers(api, mark, commands))

    result = grade_class(subs, tmp_path / "out", jobs=2, config=replace(QUICK, backend=backend), progress=look)
    before = max(during, key=lambda found: found.bytes)
    after = find_leftovers(api, mark, commands)
    print(f"\n{backend}: left by the run before cleanup {before.bytes / MB:.1f} MB ({len(before.images)} images, "
          f"{len(before.cache)} cache records); pruned {result.pruned.bytes / MB:.1f} MB; after {after.bytes} bytes")
    assert before.bytes >= 40 * MB, "the fat stage was on the engine while the run went on"
    assert after == Leftovers() and result.pruned.bytes >= 40 * MB
    grades = {o.job.student: o.report for o in result.graded}
    assert grades["ada"]["percent"] == 100.0 and grades["filler"]["error"]["kind"] == "build-failed"
    docker_client.images.get("python:3.11-slim")  # a base is never pruned


def test_a_fork_bomb_that_hits_its_own_limit_stays_its_own_failure(tmp_path: Path,
                                                                  docker_client: docker.DockerClient) -> None:
    """Classic builder, a per-build cgroup of 256 processes: the bomb's 1,000 sleeps stop at its OWN limit (not
    the engine's), so its build-failed stands at once (one attempt, no retry); the learner beside it is graded.
    Bounded: 1,000 short sleeps, under any engine-wide cap; BuildKit's shared cap is left alone, since other
    sessions build on this engine."""
    subs, token = tmp_path / "subs", uuid.uuid4().hex
    for student, text in (("bomb", f"FROM debian:bookworm-slim\nRUN echo {token}; for i in $(seq 1000); do "
                                   "sleep 20 & done; wait; echo all-started\n"),
                          ("quiet", f"FROM python:3.11-slim\nRUN echo {token}-quiet\n")):
        (subs / student / EXERCISE).mkdir(parents=True)
        (subs / student / EXERCISE / "Dockerfile").write_text(text)
    config = replace(_config(build_pids=256), backend="classic", baseline=False)
    result = grade_class(subs, tmp_path / "out", jobs=2, config=config)
    by_student = {o.job.student: o for o in result.graded}
    bomb, quiet = by_student["bomb"], by_student["quiet"]
    print(f"\nbomb: {bomb.summary} ({bomb.attempts} attempt); quiet: {quiet.summary}")
    assert bomb.attempts == 1 and bomb.report["error"]["kind"] == "build-failed"
    assert "256 processes" in bomb.report["error"]["message"]
    assert quiet.attempts == 1 and quiet.report["error"] is None
