"""`context-size` judges what the context holds: the apps are small, so a size threshold alone passed a learner
who never wrote an ignore file. Built from the real app folders and the reference ignore files (no engine: the
context is assembled exactly as a grade assembles it)."""

from __future__ import annotations

import pytest
from factories import make_build, make_evidence

from grader.checks.structure import context_leftovers
from grader.context import assemble_context
from grader.model import Status
from grader.paths import APPS_DIR, EXERCISES, REPO_ROOT
from grader.registry import REGISTRY, run_check
from grader.settings import load_settings


def _grade_context(app: str, ignore_text: str | None) -> Status:
    context = assemble_context(APPS_DIR / app, "FROM scratch\n", ignore_text)
    build = make_build(context_bytes=context.size_bytes, context_paths=context.paths)
    return run_check(REGISTRY["context-size"], make_evidence(settings=load_settings(app), build=build)).status


@pytest.mark.parametrize("app", EXERCISES)
def test_context_size_fails_without_an_ignore_file(app: str) -> None:
    assert _grade_context(app, None) is Status.FAIL


@pytest.mark.parametrize("app", EXERCISES)
def test_context_size_passes_with_the_reference_ignore_file(app: str) -> None:
    ignore = (REPO_ROOT / "solutions" / app / "Dockerfile.dockerignore").read_text()
    assert _grade_context(app, ignore) is Status.PASS


def test_context_size_fails_for_an_ignore_file_that_forgets_the_env_file() -> None:
    assert _grade_context("node-api", "node_modules\n.git\ntests\ndocs\n*.md\n") is Status.FAIL


def test_context_leftovers_names_the_outermost_path_once() -> None:
    found = context_leftovers(("tests", "tests/app.test.ts", "frontend/README.md", ".env.production", "src/a.ts"))
    assert found == {"tests": ["tests"], "Markdown": ["frontend/README.md"], ".env files": [".env.production"]}


def test_context_size_fails_for_a_small_context_that_sends_node_modules() -> None:
    build = make_build(context_bytes=10_000, context_paths=("node_modules", "node_modules/ms/index.js"))
    check = run_check(REGISTRY["context-size"], make_evidence(build=build))
    assert check.status is Status.FAIL and "node_modules" in check.message
