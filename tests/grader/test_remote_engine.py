"""The whole grader against a remote engine: `DOCKER_HOST=tcp://127.0.0.1:PORT`, a second dockerd of the test's own
(tests/grader/second_engine.py). The build context, the run and the probe go through the API; the image is read
through one streamed `docker save`, and the report says so; nothing is left on either engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from second_engine import SecondEngine

from grader.api import GradeConfig, grade
from grader.engine.inspect import clear_caches
from grader.paths import PROJECT_LABEL
from grader.reporters import render
from grader.settings import load_settings

pytestmark = pytest.mark.docker

BASE = "debian:bookworm-slim"
DOCKERFILE = """FROM debian:bookworm-slim
COPY hello.txt /app/hello.txt
RUN useradd --uid 1000 app && echo SECRET=1 > /app/.env
USER app
CMD ["sleep", "30"]
"""


@pytest.fixture(scope="module")
def second_engine(docker_client: docker.DockerClient) -> Iterator[SecondEngine]:
    engine = SecondEngine()
    try:
        engine.load_from(docker_client, BASE)
        yield engine
    finally:
        engine.stop()
    assert not engine.root.exists()


def _ours(client: docker.DockerClient) -> tuple[list[str], list[str]]:
    """Containers (any state) and images that carry the project label (the second engine is ours alone)."""
    label = {"label": PROJECT_LABEL}
    return ([str(c["Id"]) for c in client.api.containers(all=True, filters=label)],
            [str(i["Id"]) for i in client.api.images(filters=label)])


def test_a_remote_engine_is_graded_through_one_streamed_save(second_engine: SecondEngine,
                                                             docker_client: docker.DockerClient,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "hello.txt").write_text("hello\n")
    (app / "Dockerfile").write_text(DOCKERFILE)
    tag = f"docker-diet-workshop/engines-remote:{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("DOCKER_HOST", second_engine.url)
    clear_caches()
    config = GradeConfig(backend="classic", baseline=False, lint=False, tag=tag, app_dir=app,
                         settings=load_settings("fastapi"), build_timeout_s=300)
    report = grade("fastapi", app / "Dockerfile", config=config)
    try:
        assert report.error is None, report.error
        assert report.image_read is not None and report.image_read.source == "save"
        assert report.image_read.transport == "tcp" and "reached over tcp" in report.image_read.reason
        assert report.run is not None and report.run.started, report.run
        assert report.check("no-secrets").status.value == "fail"  # the checks ran on what the stream held
        assert report.check("non-root").status.value == "pass"
        assert "one streamed docker save" in render(report, "table")
        assert report.build is not None and second_engine.client.images.get(tag).id == report.build.image_id
        for name in (tag, report.build.image_id):  # built there, nothing here
            with pytest.raises(docker.errors.ImageNotFound):
                docker_client.images.get(name)
    finally:
        second_engine.client.images.remove(tag, force=True)
    assert _ours(second_engine.client) == ([], [])


def test_the_report_names_the_remote_read_in_json(second_engine: SecondEngine, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """A Dockerfile that fails to build on the remote engine is a clear could-not-grade, not a traceback."""
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN exit 3\n")
    monkeypatch.setenv("DOCKER_HOST", second_engine.url)
    config = GradeConfig(backend="classic", baseline=False, lint=False, app_dir=tmp_path,
                         tag=f"docker-diet-workshop/engines-remote:{uuid.uuid4().hex[:8]}",
                         settings=replace(load_settings("fastapi")), build_timeout_s=120)
    report = grade("fastapi", tmp_path / "Dockerfile", config=config)
    assert report.error is not None and report.error.kind == "build-failed" and "exit" in report.error.message.lower()
    assert _ours(second_engine.client) == ([], [])
