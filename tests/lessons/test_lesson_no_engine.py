"""Without a Docker engine, "Run All" on any lesson ends in one message with the doctor's advice, not a traceback:
the first code cell (grader.notebook.engine_gate.require_engine) stops the run there. And a learner who runs the
later cells anyway (or a viewer that does not stop) gets a message from each, never a traceback: every cell is run
here, and only the first may raise. No engine is needed: DOCKER_HOST points at a socket that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from lesson_support import NOTEBOOKS, read_notebook
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from grader.notebook.engine_gate import NO_ENGINE_NOTE
from grader.paths import LESSONS_DIR


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_run_all_without_an_engine_ends_in_a_message(name: str, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    notebook = read_notebook(name)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "require_engine()" in first_code.source, "the first code cell checks the engine"
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(LESSONS_DIR)}})
    with pytest.raises(CellExecutionError):
        client.execute()
    errors = [(cell.get("id"), output) for cell in notebook.cells for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert [cell_id for cell_id, _ in errors] == [first_code.get("id")], "Run All stops at the engine check"
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0][1].traceback))
    assert "no Docker engine answers" in shown and "workshop doctor" in shown
    assert "Traceback" not in shown and 'File "' not in shown and "----" not in shown


def _text(output: nbformat.NotebookNode) -> str:
    return str(output.get("text", "")) + str(output.get("data", {}).get("text/html", "")) + \
        "\n".join(output.get("traceback", []))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_later_cell_without_an_engine_ends_in_a_message(name: str, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    notebook = read_notebook(name)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(LESSONS_DIR)}})
    client.execute()
    raised = [cell.get("id") for cell in code[1:] for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert not raised, f"{name}: cells {raised} raised without an engine"
    tracebacks = [cell.get("id") for cell in code[1:] for output in cell.get("outputs", [])
                  if "Traceback" in _text(output) or 'File "' in _text(output)]
    assert not tracebacks, f"{name}: cells {tracebacks} printed a traceback"
    told = [cell.get("id") for cell in code[1:] if any(NO_ENGINE_NOTE in _text(o) or "Could not grade" in _text(o)
                                                       for o in cell.get("outputs", []))]
    assert told, f"{name}: no later cell said that it needs the engine (or that its grade could not be made)"
