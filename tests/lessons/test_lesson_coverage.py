"""Every section of the article is taught by a notebook cell, and that cell is still there.

The table below is the contract: article section -> (notebook, cell id), one row for each of the article's 14
sections. Each teaching cell also carries the tag
`article:<slug>` in its metadata, so a cell that is rewritten keeps its place only if it keeps its id and tag.
"""

from __future__ import annotations

import pytest
from lesson_support import EXPECTED_NOTEBOOKS, NOTEBOOKS, read_notebook

from grader.paths import LESSONS_DIR

#: article section -> (tag slug, notebook, cell id), in the article's order.
COVERAGE: dict[str, tuple[str, str, str]] = {
    "The problem": ("the-problem", "00-start-here.ipynb", "start-the-problem"),
    "Why images get fat": ("why-images-get-fat", "01-why-images-get-fat.ipynb", "fat-intro"),
    "What multi-stage builds actually do": (
        "what-multi-stage-does", "02-multi-stage-node.ipynb", "node-what-multi-stage-does"),
    "Python version (FastAPI)": ("python-version", "03-python-fastapi.ipynb", "python-version"),
    "Combined frontend + backend pattern": ("combined-pattern", "04-combined.ipynb", "combined-pattern"),
    "The key principles": ("key-principles", "05-principles-and-mistakes.ipynb", "principles-table"),
    "Real numbers from production": ("real-numbers", "06-measuring.ipynb", "numbers-real-numbers"),
    "Mistake 1: forgetting to clean package manager caches": (
        "mistake-1-caches", "05-principles-and-mistakes.ipynb", "mistake-caches"),
    "Mistake 2: copying .git and test files": (
        "mistake-2-git-and-tests", "05-principles-and-mistakes.ipynb", "mistake-git-tests"),
    "Mistake 3: build tools in the production stage": (
        "mistake-3-build-tools", "05-principles-and-mistakes.ipynb", "mistake-build-tools"),
    "Mistake 4: not using .dockerignore": (
        "mistake-4-dockerignore", "05-principles-and-mistakes.ipynb", "mistake-dockerignore"),
    "When not to use multi-stage": ("when-not-to-use", "07-when-not-to-use-multi-stage.ipynb", "when-not-intro"),
    "Quick wins": ("quick-wins", "09-quick-wins-and-bottom-line.ipynb", "closing-quick-wins"),
    "The bottom line": ("bottom-line", "09-quick-wins-and-bottom-line.ipynb", "closing-bottom-line"),
}

def test_lessons_exist() -> None:
    missing = [name for name in EXPECTED_NOTEBOOKS if not (LESSONS_DIR / name).is_file()]
    assert not missing, f"lessons missing: {missing}"


@pytest.mark.parametrize("section", list(COVERAGE))
def test_section_is_taught_by_its_cell(section: str) -> None:
    slug, notebook, cell_id = COVERAGE[section]
    assert (LESSONS_DIR / notebook).is_file(), f"{section}: {notebook} is gone"
    cells = {cell.get("id"): cell for cell in read_notebook(notebook).cells}
    assert cell_id in cells, f"{section}: cell {cell_id!r} is gone from {notebook}"
    cell = cells[cell_id]
    assert f"article:{slug}" in cell.metadata.get("tags", []), f"{section}: cell {cell_id} lost its article tag"
    assert cell.cell_type == "markdown" and len(cell.source) > 200, f"{section}: cell {cell_id} teaches nothing"


def test_no_article_tag_outside_the_table() -> None:
    """A tag that is not in the table means the table and the notebooks drifted apart."""
    known = {(f"article:{slug}", notebook, cell_id) for slug, notebook, cell_id in COVERAGE.values()}
    found = {
        (tag, name, cell.get("id"))
        for name in NOTEBOOKS
        for cell in read_notebook(name).cells
        for tag in cell.metadata.get("tags", [])
        if tag.startswith("article:")
    }
    assert found == known
