"""Submissions and commands shared by the course and classroom tests.

Every submission here is the fastapi solution, a one-line edit of it, the naive starting point or a broken
file, so after the first cold build of each every build is a cache hit (seconds, not minutes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import docker

from grader.exercises import starter_dockerfile
from grader.paths import PROJECT_LABEL, REPO_ROOT, SOLUTIONS_DIR

EXERCISE = "fastapi"


def write_submission(folder: Path, kind: str, exercise: str = EXERCISE) -> Path:
    """A learner's two files: "solution", "partial" (the solution without its USER line: fails `non-root`
    only), "naive" (the starting point), "broken" (a RUN that fails) or "missing" (no Dockerfile)."""
    folder.mkdir(parents=True, exist_ok=True)
    solution = SOLUTIONS_DIR / exercise
    if kind in ("solution", "partial"):
        text = (solution / "Dockerfile").read_text()
        if kind == "partial":
            text = "\n".join(line for line in text.splitlines() if not line.startswith("USER ")) + "\n"
        (folder / "Dockerfile").write_text(text)
        shutil.copyfile(solution / "Dockerfile.dockerignore", folder / ".dockerignore")
    elif kind == "naive":
        shutil.copyfile(starter_dockerfile(exercise), folder / "Dockerfile")
    elif kind == "broken":
        (folder / "Dockerfile").write_text("FROM python:3.11-slim\nRUN echo 'a learner typo' && exit 3\n")
    elif kind != "missing":
        raise ValueError(kind)
    return folder


def grader_containers(client: docker.DockerClient, image_ids: set[str]) -> list[str]:
    """Containers the grader started for these images (other sessions may grade on the same engine)."""
    found = []
    for container in client.containers.list(all=True, filters={"label": PROJECT_LABEL}):
        if container.attrs.get("Image") in image_ids:
            found.append(container.name)
    return found


def run(cmd: list[str], cwd: Path, timeout: float = 3000) -> subprocess.CompletedProcess[str]:
    """Run a command with the repository importable (the nbgrader kernel imports grader)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result
