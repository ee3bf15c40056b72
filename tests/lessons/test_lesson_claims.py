"""What the lessons' prose claims, checked on real images (the lessons' own helpers, so the same builds are cached).

If one of these fails, a lesson says something that is no longer true on this machine: fix the lesson's text.
"""

from __future__ import annotations

import docker
import pytest

from grader import lesson_helpers
from grader.paths import LESSONS_DIR
from grader.widgets import grade_quietly


@pytest.mark.docker
def test_lesson_01_removing_gcc_in_a_later_layer_saves_nothing(docker_client: docker.DockerClient) -> None:
    experiment = lesson_helpers.gcc_layer_experiment()
    assert experiment.removed_later.size_bytes >= experiment.installed.size_bytes
    assert experiment.installed.size_bytes - experiment.base.size_bytes > 100_000_000
    assert experiment.one_layer.size_bytes - experiment.base.size_bytes < 5_000_000


@pytest.mark.docker
def test_lesson_02_article_pattern_ships_dev_dependencies_and_env_file(docker_client: docker.DockerClient) -> None:
    report = grade_quietly("node-api", LESSONS_DIR / "dockerfiles" / "node-api.article-pattern.Dockerfile",
                           role="article-pattern")
    status = {check.id: check.status.value for check in report.checks}
    assert report.graded, report.error
    assert status["no-dev-dependencies"] == "fail" and status["no-secrets"] == "fail"
    assert status["multi-stage"] == "pass"


@pytest.mark.docker
def test_lesson_03_pip_user_breaks_under_a_non_root_user_and_a_venv_does_not(
        docker_client: docker.DockerClient) -> None:
    runs = lesson_helpers.user_install_experiment()
    assert runs["pip-user"].exit_code != 0 and "ModuleNotFoundError" in runs["pip-user"].output
    assert runs["venv"].exit_code == 0 and runs["venv"].output == "hello from greeting"


@pytest.mark.docker
def test_lesson_08_a_deleted_secret_is_still_in_its_layer(docker_client: docker.DockerClient) -> None:
    dockerfile = "FROM debian:bookworm-slim\nCOPY .env /app/.env\nRUN rm /app/.env\n"
    image = lesson_helpers.build_lesson_image("secret-in-layer-claim", dockerfile,
                                              {".env": "DATABASE_PASSWORD=not-a-real-one\n"})
    facts = lesson_helpers.inspect_lesson_image(image.tag)
    assert "app/.env" not in facts.merged
    assert [layer for layer, _, _ in lesson_helpers.files_in_layers(facts, "/app/.env")] == [2]
