"""Which ignore file `docker build -f exercises/<app>/Dockerfile apps/<app>` reads, asked of the real engine with
both builders: the lessons, exercises/README.md and the grader teach `exercises/<app>/Dockerfile.dockerignore`
because it is the only file beside the Dockerfile that a builder reads (BuildKit, instead of the root one)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from grader.paths import PROJECT_LABEL

TAG = "docker-diet-workshop/lesson:ignore-file-probe"
DOCKERFILE = 'FROM debian:bookworm-slim\nCOPY . /ctx\nCMD ["ls", "/ctx"]\n'


@pytest.fixture()
def layout(tmp_path: Path, docker_client: docker.DockerClient) -> Iterator[Path]:
    """context/ with four files; exercise/ holds the Dockerfile; the test adds ignore files."""
    (tmp_path / "context").mkdir()
    (tmp_path / "exercise").mkdir()
    for name in ("keep", "root-ignored", "specific-ignored", "beside-ignored"):
        (tmp_path / "context" / name).write_text(name)
    (tmp_path / "exercise" / "Dockerfile").write_text(DOCKERFILE)
    yield tmp_path
    try:
        docker_client.images.remove(TAG, force=True)
    except docker.errors.ImageNotFound:
        pass


def _sent(root: Path, docker_client: docker.DockerClient, *, buildkit: bool) -> set[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
    subprocess.run(["docker", "build", "-q", "--label", f"{PROJECT_LABEL}=lesson", "-t", TAG,
                    "-f", str(root / "exercise" / "Dockerfile"), str(root / "context")],
                   env=env, check=True, capture_output=True, timeout=300)
    output = docker_client.containers.run(TAG, remove=True, network_disabled=True, labels={PROJECT_LABEL: "lesson"})
    return set(output.decode().split()) - {"Dockerfile"}


@pytest.mark.docker
@pytest.mark.parametrize("buildkit", [False, True], ids=["classic", "buildkit"])
def test_a_dockerignore_beside_the_dockerfile_is_read_by_neither_builder(
        layout: Path, docker_client: docker.DockerClient, buildkit: bool) -> None:
    (layout / "exercise" / ".dockerignore").write_text("beside-ignored\n")
    assert "beside-ignored" in _sent(layout, docker_client, buildkit=buildkit)


@pytest.mark.docker
def test_buildkit_reads_dockerfile_dockerignore_instead_of_the_root_one(
        layout: Path, docker_client: docker.DockerClient) -> None:
    (layout / "exercise" / "Dockerfile.dockerignore").write_text("specific-ignored\n")
    (layout / "context" / ".dockerignore").write_text("root-ignored\n")
    assert _sent(layout, docker_client, buildkit=True) == {"keep", "root-ignored", "beside-ignored"}
    assert _sent(layout, docker_client, buildkit=False) == {"keep", "specific-ignored", "beside-ignored"}
