"""The real exercises: each solution scores full marks, each naive Dockerfile scores at most 20%.

Slow on a cold machine (the naive images are ~1 GB and compile native addons); fast once the engine's build
cache is warm, which the foundation tests leave behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import docker
import jsonschema
import pytest
from images import grader_containers

from grader.api import GradeConfig, grade
from grader.paths import EXERCISES, EXERCISES_DIR, SOLUTIONS_DIR
from grader.reporters.json_report import schema

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def remove_what_we_tag(docker_client: docker.DockerClient) -> Iterator[None]:
    """The graded and naive images these tests make are removed after them (BuildKit's cache stays warm)."""
    tags = [f"docker-diet-workshop/{e}:{kind}" for e in EXERCISES for kind in ("graded", "naive")]
    tags += [f"docker-diet-workshop/test-{e}:{kind}" for e in EXERCISES for kind in ("solution", "naive-graded")]
    existed = set()
    for tag in tags:
        try:
            docker_client.images.get(tag)
            existed.add(tag)
        except docker.errors.ImageNotFound:
            pass
    yield
    for tag in set(tags) - existed:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass


@pytest.mark.parametrize("exercise", EXERCISES)
def test_solution_scores_full_marks(exercise: str, docker_client: docker.DockerClient) -> None:
    report = grade(exercise, SOLUTIONS_DIR / exercise / "Dockerfile", config=GradeConfig(
        build_timeout_s=1800, tag=f"docker-diet-workshop/test-{exercise}:solution"))
    failed = {c.id: c.message for c in report.checks if c.scored and not c.passed}
    assert report.error is None and failed == {}, (report.error, failed)
    assert report.percent == 100.0 and report.exit_code == 0
    assert report.check("reduction").passed  # the baseline was built and compared
    assert report.build is not None and grader_containers(docker_client, report.build.image_id) == []


@pytest.mark.parametrize("exercise", EXERCISES)
def test_naive_dockerfile_scores_at_most_20_percent(exercise: str) -> None:
    report = grade(exercise, EXERCISES_DIR / exercise / "Dockerfile", config=GradeConfig(
        build_timeout_s=1800, tag=f"docker-diet-workshop/test-{exercise}:naive-graded"))
    assert report.error is None, report.error
    assert report.percent <= 20.0 and report.exit_code == 1
    assert report.image_size_bytes is not None and report.image_size_bytes >= 900_000_000


def test_cli_grades_a_solution_with_exit_0_json_and_junit(tmp_path: Path) -> None:
    out = tmp_path / "fastapi.json"
    command = [str(Path(sys.executable).parent / "workshop"), "grade", "fastapi", "--dockerfile",
               str(SOLUTIONS_DIR / "fastapi" / "Dockerfile"), "--format", "json", "--output", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    jsonschema.validate(data, schema())
    assert data["percent"] == 100.0 and data["image"]["base"] == "python:3.11-slim"
    junit = tmp_path / "fastapi.xml"
    command[command.index("json")] = "junit"
    command[-1] = str(junit)
    assert subprocess.run(command, capture_output=True, timeout=1800).returncode == 0
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"


def test_an_unchanged_regrade_reuses_the_build_cache_and_the_run_result() -> None:
    """What makes a regrade cheap (its time is in tests/benchmarks/bench_grader.py): the build cache gives back
    the same image, and its container run is not repeated (a fresh run would measure a new health time)."""
    dockerfile = SOLUTIONS_DIR / "node-api" / "Dockerfile"
    config = GradeConfig(tag="docker-diet-workshop/test-node-api:solution")
    first = grade("node-api", dockerfile, config=config)
    again = grade("node-api", dockerfile, config=config)
    assert first.build is not None and again.build is not None
    assert again.build.image_id == first.build.image_id  # a rebuilt step would make a new image id
    assert again.build.cached_steps > 0
    assert again.run == first.run
