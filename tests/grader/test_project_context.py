"""`workshop grade --context DIR` on a learner's own project: the contract, the baseline, the budgets, and real
grades of two vendored real-world projects (tests/fixtures/projects: an Express API, MIT; Flask's JavaScript
example, BSD-3-Clause; each with its LICENSE and a NOTICE naming the upstream commit).

The engine tests copy a fixture to a temporary folder named `test-ctx-...`, so its tags are
`docker-diet-workshop/project-test-ctx-...` and are removed afterwards with the project's state folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import jsonschema
import pytest
from images import remove_test_images

from grader import project
from grader.errors import GradeError
from grader.model import ArticleNumbers, BaselineFacts, Comparison, ProjectFacts, Report
from grader.paths import PROJECT_LABEL
from grader.project import (
    ProjectOptions,
    detect_stack,
    naive_dockerfile,
    parse_expect,
    project_contract,
    project_name,
    project_settings,
    resolve_baseline,
)
from grader.reporters.json_report import schema
from grader.settings import MB

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
WORKSHOP = Path(sys.executable).parent / "workshop"
TAG_PREFIX = "docker-diet-workshop/project-test-ctx-"


def test_expect_flag_becomes_a_probe_request() -> None:
    assert parse_expect("get /api 200 contains hello world", 0) == {
        "name": "#1 GET /api", "method": "GET", "path": "/api",
        "expect": {"status": 200, "body_contains": ["hello world"]}}
    with pytest.raises(GradeError, match="METHOD /path STATUS"):
        parse_expect("GET /api ok", 0)


def test_contract_from_flags_needs_a_port_and_adds_the_health_path(tmp_path: Path) -> None:
    with pytest.raises(GradeError, match="need --port"):
        project_contract(ProjectOptions(tmp_path, expects=("GET / 200",)), "p")
    contract = project_contract(ProjectOptions(tmp_path, port=8080, health_path="/healthz",
                                               expects=("POST /items 201",)), "p")
    assert contract is not None and contract.port == 8080
    assert [(r.name, r.method, r.path, r.expect.status) for r in contract.requests] == [
        ("health", "GET", "/healthz", 200), ("#1 POST /items", "POST", "/items", 201)]


def test_contract_file_in_the_project_or_its_workshop_folder(tmp_path: Path) -> None:
    assert project_contract(ProjectOptions(tmp_path), "p") is None
    (tmp_path / ".workshop").mkdir()
    shutil.copy(FIXTURES / "express-rest-starter" / "probe.toml", tmp_path / ".workshop" / "probe.toml")
    contract = project_contract(ProjectOptions(tmp_path), "p")
    assert contract is not None and contract.port == 3000 and len(contract.requests) == 3


def test_stack_detection_and_naive_dockerfiles(tmp_path: Path) -> None:
    assert detect_stack(tmp_path) is None
    assert detect_stack(FIXTURES / "express-rest-starter") == "node"
    assert detect_stack(FIXTURES / "flask-js-example") == "python"
    node = naive_dockerfile("node", FIXTURES / "express-rest-starter")
    assert "FROM node:20\n" in node and "RUN npm install" in node  # no lock file upstream: npm ci would fail
    assert "pip install ." in naive_dockerfile("python", FIXTURES / "flask-js-example")


def test_first_dockerfile_is_remembered_and_used_when_no_stack(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "PROJECTS_DIR", tmp_path / "state")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM debian:bookworm-slim\n")
    options = ProjectOptions(app)
    path, source, stack = resolve_baseline(options, "p", app / "Dockerfile")
    (app / "Dockerfile").write_text("FROM scratch\n")  # the learner edits on; the first one stays the baseline
    again, _, _ = resolve_baseline(options, "p", app / "Dockerfile")
    assert stack is None and source == "your first graded Dockerfile" and path == again
    assert path is not None and path.read_text() == "FROM debian:bookworm-slim\n"
    with pytest.raises(GradeError, match="cannot write a naive baseline"):
        resolve_baseline(ProjectOptions(app, baseline="naive"), "p", app / "Dockerfile")


def test_budget_is_relative_to_the_baseline_unless_workshop_toml_sets_it(tmp_path: Path) -> None:
    baseline = BaselineFacts("sha256:x", 1000 * MB, 10.0)
    settings = project_settings(tmp_path, "p", baseline)
    assert settings.size_threshold_bytes == 300 * MB and settings.size_band_bytes == 1000 * MB
    assert settings.article.before_bytes == 1000 * MB and settings.points["beats-article"] == 0
    (tmp_path / "workshop.toml").write_text("[size]\nthreshold_mb = 120\n")
    assert project_settings(tmp_path, "p", baseline).size_threshold_bytes == 120 * MB


def test_project_names_are_tag_safe() -> None:
    name = project_name(Path("/tmp/My App!"))
    assert name.startswith("project-my-app-") and name == name.lower()


def test_reports_show_the_projects_before_and_after_not_the_article() -> None:
    from grader.reporters import render_many
    from grader.reporters.json_report import to_dict

    comparison = Comparison(article=ArticleNumbers(1000 * MB, 300 * MB), naive_bytes=1000 * MB,
                            current_bytes=150 * MB, reduction_percent=85.0, cold_build_s=None, warm_build_s=None,
                            compressed_bytes_estimate=None, pull_seconds_estimate=None, bandwidth_mbps=100.0)
    report = Report("project-x", (), comparison=comparison,
                    project=ProjectFacts("my-api", "a naive node Dockerfile", "node"))
    for fmt in ("table", "gradescope", "github-summary", "html"):
        text = render_many([report], fmt)
        assert "Your project" in text and "1.00 GB" in text and "150 MB" in text, fmt
        assert "Beside the article" not in text and "Article:" not in text, fmt
    data = to_dict(report)
    assert data["project"]["before_bytes"] == 1000 * MB and data["project"]["stack"] == "node"
    jsonschema.validate(data, schema())


def test_missing_context_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run([str(WORKSHOP), "grade", "--context", str(tmp_path / "nope"), "--format", "json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no such folder" in result.stdout and "Traceback" not in result.stderr


# ------------------------------------------------------------------ the real engine, the vendored projects

@pytest.fixture
def project_copy(docker_client: docker.DockerClient, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A copy of one fixture in a `test-ctx-*` folder; its images and state folder are removed afterwards."""
    copy = tmp_path / f"test-ctx-{request.param}"
    shutil.copytree(FIXTURES / request.param, copy)
    yield copy
    remove_test_images(docker_client, TAG_PREFIX)
    shutil.rmtree(project.PROJECTS_DIR / project_name(copy), ignore_errors=True)


def _grade(*args: str) -> dict[str, object]:
    result = subprocess.run([str(WORKSHOP), "grade", "--format", "json", *args], capture_output=True, text=True,
                            timeout=1500)
    assert "Traceback" not in result.stderr, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    jsonschema.validate(data, schema())
    return data


def _checks(data: dict[str, object]) -> dict[str, str]:
    return {str(c["id"]): str(c["status"]) for c in data["checks"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("project_copy", ["express-rest-starter", "flask-js-example"], indirect=True)
def test_vendored_project_grades_with_app_works_and_its_own_before_after(
        project_copy: Path, docker_client: docker.DockerClient) -> None:
    data = _grade("--context", str(project_copy))
    assert data["error"] is None
    checks = _checks(data)
    assert checks["app-works"] == "pass" and checks["builds"] == "pass" and checks["reduction"] == "pass", checks
    info = data["project"]
    assert isinstance(info, dict) and info["baseline_source"].startswith("a naive ")
    assert info["before_bytes"] > 3 * info["after_bytes"]  # the naive full-base image against the multi-stage one
    assert data["percent"] == 100.0, checks
    tags = [t for i in docker_client.api.images(filters={"label": PROJECT_LABEL})
            for t in i.get("RepoTags") or [] if t.startswith(TAG_PREFIX)]
    assert tags, "the grade left no tagged image to clean up (the fixture's cleanup would prove nothing)"


@pytest.mark.parametrize("project_copy", ["express-rest-starter"], indirect=True)
def test_flags_replace_the_contract_and_a_wrong_answer_fails_app_works(project_copy: Path) -> None:
    ok = _grade("--context", str(project_copy), "--no-baseline", "--port", "3000",
                "--expect", "GET /api 200 contains GET", "--expect", "DELETE /api/7 200 contains DELETE")
    assert _checks(ok)["app-works"] == "pass"
    wrong = _grade("--context", str(project_copy), "--no-baseline", "--port", "3000",
                   "--expect", "GET /api 200 contains no-such-text")
    assert _checks(wrong)["app-works"] == "fail"


def test_class_mode_bases_apply_to_a_project_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from grader.cli.grade import _class_mode

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert _class_mode(argparse.Namespace(class_mode=None, context=None)) is True  # the exercises under CI
    assert _class_mode(argparse.Namespace(class_mode=None, context=Path("app"))) is False
    assert _class_mode(argparse.Namespace(class_mode=True, context=Path("app"))) is True
