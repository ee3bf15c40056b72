"""Shared fixtures. Docker-dependent tests fail loudly when no engine answers: they never skip."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client for the real engine; a test that needs it errors (not skips) when none answers."""
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no engine", said loudly
        pytest.fail(
            f"No Docker engine answers ({exc}). Start one with `workshop engine start` "
            "(as root), or Docker Desktop, then run the tests again.",
            pytrace=False,
        )
    yield client
    client.close()
