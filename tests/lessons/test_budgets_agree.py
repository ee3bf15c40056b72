"""One set of size budgets: every number a learner reads as "the budget" equals `[size] threshold_mb` in
exercises/<app>/grading.toml (the number the `size` check uses). The lessons print it with
grader.notebook.common.size_budget; the Markdown files and the starting Dockerfiles state it, and this test
holds them to grading.toml."""

from __future__ import annotations

import re

import pytest
from lesson_support import read_notebook

from grader.notebook.common import size_budget
from grader.paths import EXERCISES, EXERCISES_DIR, REPO_ROOT
from grader.settings import load_settings

EXERCISE_LESSONS = {"node-api": "02-multi-stage-node.ipynb", "fastapi": "03-python-fastapi.ipynb",
                    "combined": "04-combined.ipynb"}


def _budget_mb(app: str) -> int:
    return round(load_settings(app).size_threshold_bytes / 1e6)


def _row(text: str, marker: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith("|") and marker in line]
    assert len(rows) == 1, f"expected one table row with {marker}, found {rows}"
    return rows[0]


@pytest.mark.parametrize("app", EXERCISES)
def test_starting_dockerfiles_state_the_grading_toml_budget(app: str) -> None:
    for path in (REPO_ROOT / "grader" / "starters" / f"{app}.Dockerfile", EXERCISES_DIR / app / "Dockerfile"):
        stated = re.findall(r"at most (\d+) MB", path.read_text())
        assert stated == [str(_budget_mb(app))], f"{path}: {stated}"


@pytest.mark.parametrize("app", EXERCISES)
def test_markdown_tables_state_the_grading_toml_budget(app: str) -> None:
    budget = f"<= {_budget_mb(app)} MB"
    assert budget in _row((REPO_ROOT / "README.md").read_text(), f"`apps/{app}`")
    assert budget in _row((EXERCISES_DIR / "README.md").read_text(), f"| `{app}`")
    cells = [cell.strip() for cell in _row((REPO_ROOT / "solutions" / "README.md").read_text(), f"| `{app}`")
             .split("|")]
    assert cells[4] == f"{_budget_mb(app)} MB", cells


@pytest.mark.parametrize("app", EXERCISES)
def test_exercise_lesson_prints_the_budget_from_grading_toml(app: str) -> None:
    notebook = read_notebook(EXERCISE_LESSONS[app])
    assert any(cell.cell_type == "code" and f'size_budget("{app}")' in cell.source for cell in notebook.cells)
    prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert not re.search(r"at most \*\*\d+ MB\*\*", prose), "state the budget through size_budget(), not by hand"
    assert f"**{_budget_mb(app)} MB**" in size_budget(app)
