"""Every lesson opens with Questions and Objectives and closes with Key points, as Carpentries lessons do: three
markdown cells, found by their tags (lesson:questions, lesson:objectives, lesson:key-points)."""

from __future__ import annotations

import pytest
from lesson_support import NOTEBOOKS, read_notebook

FRAME_TAGS = {"lesson:questions": "## Questions", "lesson:objectives": "## Objectives",
              "lesson:key-points": "## Key points"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_opens_with_questions_and_objectives_and_closes_with_key_points(name: str) -> None:
    cells = read_notebook(name).cells
    where = {tag: [i for i, cell in enumerate(cells) if tag in cell.get("metadata", {}).get("tags", [])]
             for tag in FRAME_TAGS}
    assert all(len(found) == 1 for found in where.values()), f"{name}: one cell per tag, found {where}"
    questions, objectives, key_points = (where[tag][0] for tag in FRAME_TAGS)
    for tag, index in ((t, where[t][0]) for t in FRAME_TAGS):
        cell = cells[index]
        assert cell.cell_type == "markdown" and cell.source.startswith(FRAME_TAGS[tag]), f"{name}: {tag}"
        assert cell.source.count("\n- ") >= 2, f"{name}: {tag} lists at least two concrete items"
    first_code = next(i for i, cell in enumerate(cells) if cell.cell_type == "code")
    assert questions < objectives < first_code, f"{name}: questions, then objectives, before any code"
    quiz = max(i for i, cell in enumerate(cells) if cell.cell_type == "code")
    assert key_points > quiz and all(cell.cell_type == "markdown" for cell in cells[key_points:]), \
        f"{name}: key points close the lesson, after the quiz"
