"""Shared fixtures and the test tiers. Docker-dependent tests fail loudly when no engine answers: they never skip.

Tiers are marked here, from what a test uses, so nobody has to remember a decorator (pip marks its unit and
functional tests by directory in conftest.py the same way):

- `docker`: the test asks for the engine (the `docker_client` fixture, directly or through another fixture), or
  sits in a module that drives the engine through the `workshop` command (ENGINE_MODULES);
- `slow`: the nbgrader and class flows, and the notebooks (minutes each);
- `lint`: mypy --strict and ruff (tests/test_static.py).

The fast lane, `pytest -m "not docker"`, runs on a laptop without an engine. In that lane DOCKER_HOST points at a
socket that does not exist, so a test that reaches the engine without being marked fails there instead of
passing quietly on a machine that happens to have one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from tiers import NO_ENGINE_SOCKET, TESTS_DIR, tier_markers


def _module(item: pytest.Item) -> str:
    """The test's file relative to the repository ("tests/..."), or its plain path when it lives elsewhere."""
    path = Path(str(item.path)).resolve()
    return "tests/" + path.relative_to(TESTS_DIR).as_posix() if path.is_relative_to(TESTS_DIR) else str(path)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for mark in sorted(tier_markers(_module(item), set(getattr(item, "fixturenames", ())))):
            item.add_marker(getattr(pytest.mark, mark))


def pytest_configure(config: pytest.Config) -> None:
    """In the fast lane, make the engine unreachable so an unmarked engine test fails instead of passing."""
    expression = str(config.getoption("markexpr", "") or "")
    if "not docker" in " ".join(expression.split()):
        os.environ["DOCKER_HOST"] = NO_ENGINE_SOCKET


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
