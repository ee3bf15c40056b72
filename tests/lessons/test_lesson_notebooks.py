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


EXERCISE_LESSONS = {"02-multi-stage-node.ipynb": "node-api", "03-python-fastapi.ipynb": "fastapi",
                    "04-combined.ipynb": "combined"}


@pytest.mark.parametrize("name", sorted(EXERCISE_LESSONS))
def test_exercise_lesson_shows_no_reference_before_the_learners_first_grade(name: str) -> None:
    """Attempt first: nothing before the learner's grade cell names the reference, and the reference is only
    reached through the collapsed `compare_with_reference` section after it."""
    cells = read_notebook(name).cells
    first_grade = next(i for i, cell in enumerate(cells) if cell.cell_type == "code" and "grade_panel(" in cell.source)
    assert "../exercises/" in cells[first_grade].source, "the learner's own file is graded first"
    before = [cell.get("id") for cell in cells[:first_grade] if "solutions/" in cell.source
              or "reference" in cell.source.lower()]
    assert not before, f"{name}: cells {before} show the reference before the first grade"
    reference_cells = [i for i, cell in enumerate(cells) if "solutions/" in cell.source and cell.cell_type == "code"]
    assert not reference_cells, "the reference is graded only when the learner opens the section"
    opens = [i for i, cell in enumerate(cells) if "compare_with_reference(" in cell.source and cell.cell_type == "code"
             and "import" not in cell.source]
    assert opens and min(opens) > first_grade


@pytest.mark.parametrize("name", sorted(EXERCISE_LESSONS))
def test_exercise_lesson_links_its_files_for_the_editor_and_gives_hints(name: str) -> None:
    app = EXERCISE_LESSONS[name]
    text = "\n".join(cell.source for cell in read_notebook(name).cells)
    assert f"](../exercises/{app}/Dockerfile)" in text and f"](../exercises/{app}/Dockerfile.dockerignore)" in text
    assert "Hints([" in text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lesson_asks_two_predictions_and_ends_with_a_quiz(name: str) -> None:
    code = [cell.source for cell in read_notebook(name).cells if cell.cell_type == "code"]
    predictions = sum(source.count("Prediction(") for source in code)
    reveals = sum(source.count(".reveal(") for source in code)
    assert predictions >= 2 and reveals >= predictions, f"{name}: {predictions} predictions, {reveals} reveals"
    assert "Quiz(quizzes.LESSONS" in code[-1], f"{name}: the last code cell should be the quiz"


@pytest.mark.parametrize("name", ["00-start-here.ipynb", "01-why-images-get-fat.ipynb",
                                  "02-multi-stage-node.ipynb", "06-measuring.ipynb"])
def test_lesson_has_the_learner_type_real_docker_commands(name: str) -> None:
    code = "\n".join(cell.source for cell in read_notebook(name).cells if cell.cell_type == "code")
    assert "!docker " in code or ("%%bash" in code and "docker " in code)


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
