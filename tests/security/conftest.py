"""Red-team fixtures: attacks run through the real grader on the real engine, each bounded so that it cannot hurt
the machine even if the limit it tests were missing (at most 2x a limit, short sleeps, timeouts).

Every test builds under its own tag (docker-diet-workshop/security-test:<random>) and removes only what it made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from redteam import BACKENDS, SMALL, Grade, SilentServer, new_tag, remove_tag

from grader.api import GradeConfig, grade
from grader.engine.limits import Limits
from grader.model import BuildEvent, Report
from grader.settings import load_settings


@pytest.fixture(scope="session")
def api(docker_client: docker.DockerClient) -> docker.APIClient:
    """The engine's low-level client (the root conftest fails loudly when no engine answers)."""
    return docker_client.api


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def grade_text(api: docker.APIClient, tmp_path: Path) -> Iterator[Grade]:
    """Grade a Dockerfile text against a tiny app with SMALL limits (or the given ones), under a fresh tag; the
    tags are removed afterwards. Returns the Report; the progress lines are on `report_lines`."""
    made: list[str] = []

    def run(text: str, backend: str, *, limits: Limits = SMALL, timeout_s: float = 120.0,
            tag: str | None = None, lines: list[str] | None = None) -> Report:
        app = tmp_path / f"app-{uuid.uuid4().hex[:6]}"
        app.mkdir()
        (app / "hello.txt").write_text("hello\n")
        dockerfile = app / "Dockerfile"
        dockerfile.write_text(text)
        tag = tag or new_tag()
        made.append(tag)
        settings = replace(load_settings("fastapi"), limits=limits)
        config = GradeConfig(backend=backend, build_timeout_s=timeout_s, baseline=False, lint=False, tag=tag,
                             settings=settings, app_dir=app)

        def progress(event: BuildEvent) -> None:
            if lines is not None:
                lines.append(event.text)

        return grade("fastapi", dockerfile, config=config, progress=progress)

    yield run
    for tag in made:
        remove_tag(api, tag)


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()
