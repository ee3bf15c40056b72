"""The CLI contract: exit codes 0/1/2, bad input gets a message (never a traceback), JSON validates, JUnit parses.

Driven through the installed `workshop` console script (the venv's bin/workshop), the command users run."""

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
from images import remove_test_images, write_app

from grader.cli.workshop import main
from grader.reporters.json_report import schema

#: The console script pip installed beside this interpreter (`pip install -e .` makes it).
WORKSHOP = Path(sys.executable).parent / "workshop"


#: Builds in apps/fastapi's context in seconds (no package installs) and is graded: it runs as root and has no
#: HEALTHCHECK, so `non-root` and `healthcheck` fail and the exit code is 1, never 2.
GRADABLE_BUT_FAILING = """FROM python:3.11-slim
WORKDIR /app
COPY app ./app
CMD ["python", "-c", "import time; time.sleep(3600)"]
"""


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert WORKSHOP.is_file(), f"{WORKSHOP} is missing: install the project with `pip install -e .`"
    return subprocess.run([str(WORKSHOP), *args], capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture
def cleanup(docker_client: docker.DockerClient) -> Iterator[None]:
    yield
    remove_test_images(docker_client)


def test_checks_lists_every_check_with_points_and_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"builds", "non-root", "lint"} <= {c["id"] for c in listed}
    assert all(c["lesson"].startswith("lessons/") for c in listed)


def test_explain_prints_the_checks_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "no-secrets"]) == 0
    assert "deleted by a later layer" in capsys.readouterr().out


def test_explain_unknown_check_exits_2_and_lists_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "no-such-check"]) == 2
    assert "non-root" in capsys.readouterr().err


def test_unknown_exercise_exits_2_with_the_valid_names() -> None:
    result = run_cli("grade", "java-api", "--no-baseline")
    assert result.returncode == 2 and "node-api" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content,expected", [
    (None, "No Dockerfile"),
    ("", "empty"),
    ("FROM python:3.11-slim\nRUNN echo\n", "Line 2: unknown instruction `RUNN`"),
    ("COPY . .\n", "before any FROM"),
])
def test_bad_dockerfiles_exit_2_with_a_message(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "Dockerfile"
    if content is not None:
        path.write_text(content)
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--format", "json", "--no-baseline")
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema())
    assert report["error"]["kind"] == "dockerfile" and expected in report["error"]["message"]
    assert "Traceback" not in result.stderr


@pytest.mark.docker  # "classic" is checked against the engine before the file is judged
def test_buildkit_syntax_under_the_classic_builder_exits_2_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache/pip pip --version\n")
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--backend", "classic", "--format", "json",
                     "--no-baseline")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "buildkit-only-syntax" and "RUN --mount" in error["message"] and error["line"] == 2


@pytest.mark.docker
@pytest.mark.parametrize("backend", ["classic", "buildx"])
def test_a_hanging_build_times_out_with_exit_2(tmp_path: Path, backend: str, cleanup: None) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(f"FROM debian:bookworm-slim\nRUN echo {backend} && sleep 120\n")
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--backend", backend, "--build-timeout", "4",
                     "--format", "json", "--no-baseline")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "build-timeout" and "--build-timeout" in error["message"]


@pytest.mark.docker
def test_a_base_that_is_not_here_and_cannot_be_pulled_is_named_with_the_local_bases(tmp_path: Path) -> None:
    """Where a registry answers a missing base is pulled; an image no registry has stops before the build."""
    path = tmp_path / "Dockerfile"
    path.write_text("FROM debian:bookworm-slim AS build\nFROM workshop-test/no-such-base:1\nCMD [\"true\"]\n")
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--format", "json", "--no-baseline",
                     "--no-class-mode")  # in class mode (CI) the allow list refuses it first
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "dockerfile" and error["line"] == 2
    assert "`workshop-test/no-such-base:1` is not on this machine" in error["message"]
    assert "python:3.11-slim" in error["message"], "the message lists the bases this machine has"


@pytest.mark.docker
def test_a_failing_run_shows_instruction_line_and_log_tail(tmp_path: Path, cleanup: None) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM debian:bookworm-slim\nRUN echo hello\nRUN echo about-to-fail && exit 7\n")
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--format", "json", "--no-baseline")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "build-failed" and error["line"] == 3 and "exit 7" in error["step"]
    assert any("about-to-fail" in line for line in error["log_tail"]) and len(error["log_tail"]) <= 20


@pytest.mark.docker
def test_grade_json_validates_junit_parses_and_exit_code_follows_checks(
    tmp_path: Path, cleanup: None, docker_client: docker.DockerClient
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(GRADABLE_BUT_FAILING)
    out = tmp_path / "report.json"
    result = run_cli("grade", "fastapi", "--dockerfile", str(dockerfile), "--format", "json", "--output", str(out),
                     "--no-baseline")
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, schema())
    failed = {c["id"] for c in report["checks"] if c["status"] == "fail"}
    assert report["error"] is None and report["exit_code"] == 1 and {"non-root", "healthcheck"} <= failed
    junit = tmp_path / "report.xml"
    result = run_cli("grade", "fastapi", "--dockerfile", str(dockerfile), "--format", "junit", "--output",
                     str(junit), "--no-baseline")
    assert result.returncode == 1, result.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "docker-diet-workshop.fastapi"
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "-1")) == len(cases) == len(report["checks"])
    assert {c.get("name") for c in cases if c.find("failure") is not None} >= {"non-root", "healthcheck"}
    assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)


def test_no_engine_exits_2_and_says_how_to_get_one(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM python:3.11-slim\n")
    env = {**__import__("os").environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    result = run_cli("grade", "fastapi", "--dockerfile", str(path), "--no-baseline", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Docker Desktop" in result.stdout + result.stderr


def test_checks_markdown_is_generated_from_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| id |") and "`healthcheck-meaningful`" in out


def test_lint_keeps_only_the_final_stages_user_findings() -> None:
    from grader.dockerfile import parse_dockerfile
    from grader.lint import filter_findings

    info = parse_dockerfile("FROM node:20 AS build\nUSER root\nFROM node:20-slim\nUSER root\n")
    findings = [{"code": "DL3002", "line": 2, "message": "Last USER should not be root"},
                {"code": "DL3002", "line": 4, "message": "Last USER should not be root"}]
    assert filter_findings(findings, info) == ("DL3002 line 4: Last USER should not be root",)


@pytest.mark.docker
def test_a_replaced_build_leaves_no_dangling_image_and_progress_streams(
    tmp_path: Path, cleanup: None, docker_client: docker.DockerClient
) -> None:
    from grader.api import GradeConfig, grade
    from grader.settings import ExerciseSettings

    events: list[str] = []
    ids = []
    for backend, marker in (("classic", "one"), ("buildx", "two")):
        dockerfile = write_app(tmp_path, f"FROM debian:bookworm-slim\nRUN echo {marker} > /m\n", "*\n")
        report = grade("fastapi", dockerfile, config=GradeConfig(
            backend=backend, app_dir=tmp_path, baseline=False, lint=False, settings=ExerciseSettings("fastapi"),
            tag="docker-diet-workshop/test-replace:t"), progress=lambda event: events.append(event.text))
        assert report.build is not None and report.build.backend == backend
        ids.append(report.build.image_id)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(ids[0])  # the replaced image was removed, not left dangling
    assert any("RUN echo one" in e for e in events) and any("RUN echo two" in e for e in events)
