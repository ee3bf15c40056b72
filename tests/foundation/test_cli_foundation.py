"""`workshop doctor`, `workshop engine start` and `workshop reset`, run as a learner runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.exercises import reset_exercise, starter_dockerfile
from grader.paths import EXERCISES, EXERCISES_DIR

WORKSHOP = [str(Path(sys.executable).parent / "workshop")]  # the console script learners run


def _workshop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WORKSHOP, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.docker
def test_doctor_says_ready_when_engine_and_bases_are_there(docker_client) -> None:
    result = _workshop("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[  ok] engine" in result.stdout
    for tag in ("debian:bookworm-slim", "node:20", "node:20-slim", "python:3.11", "python:3.11-slim"):
        assert f"[  ok] base {tag}" in result.stdout
    assert "[  ok] service postgres:15" in result.stdout
    assert "container registry" in result.stdout and "extra CA certificates" in result.stdout
    assert result.stdout.rstrip().endswith("Ready for the workshop.")


def test_doctor_fails_with_a_fix_when_no_engine_answers() -> None:
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    result = _workshop("doctor", env=env)
    assert result.returncode == 1
    assert "[FAIL] engine" in result.stdout and "Docker Desktop" in result.stdout


def test_engine_start_refuses_a_dead_docker_host_without_touching_anything() -> None:
    env = dict(os.environ, DOCKER_HOST="unix:///nonexistent/docker.sock")
    result = _workshop("engine", "start", env=env)
    assert result.returncode == 2
    assert "DOCKER_HOST" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.docker
def test_engine_start_leaves_a_running_engine_alone(docker_client) -> None:
    result = _workshop("engine", "start")
    assert result.returncode == 0 and "already running" in result.stdout


@pytest.mark.parametrize("app", EXERCISES)
def test_committed_exercise_is_the_pristine_starter(app: str) -> None:
    assert (EXERCISES_DIR / app / "Dockerfile").read_bytes() == starter_dockerfile(app).read_bytes()
    assert not (EXERCISES_DIR / app / ".dockerignore").exists()


def test_reset_restores_the_starter_and_keeps_the_learners_work(tmp_path: Path) -> None:
    folder = tmp_path / "node-api"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / ".dockerignore").write_text(".git\n")
    said = reset_exercise("node-api", root=tmp_path)
    assert (folder / "Dockerfile").read_bytes() == starter_dockerfile("node-api").read_bytes()
    assert (folder / "Dockerfile.bak").read_text() == "FROM scratch\n"
    assert not (folder / ".dockerignore").exists() and (folder / ".dockerignore.bak").exists()
    assert any("Restored" in line for line in said)


def test_reset_rejects_an_unknown_exercise_with_the_choices() -> None:
    result = _workshop("reset", "java-api")
    assert result.returncode == 2 and "node-api" in result.stderr
