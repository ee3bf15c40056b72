"""Minutes per lesson for the instructor guide's 3-hour plan: the MEASURED run time of each lesson (the executed
copies' docs/lessons/times.json, written by `python -m grader.notebook.export docs/lessons`) plus reading and
doing time ESTIMATED from each notebook's text.

    .venv/bin/python tests/benchmarks/lesson_minutes.py

The estimate (printed with the table): prose at WORDS_PER_MINUTE, each prediction PREDICTION_MIN, the quiz
QUIZ_MIN, each shell command the learner types COMMAND_MIN, and the exercise lessons' edit-and-grade loop
EXERCISE_MIN (02 is the first exercise and gets more). Prints a Markdown table.
"""

from __future__ import annotations

import json
import re

import nbformat

from grader.paths import LESSONS_DIR, REPO_ROOT

WORDS_PER_MINUTE = 150  # careful reading of technical prose with code in it
PREDICTION_MIN, QUIZ_MIN, COMMAND_MIN = 1.5, 2.0, 1.0
EXERCISE_MIN = {"02": 20.0, "03": 15.0, "04": 15.0}
CORE = ("00", "01", "02", "03", "04", "05", "09")


def lesson_row(name: str, run_seconds: float) -> tuple[str, int, int, int, float, float]:
    cells = nbformat.read(LESSONS_DIR / name, as_version=4).cells  # type: ignore[no-untyped-call]
    prose = " ".join(cell.source for cell in cells if cell.cell_type == "markdown")
    code = [cell.source for cell in cells if cell.cell_type == "code"]
    words = len(re.findall(r"\w[\w'-]*", prose))
    predictions = sum(source.count("Prediction(") for source in code)
    commands = sum(1 for source in code if source.lstrip().startswith("!") or "%%bash" in source)
    doing = (words / WORDS_PER_MINUTE + predictions * PREDICTION_MIN + QUIZ_MIN + commands * COMMAND_MIN
             + EXERCISE_MIN.get(name[:2], 0.0))
    return name, words, predictions, commands, run_seconds / 60, doing + run_seconds / 60


def main() -> None:
    times = json.loads((REPO_ROOT / "docs" / "lessons" / "times.json").read_text())
    print("| lesson | path | words | predictions | commands | run (measured, min) | total (min) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    totals = {"core": 0.0, "optional": 0.0}
    for name in sorted(times):
        row = lesson_row(name, float(times[name]["seconds"]))
        path = "core" if name[:2] in CORE else "optional"
        totals[path] += row[5]
        print(f"| {row[0]} | {path} | {row[1]} | {row[2]} | {row[3]} | {row[4]:.1f} | {row[5]:.0f} |")
    print(f"\ncore path: {totals['core']:.0f} min; optional depth: {totals['optional']:.0f} min")


if __name__ == "__main__":
    main()
