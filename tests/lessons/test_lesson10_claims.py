"""What lesson 10's prose claims, checked on this machine's engine through the lesson's own functions (so the same
BuildKit cache serves both). Each test names the claim; the numbers the prose states are read from the notebook
and compared with a fresh measurement. If one fails, the lesson says something that is no longer true here."""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest
from lesson_support import read_notebook

from grader.model import Healthcheck
from grader.notebook import buildkit_runs, supply_chain
from grader.notebook.image_api import image_facts, lesson_tag, local_images, run_command

LESSON = "10-buildkit-and-the-supply-chain.ipynb"


def _prose() -> str:
    """The lesson's prose, with line breaks and runs of spaces made single spaces."""
    return " ".join(" ".join(cell.source for cell in read_notebook(LESSON).cells
                             if cell.cell_type == "markdown").split())


def _stated(pattern: str) -> str:
    found = re.search(pattern, _prose())
    assert found, f"the lesson no longer states {pattern!r}"
    return found.group(1)


@pytest.mark.docker
def test_buildkit_here_is_v0_8_and_knows_no_heredocs(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    assert "BuildKit v0.8" in _prose() and buildkit_runs.buildkit_version().startswith("v0.8")
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm-slim\nRUN <<EOF\ntrue\nEOF\n")
    heredoc = buildkit_runs.buildx_build("10-claims-heredoc", tmp_path / "Dockerfile", tmp_path)
    assert not heredoc.ok, "BuildKit here accepted a heredoc: the lesson says it does not"
    assert not heredoc.steps_run and "unknown instruction" in " ".join(heredoc.log_tail).lower(), heredoc.log_tail


@pytest.mark.docker
def test_the_copied_npmrc_token_is_in_one_layer_and_the_mounted_one_in_none(
        docker_client: docker.DockerClient) -> None:
    assert _stated(r"token was in \*\*(\d+)\*\* layer") == "1"
    assert _stated(r"and in \*\*(\d+)\*\* layers of the secret-mount image") == "0"
    secret = supply_chain.secret_experiment()
    assert secret.copied.ok and secret.mounted.ok
    assert secret.copied_layers[0] == 1 and secret.mounted_layers[0] == 0
    assert "build-from-source" not in secret.mounted.error


@pytest.mark.docker
def test_a_bind_mount_keeps_requirements_out_and_a_cache_mount_keeps_pips_cache_out(
        docker_client: docker.DockerClient) -> None:
    mounts = supply_chain.mount_experiment()
    assert mounts.in_layer.ok and mounts.mounted.ok
    assert mounts.requirements_copied_in_image and not mounts.requirements_in_image
    assert mounts.cache_mounted_bytes == 0
    assert "measured 0.0 MB with Debian's pip 23.0.1" in _prose() and mounts.cache_in_layer_bytes == 0


@pytest.mark.docker
def test_npm_cache_is_in_the_layer_without_a_cache_mount_and_in_none_with_it(
        docker_client: docker.DockerClient) -> None:
    npm = supply_chain.npm_cache_experiment()
    assert npm.in_layer.ok and npm.mounted.ok
    stated_cache, stated_modules = float(_stated(r"\*\*([\d.]+) MB\*\* of npm's cache")), float(
        _stated(r"more than the ([\d.]+) MB of `node_modules`"))
    assert abs(npm.cache_in_layer_bytes / 1e6 - stated_cache) <= 0.1 * stated_cache
    assert abs(npm.node_modules_bytes / 1e6 - stated_modules) <= 0.1 * stated_modules
    assert npm.cache_in_layer_bytes > npm.node_modules_bytes and npm.cache_mounted_bytes == 0
    assert "**0 MB** with the cache mount" in _prose()


@pytest.mark.docker
def test_the_default_target_skips_the_test_stage_and_ships_no_pytest(docker_client: docker.DockerClient) -> None:
    tested, final = supply_chain.test_stage_builds()
    assert tested.ok and final.ok
    assert not any("pytest" in step or step.startswith("COPY tests") for step in final.steps_run + final.steps_cached)
    assert not any("site-packages/pytest/" in path for path in image_facts(lesson_tag("10-mounts-final")).merged)
    code, output = run_command(lesson_tag("10-mounts-test"), ["python", "-m", "pytest", "-q", "-p",
                                                              "no:cacheprovider", "/src/tests"])
    assert code == 0 and "passed" in output


@pytest.mark.docker
def test_sbom_counts_stated_in_the_lesson(docker_client: docker.DockerClient) -> None:
    builds = supply_chain.fastapi_images()
    assert builds["reference"].ok and builds["stretch"].ok, {k: v.error for k, v in builds.items()}
    reference = supply_chain.sbom_summary("reference", lesson_tag("10-sbom-reference"))
    stretch = supply_chain.sbom_summary("stretch", lesson_tag("10-sbom-stretch"))
    assert reference.has_dpkg_status and reference.counts["deb"] == int(_stated(r"reference: (\d+) Debian"))
    assert reference.counts["pypi"] == int(_stated(r"reference: \d+ Debian packages and (\d+) Python"))
    assert not stretch.has_dpkg_status and stretch.counts["deb"] == 0
    assert stretch.counts["pypi"] == int(_stated(r"stretch: 0 Debian packages, (\d+) Python"))
    assert stretch.shared_libraries == int(_stated(r"stretch: 0 Debian packages, \d+ Python packages, (\d+) shared"))
    assert builds["naive"].ok, builds["naive"].error
    naive = supply_chain.sbom_summary("naive", lesson_tag("10-sbom-naive"))
    assert naive.counts["deb"] == int(_stated(r"naive: (\d+) Debian")) and naive.has_dpkg_status
    assert naive.counts["pypi"] == int(_stated(r"naive: \d+ Debian packages and (\d+) Python"))


@pytest.mark.docker
def test_docker_leaves_an_unhealthy_container_running_even_with_restart_always(
        docker_client: docker.DockerClient) -> None:
    run = buildkit_runs.watch_health(supply_chain.healthcheck_image(), restart="always")
    assert run.health == "unhealthy" and run.state == "running" and run.restart_count == 0
    stated = float(_stated(r"unhealthy after about (\d+) s"))
    assert abs(run.seconds_to_unhealthy - stated) <= 4, run


def test_healthcheck_defaults_in_the_prose_are_dockers() -> None:
    assert "[--interval=30s] [--timeout=30s] [--start-period=0s] [--retries=3]" in _prose()
    default = Healthcheck(test=("CMD", "true"))
    assert (default.interval_s, default.timeout_s, default.start_period_s, default.retries) == (30.0, 30.0, 0.0, 3)


@pytest.mark.docker
def test_an_arm64_build_stops_at_the_base_here(docker_client: docker.DockerClient) -> None:
    attempt = supply_chain.platform_attempt("linux/arm64")
    assert not attempt.ok and not any("uname" in step for step in attempt.steps_run)
    assert attempt.failed_step == "load metadata for debian:bookworm-slim"
    assert "linux/arm64" not in (buildkit_runs._docker("buildx", "ls").stdout)


@pytest.mark.docker
def test_native_extensions_name_their_cpu_and_distroless_is_not_here(docker_client: docker.DockerClient) -> None:
    supply_chain.fastapi_images()
    extensions = supply_chain.native_extensions(image_facts(lesson_tag("10-sbom-reference")))
    assert any("_psycopg.cpython-311-x86_64-linux-gnu.so" in path for path in extensions)
    assert all(row.size_bytes is None for row in local_images(["distroless/python3-debian12"]))
