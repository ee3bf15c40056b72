"""Shared pieces of the lesson tests: where the notebooks are, where artifacts go, how to read a notebook.

A plain module (not a conftest): the tests import it by name, pytest puts this folder on sys.path."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.paths import LESSONS_DIR, REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts"
NOTEBOOKS = sorted(path.name for path in LESSONS_DIR.glob("[0-9][0-9]-*.ipynb"))

#: Every lesson the issue asks for; a missing file fails test_lessons_exist.
EXPECTED_NOTEBOOKS = (
    "00-start-here.ipynb",
    "01-why-images-get-fat.ipynb",
    "02-multi-stage-node.ipynb",
    "03-python-fastapi.ipynb",
    "04-combined.ipynb",
    "05-principles-and-mistakes.ipynb",
    "06-measuring.ipynb",
    "07-when-not-to-use-multi-stage.ipynb",
    "08-beyond-the-article.ipynb",
    "09-quick-wins-and-bottom-line.ipynb",
    "10-buildkit-and-the-supply-chain.ipynb",
)


def read_notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(LESSONS_DIR / name, as_version=4)


def artifacts_dir(*parts: str) -> Path:
    """test-artifacts/ at the repository root (gitignored; CI keeps it), or a folder in it."""
    path = ARTIFACTS.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
