"""An nbgrader preprocessor that drops every cell the instructor did not write, before autograde runs anything.

nbgrader restores the source of locked cells it knows, but it executes any cell a learner adds: a cell after the
grading cell that redefines `expect` (or patches grader.course.autograde) would pass every test, the hidden ones
included.
Every cell of a workshop assignment is generated, locked and has a grade_id, so the rule is simple: keep a cell
only if its grade_id is one of the notebook's source cells in the gradebook, once, and drop everything else
(added cells, cells whose id was forged or duplicated). OverwriteCells, which runs after this, then restores the
instructor's source of every kept cell.

The course's nbgrader_config.py lists it in `Autograde.sanitize_preprocessors`
(grader.course.autograde.nbgrader_config).
"""

from __future__ import annotations

from typing import Any

from nbgrader.api import Gradebook, MissingEntry  # type: ignore[import-untyped]
from nbgrader.preprocessors import NbGraderPreprocessor  # type: ignore[import-untyped]

__all__ = ["DropForeignCells", "instructor_cell_ids", "keep_instructor_cells"]


def instructor_cell_ids(db_url: str, notebook_id: str, assignment_id: str) -> frozenset[str]:
    """The grade_ids of the notebook's cells as `nbgrader generate_assignment` recorded them."""
    with Gradebook(db_url) as gradebook:
        try:
            notebook = gradebook.find_notebook(notebook_id, assignment_id)
        except MissingEntry:
            return frozenset()
        return frozenset(str(cell.name) for cell in notebook.source_cells)


def keep_instructor_cells(cells: list[Any], known: frozenset[str]) -> tuple[list[Any], int]:
    """The cells whose grade_id is known, first occurrence only, in order; and how many were dropped."""
    kept, seen = [], set()
    for cell in cells:
        grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        if isinstance(grade_id, str) and grade_id in known and grade_id not in seen:
            seen.add(grade_id)
            kept.append(cell)
    return kept, len(cells) - len(kept)


class DropForeignCells(NbGraderPreprocessor):  # type: ignore[misc]
    """Remove every cell that is not one of the instructor's (see the module docstring)."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        info = resources["nbgrader"]
        known = instructor_cell_ids(info["db_url"], info["notebook"], info["assignment"])
        nb.cells, dropped = keep_instructor_cells(list(nb.cells), known)
        if dropped:
            self.log.warning("Dropped %d cell(s) that are not in the source notebook (added or forged by the "
                             "learner); they are not executed.", dropped)
        return nb, resources
