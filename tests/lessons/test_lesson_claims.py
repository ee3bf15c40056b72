"""What the lessons' prose claims, checked on real images through the lessons' own modules (so the same builds
are cached). If one of these fails, a lesson says something that is no longer true on this machine: fix the text.
"""

from __future__ import annotations

import docker
import pytest

from grader.notebook import beyond, combined, fat, measuring, node, python
from grader.notebook.image_api import image_facts, image_history, local_images
from grader.notebook.panel import grade_quietly
from grader.paths import LESSONS_DIR


@pytest.mark.docker
def test_lesson_01_removing_gcc_in_a_later_layer_saves_nothing(docker_client: docker.DockerClient) -> None:
    experiment = fat.gcc_layer_experiment()
    assert experiment.removed_later.size_bytes >= experiment.installed.size_bytes
    assert experiment.added_mb(experiment.installed) > 100
    assert experiment.added_mb(experiment.one_layer) < 5
    assert any(row.size_bytes > 100_000_000 for row in image_history(experiment.removed_later.tag))


@pytest.mark.docker
def test_lesson_02_article_pattern_ships_dev_dependencies_and_env_file(docker_client: docker.DockerClient) -> None:
    report = grade_quietly("node-api", LESSONS_DIR / "dockerfiles" / "node-api.article-pattern.Dockerfile",
                           role="article-pattern")
    status = {check.id: check.status.value for check in report.checks}
    assert report.graded, report.error
    assert status["no-dev-dependencies"] == "fail" and status["no-secrets"] == "fail"
    assert status["multi-stage"] == "pass"


@pytest.mark.docker
def test_lesson_02_docker_stop_waits_for_sigkill_only_when_a_shell_is_pid_1(
        docker_client: docker.DockerClient) -> None:
    shell, npm, direct = node.pid1_experiment().values()
    assert shell >= 9.0, "the shell form should wait for the 10 s grace period"
    assert npm < 5.0 and direct < 5.0, "npm 10 forwards SIGTERM; node handles it"
    assert direct <= npm + 0.5


@pytest.mark.docker
def test_lesson_02_npm_10_still_honours_only_production_with_a_warning(docker_client: docker.DockerClient) -> None:
    results = {r.flag: r for r in node.npm_flags_experiment()}
    assert results["--omit=dev"].installed == ("ms",) and not results["--omit=dev"].warnings
    assert results["--only=production"].installed == ("ms",)
    assert any("--omit=dev" in w for w in results["--only=production"].warnings)
    assert results["--only=production=false"].installed == ("is-number", "ms")


@pytest.mark.docker
def test_lesson_03_psycopg2_needs_pg_config_in_the_builder_only(docker_client: docker.DockerClient) -> None:
    pg = python.psycopg2_experiment()
    assert "pg_config" in " ".join(pg.log_tail) and "build failed" in pg.failure
    assert pg.fixed_output.startswith("psycopg2 2.9") and pg.tools_in_final == "none"


@pytest.mark.docker
def test_lesson_03_pip_user_breaks_under_a_non_root_user_and_a_venv_does_not(
        docker_client: docker.DockerClient) -> None:
    runs = python.user_install_experiment()
    assert runs["pip-user"].exit_code != 0 and "ModuleNotFoundError" in runs["pip-user"].output
    assert runs["venv"].exit_code == 0 and runs["venv"].output == "hello from greeting"


@pytest.mark.docker
def test_lesson_04_two_naive_images_add_up_to_more_than_the_articles_1_5_gb(
        docker_client: docker.DockerClient) -> None:
    two = combined.two_image_experiment()
    assert two.total_bytes > 1_500_000_000 and two.distinct_bytes < two.total_bytes


@pytest.mark.docker
def test_lesson_06_dependencies_first_keeps_npm_ci_cached_after_a_source_edit(
        docker_client: docker.DockerClient) -> None:
    naive, ordered = measuring.cache_ordering_experiment().values()
    assert naive.cached_steps == 1, "only WORKDIR is reused: COPY . . changed"
    assert ordered.cached_steps == 4, "WORKDIR, COPY package files, npm ci and COPY tsconfig are reused"
    assert ordered.cached_steps > naive.cached_steps


@pytest.mark.docker
def test_lesson_08_a_deleted_secret_is_still_in_its_layer(docker_client: docker.DockerClient) -> None:
    leak = beyond.secret_in_layer_experiment()
    assert not leak.visible and [number for number, _, _ in leak.layers] == [2]


@pytest.mark.docker
def test_lesson_08_offline_the_grader_names_the_missing_alpine_base(docker_client: docker.DockerClient) -> None:
    assert local_images(["node:20-alpine"])[0].size_bytes is None, "alpine is here: lesson 08 says it is not"
    report = beyond.alpine_variant_report()
    assert report.error is not None and "node:20-alpine" in report.error.message


@pytest.mark.docker
def test_lesson_08_local_stand_ins_have_no_registry_digest(docker_client: docker.DockerClient) -> None:
    assert all(not row.repo_digests for row in local_images(["node:20-slim", "python:3.11-slim"]))
    assert image_facts("debian:bookworm-slim").layers
