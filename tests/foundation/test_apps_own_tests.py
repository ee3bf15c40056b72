"""The sample apps' own test suites (jest, pytest) pass, run inside the naive images that carry their dev tools."""

from __future__ import annotations

import docker
import pytest

from grader.paths import PROJECT_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.slow]

#: suite -> (app, working directory in its naive image, command, needs the network to fetch test-only packages)
APP_TEST_COMMANDS = {
    "node-api": ("node-api", "/app", "npm test", False),
    "combined-backend": ("combined", "/app/backend", "npm test", False),
    "combined-frontend": ("combined", "/app/frontend", "npm test", False),
    "fastapi": ("fastapi", "/app",
                "pip install -q --no-cache-dir -r requirements-dev.txt && python -m pytest -q tests", True),
}


@pytest.mark.parametrize("suite", sorted(APP_TEST_COMMANDS))
def test_app_own_test_suite_passes(docker_client: docker.DockerClient, app_images, suite: str) -> None:
    app, workdir, command, needs_network = APP_TEST_COMMANDS[suite]
    container = docker_client.containers.run(
        app_images[(app, "naive")].tag,
        ["sh", "-c", command],
        working_dir=workdir,
        detach=True,
        network_mode="bridge" if needs_network else "none",
        labels={PROJECT_LABEL: "test"},
    )
    try:
        result = container.wait(timeout=600)
        output = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
    assert result["StatusCode"] == 0, f"{suite}: `{command}` failed:\n{output[-3000:]}"
