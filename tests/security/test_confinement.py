"""Attacks on the machine through build steps and the graded container: each is bounded by a limit.

Each attack is itself bounded: it allocates at most twice the limit, starts at most 1,000 short sleeps (under
the engine-wide cap of 4,096, so only the build's own 256 can stop them), prints a few MB, so a missing limit
fails the test without hurting the machine.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import docker
import pytest
from redteam import SMALL, Grade, images_of_build_label, new_tag, remove_tag

from grader.engine.confinement import CGROUP_FS, GROUP
from grader.engine.inspect import inspect_image
from grader.engine.limits import Limits, limits_from_mapping, wait_for_free_disk
from grader.engine.run import RunLimits, _create, _remove, run_image
from grader.errors import GradeError
from grader.settings import settings_from_mapping

pytestmark = pytest.mark.docker

# {nonce} keeps the build cache from answering for a step that once ran without limits.
MEMORY_HOG = """FROM python:3.11-slim
RUN echo {nonce}; python3 -c "import time; block = b'x' * (512 << 20); time.sleep(1); print('allocated', len(block))"
"""
FORK_BOMB = """FROM debian:bookworm-slim
RUN echo {nonce}; for i in $(seq 1000); do sleep 20 & done; wait; echo all-started
"""


def _fresh(template: str) -> str:
    return template.replace("{nonce}", uuid.uuid4().hex)


def test_memory_hog_run_is_killed_with_a_clear_message(grade_text: Grade, backend: str,
                                                        docker_client: docker.DockerClient) -> None:
    report = grade_text(_fresh(MEMORY_HOG), backend)
    assert report.error is not None, "a RUN allocating 2x the build memory limit must not succeed"
    assert report.exit_code == 2 and report.score == 0
    assert report.error.kind == "build-failed"
    assert "killed (exit code 137)" in report.error.message
    assert "build_memory_mb" in report.error.message
    assert docker_client.ping()  # the engine (and this test process) survived


def test_fork_bomb_run_is_bounded_by_the_pids_limit(grade_text: Grade, backend: str) -> None:
    report = grade_text(_fresh(FORK_BOMB), backend)
    assert report.error is not None, "1000 processes started under a 256-process limit"
    assert report.exit_code == 2 and report.score == 0
    assert report.error.kind == "build-failed"
    assert "256 processes at once" in report.error.message
    assert "build_pids" in report.error.message


def test_image_over_the_size_cap_is_failed_and_removed(grade_text: Grade, backend: str,
                                                       api: docker.APIClient) -> None:
    tag = new_tag()
    before = set(images_of_build_label(api))
    report = grade_text(f"FROM python:3.11-slim\nRUN echo {uuid.uuid4().hex} > /marker\n", backend, tag=tag)
    assert report.error is not None and report.exit_code == 2 and report.score == 0
    assert report.error.kind == "build-failed"
    assert "over the grader's cap of 0.10 GB" in report.error.message and "removed" in report.error.message
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(tag)
    assert set(images_of_build_label(api)) - before == set(), "the oversized image is still on the engine"


def test_build_log_flood_is_capped(grade_text: Grade, backend: str) -> None:
    lines: list[str] = []
    limits = Limits(**{**SMALL.__dict__, "log_max_bytes": 64 * 1024})
    text = (f"FROM debian:bookworm-slim\nRUN echo {uuid.uuid4().hex}; "
            "head -c 3000000 /dev/zero | tr '\\0' 'A' | fold -w 100000; exit 3\n")
    report = grade_text(text, backend, limits=limits, lines=lines)
    assert report.error is not None and report.exit_code == 2
    assert sum(len(line) for line in lines) < 64 * 1024 + 4096
    assert any("output clipped" in line for line in lines)
    assert all(len(line) <= 2000 for line in report.error.log_tail)


def test_container_log_flood_is_capped_by_the_engine(api: docker.APIClient, tmp_path: Path) -> None:
    """The graded container's log file stays under log_max_bytes however much the app prints."""
    tag = new_tag()
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm-slim\nLABEL io.docker-diet-workshop=grader\n"
        'CMD ["sh", "-c", "head -c 20000000 /dev/zero | tr \'\\\\0\' B | fold -w 1000; sleep 30"]\n')
    for _ in api.build(path=str(tmp_path), tag=tag, rm=True, decode=True):
        pass
    limits = RunLimits(log_max_bytes=256 * 1024)
    container = None
    try:
        container = _create(api, tag, "run", limits)
        api.start(container)
        deadline = time.monotonic() + 30
        log_path = Path(api.inspect_container(container)["LogPath"])
        while time.monotonic() < deadline and (not log_path.exists() or log_path.stat().st_size < 200 * 1024):
            time.sleep(0.2)
        time.sleep(2)  # 20 MB of output is written by now
        assert api.inspect_container(container)["HostConfig"]["LogConfig"]["Config"]["max-size"] == str(256 * 1024)
        assert log_path.stat().st_size <= 256 * 1024 + 64 * 1024
        facts = inspect_image(api, str(api.inspect_image(tag)["Id"]))
        run = run_image(api, facts, RunLimits(log_max_bytes=256 * 1024, health_timeout_s=2))
        assert len(run.logs_tail) <= 20 and all(len(line) <= 500 for line in run.logs_tail)
    finally:
        _remove(api, container)
        remove_tag(api, tag)


def test_limits_come_from_grading_toml_with_clear_errors() -> None:
    settings = settings_from_mapping("fastapi", {"limits": {"build_memory_mb": 1024, "build_pids": 300,
                                                            "image_max_mb": 2500}})
    assert settings.limits.build_memory_bytes == 1024 * 2**20
    assert settings.limits.build_pids == 300 and settings.limits.image_max_bytes == 2_500_000_000
    with pytest.raises(GradeError, match="unknown key \\[limits\\] memory_mb. Valid keys: build_memory_mb"):
        limits_from_mapping({"memory_mb": 5})
    with pytest.raises(GradeError, match="must be a positive number"):
        limits_from_mapping({"build_pids": "many"})


def test_grade_class_pauses_while_disk_is_short(tmp_path: Path) -> None:
    """The real disk, with a threshold above what is free: it waits and says so; with space it goes on."""
    messages: list[str] = []
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    short = Limits(min_free_disk_bytes=free * 10)
    waited: list[float] = []

    def free_later() -> None:
        waited.append(wait_for_free_disk(short, poll_s=0.05, paths=(tmp_path,), notify=messages.append))

    thread = threading.Thread(target=free_later, daemon=True)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "it must wait, not go on filling the disk"
    assert messages and messages[0].startswith("Paused:") and "min_free_disk_mb" in messages[0]
    object.__setattr__(short, "min_free_disk_bytes", 1)  # space was freed
    thread.join(5)
    assert not thread.is_alive() and messages[-1].startswith("Resumed:")
    assert wait_for_free_disk(Limits(min_free_disk_bytes=1), paths=(tmp_path,)) == pytest.approx(0, abs=0.5)


def _build_cgroups() -> set[Path]:
    return {d for hierarchy in CGROUP_FS.iterdir() for d in (hierarchy / GROUP).glob("*") if d.is_dir()}


def test_a_confined_classic_build_leaves_no_cgroup_behind(grade_text: Grade) -> None:
    """The engine makes the build's cgroup in every hierarchy (cpuset, blkio, ...); all of them go."""
    before = _build_cgroups()
    report = grade_text(f"FROM debian:bookworm-slim\nRUN echo {uuid.uuid4().hex}; exit 4\n", "classic")
    assert report.error is not None and report.error.kind == "build-failed"
    assert _build_cgroups() - before == set()
