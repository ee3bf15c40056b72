"""Every lesson runs top to bottom on a fresh kernel against the real engine, and is shaped like a lesson.

Executed copies and each notebook's run time go to test-artifacts/notebooks/ (CI keeps them). These tests need
the engine: with none, the `docker_client` fixture fails them loudly (never a skip).
"""

from __future__ import annotations

import json
import os
import time

import docker
import nbformat
import pytest
from lesson_support import NOTEBOOKS, artifacts_dir, read_notebook
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from grader.paths import EXERCISES_DIR, LESSONS_DIR, PROJECT_LABEL

#: Seconds one cell may take. Warm, every cell takes seconds; cold (a fresh CI runner) a grade cell builds
#: full images and lesson 06 builds two without any cache.
CELL_TIMEOUT_S = int(os.environ.get("WORKSHOP_CELL_TIMEOUT", "1500"))
MAX_CODE_LINES = 15  # habit 9: short cells; heavy logic lives in grader/


def _exercises_snapshot() -> dict[str, bytes]:
    """exercises/ belongs to the learner: a lesson may read it, never write it."""
    return {str(path.relative_to(EXERCISES_DIR)): path.read_bytes()
            for path in sorted(EXERCISES_DIR.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_is_prose_first_with_short_cells(name: str) -> None:
    notebook = read_notebook(name)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    long_cells = [cell.get("id") for cell in notebook.cells
                  if cell.cell_type == "code" and len(cell.source.splitlines()) > MAX_CODE_LINES]
    assert not long_cells, f"code cells over {MAX_CODE_LINES} lines: {long_cells}"
    prose = sum(len(cell.source) for cell in notebook.cells if cell.cell_type == "markdown")
    code = sum(len(cell.source) for cell in notebook.cells if cell.cell_type == "code")
    assert prose > code, "a lesson should have more prose than code"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_is_committed_without_outputs(name: str) -> None:
    notebook = read_notebook(name)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code"), "clear the outputs before committing"
    assert "widgets" not in notebook.metadata


@pytest.mark.docker
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_executes_top_to_bottom(name: str, docker_client: docker.DockerClient) -> None:
    notebook = read_notebook(name)
    exercises_before = _exercises_snapshot()
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(LESSONS_DIR)}})
    started = time.monotonic()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError) as exc:
        pytest.fail(f"{name} stopped: {exc}"[:4000], pytrace=False)
    finally:
        seconds = round(time.monotonic() - started, 1)
        folder = artifacts_dir("notebooks")
        nbformat.write(notebook, folder / name)
        times_file = folder / "times.json"
        times = json.loads(times_file.read_text()) if times_file.exists() else {}
        times[name] = seconds
        times_file.write_text(json.dumps(dict(sorted(times.items())), indent=2))
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr"
                                                    and "Traceback" in output.text)]
    assert not errors, errors
    ungraded = [cell.get("id") for cell in notebook.cells for output in cell.get("outputs", [])
                if "Could not grade" in json.dumps(output.get("data", {}))]
    assert not ungraded, f"{name}: a grade in cells {ungraded} could not be made (see the executed copy in " \
                         "test-artifacts/notebooks/)"
    assert _exercises_snapshot() == exercises_before, f"{name} wrote into exercises/"
    leftovers = docker_client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}=lesson"})
    assert not leftovers, f"{name} left containers behind: {[c.name for c in leftovers]}"
