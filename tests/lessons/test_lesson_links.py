"""The registry and the lessons held together: every check's lesson link opens a notebook at a real heading."""

from __future__ import annotations

import re

import pytest
from lesson_support import read_notebook

from grader.paths import REPO_ROOT
from grader.registry import all_checks

HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def headings(notebook_name: str) -> set[str]:
    return {match.group(1) for cell in read_notebook(notebook_name).cells if cell.cell_type == "markdown"
            for match in HEADING.finditer(cell.source)}


@pytest.mark.parametrize("spec", all_checks(), ids=lambda spec: spec.id)
def test_check_lesson_link_points_at_a_heading(spec) -> None:  # type: ignore[no-untyped-def]
    path, _, anchor = spec.lesson.partition("#")
    assert path.startswith("lessons/") and (REPO_ROOT / path).is_file(), \
        f"{spec.id}: {path} is not a lesson (grader/checks/lessons.py names the notebooks)"
    assert not anchor or anchor in headings(path.removeprefix("lessons/")), \
        f"{spec.id}: no heading {anchor!r} in {path}"
