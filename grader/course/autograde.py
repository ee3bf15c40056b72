"""The nbgrader adapter: `workshop course init DIR` writes a course, and the helpers its notebooks call.

nbgrader is an edge, not the core: each assignment notebook calls `grade_submission()` once (the same
`grader.grade()` the CLI calls), and every autograded test cell asks that one Report about one check id:

    source/<exercise>/
        <exercise>.ipynb   instructions, the learner's Dockerfile, one grading cell, one test cell per check id
        Dockerfile         the starting point, which the learner edits (kept at autograde, never overwritten)
        grading.toml       the exercise's thresholds and points (the instructor's copy wins at autograde)
        app/               the build context, a copy of apps/<exercise> (the instructor's copy wins too)

A test cell is worth the check's points; it returns partial credit when the grader gave some (nbgrader reads a
number as the cell's score) and raises with the check's message and hint when it gave none. Nothing here writes
to stderr: nbgrader gives a cell zero for any stderr output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import textwrap
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.api import GradeConfig, grade
from grader.course.restore import COURSE_SOURCE_ENV, course_copy, foreign_files, ignored_note
from grader.errors import CheckNotPassed, CourseError, GradeError, UnknownCheck
from grader.exercises import starter_dockerfile
from grader.model import BuildEvent, ProgressCallback, Report, Status
from grader.paths import APPS_DIR, EXERCISES
from grader.registry import all_checks
from grader.settings import ExerciseSettings, load_settings, settings_path
from grader.submission_files import digest as _digest  # read without following links: never a hang
from grader.submission_files import present, read_text
from grader.units import human_bytes

__all__ = [
    "APP_FOLDER",
    "CELL_TIMEOUT_S",
    "COURSE_ID",
    "HIDDEN_CHECKS",
    "LEARNER_FILES",
    "RETRY_KINDS",
    "SETTINGS_NAME",
    "CheckNotPassed",
    "CourseError",
    "GradedCell",
    "build_notebook",
    "expect",
    "expect_check",
    "grade_submission",
    "graded_cells",
    "init_course",
    "nbgrader_config",
    "show_dockerfile",
    "show_report",
    "submission_config",
]

COURSE_ID = "docker-diet-workshop"
SETTINGS_NAME = "grading.toml"
APP_FOLDER = "app"
#: Files the learner submits; nbgrader must not replace them with the instructor's copies at autograde.
LEARNER_FILES = ("Dockerfile", ".dockerignore")
#: Checks graded as nbgrader hidden tests: absent from the released notebook, restored at autograde.
HIDDEN_CHECKS = frozenset({"no-compilers", "healthcheck-meaningful", "no-dev-dependencies", "no-caches",
                           "no-junk", "no-secrets", "layer-waste"})
#: Seconds nbgrader lets one cell run: a learner's cold build (<= 10 min), the naive baseline built once
#: (<= 30 min on a cold machine) and the container's health wait all happen in the grading cell.
CELL_TIMEOUT_S = 2700
#: Never copied into a course's app/ folder (a learner's local installs and caches).
_NOT_COPIED = ("node_modules", "__pycache__", ".pytest_cache", ".venv", "dist", "coverage", ".ipynb_checkpoints")

_GOALS = {
    "node-api": "a TypeScript Express API whose `bcrypt` is compiled from source during `npm ci`",
    "fastapi": "a FastAPI service whose `psycopg2` is compiled against libpq during `pip install`",
    "combined": "a React frontend built with Vite and served by a Node backend, in one image",
}


# ---------------------------------------------------------------- helpers the notebooks call


_REPORTS: dict[tuple[str, ...], Report] = {}
#: "Could not grade" kinds that say nothing about the submission (no engine; the engine failed under us).
RETRY_KINDS = frozenset({"no-engine", "error"})


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings and nothing on stderr while grading: nbgrader zeroes a cell for any stderr output."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _step_printer() -> ProgressCallback:
    """Build progress for a notebook: one stdout line per build step, no widgets (nothing can hang)."""
    seen: set[tuple[int | None, int | None]] = set()

    def update(event: BuildEvent) -> None:
        if event.step and (event.step, event.total) not in seen:
            seen.add((event.step, event.total))
            print(f"  step {event.step}/{event.total or '?'}: {event.text.strip()[:100]}", flush=True)

    return update


def submission_config(exercise: str, folder: Path) -> GradeConfig:
    """How a course folder is graded: the app/ and grading.toml of the course's own copy at autograde
    (grader.course.restore; the folder's own in a learner's notebook), the packaged starting Dockerfile, the
    class's allow list of bases, and an image tag of its own (two learners' autogrades never share one)."""
    trusted = course_copy(exercise) or folder
    settings_file = trusted / SETTINGS_NAME
    settings = load_settings(exercise, settings_file) if settings_file.is_file() else None
    where = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    return GradeConfig(settings=settings, app_dir=trusted / APP_FOLDER,
                       baseline_dockerfile=starter_dockerfile(exercise), class_mode=True,
                       tag=f"docker-diet-workshop/{exercise}:course-{where}")


def grade_submission(exercise: str, folder: str | Path | None = None, *, verbose: bool = True) -> Report:
    """Grade the Dockerfile and .dockerignore in `folder` (default: the notebook's folder), once per content.

    The Report is cached for the kernel's life, keyed by the two files' contents, so re-running the cell
    after an edit grades again and re-running it without one costs nothing."""
    where = Path(folder) if folder is not None else Path.cwd()
    dockerfile, dockerignore = where / "Dockerfile", where / ".dockerignore"
    key = (exercise, str(where.resolve()), _digest(dockerfile), _digest(dockerignore),
           _digest(where / "Dockerfile.dockerignore"), _digest(where / SETTINGS_NAME))
    if key in _REPORTS:
        return _REPORTS[key]
    if verbose:
        print(f"Grading {exercise}: building your Dockerfile (minutes the first time, seconds after) ...",
              flush=True)
        source = course_copy(exercise)
        note = ignored_note(foreign_files(where, source)) if source is not None else None
        if note:
            print(note, flush=True)
    with _quiet():
        report = grade(exercise, dockerfile, dockerignore if present(dockerignore) else None,
                       config=submission_config(exercise, where), progress=_step_printer() if verbose else None)
    if report.error is None or report.error.kind not in RETRY_KINDS:
        _REPORTS[key] = report  # a missing engine is not the learner's answer: the next run tries again
    if verbose:
        done = (f"{report.score:g}/{report.max_score:g} points ({report.percent:g}%)" if report.graded
                else f"could not grade ({report.error.kind})" if report.error else "")
        print(f"Done: {done}.", flush=True)
    return report


def show_report(report: Report) -> Any:
    """The check table as plain HTML (no widget, so it also shows in nbgrader's feedback pages)."""
    from IPython.display import HTML

    from grader.reporters.notebook import render_html

    return HTML(render_html(report))  # type: ignore[no-untyped-call]


def show_dockerfile(folder: str | Path | None = None) -> None:
    """Print the learner's Dockerfile and .dockerignore with line numbers."""
    where = Path(folder) if folder is not None else Path.cwd()
    for name in LEARNER_FILES:
        path = where / name
        if not present(path):
            print(f"--- no {name} yet" + (" (create one beside the Dockerfile)" if name != "Dockerfile" else ""))
            continue
        try:
            lines = read_text(path).splitlines()
        except GradeError as exc:
            print(f"--- {name}: {exc.message}")
            continue
        print(f"--- {name} ({len(lines)} lines)")
        for number, line in enumerate(lines, 1):
            print(f"{number:3} | {line}")


def expect(report: Report, check_id: str, points: float) -> float:
    """An autograded test: the cell's share of `points` as the grader scored `check_id`.

    Returns the points earned (nbgrader takes a number as the cell's partial credit); raises CheckNotPassed
    with the measurement and the next step when the check earned nothing."""
    __tracebackhide__ = True  # IPython shows the message, not this frame
    try:
        result = report.check(check_id)
    except UnknownCheck as missing:
        reason = (f"could not grade ({report.error.kind}): {report.error.message}" if report.error
                  else missing.message)
        raise CheckNotPassed(f"{check_id}: {reason}") from None
    if result.status is Status.PASS:
        return float(points)
    earned = points * result.points / result.max_points if result.max_points else 0.0
    if earned > 0:
        print(f"{check_id}: partial credit. {result.message}" + (f" Next: {result.hint}" if result.hint else ""))
        return round(earned, 2)
    hint = f"\nNext step: {result.hint}" if result.hint else ""
    raise CheckNotPassed(f"{check_id} ({result.status.value}): {result.message}{hint}\nLesson: {result.lesson}")


def expect_check(exercise: str, check_id: str, points: float) -> float:
    """A self-contained autograded test: grade the notebook's folder (a cache hit after the grading cell) and
    score one check. It reads no notebook global, so no other cell can change what it returns."""
    __tracebackhide__ = True
    return expect(grade_submission(exercise, verbose=False), check_id, points)


# ---------------------------------------------------------------- writing a course


@dataclass(frozen=True)
class GradedCell:
    """One autograded cell: a check id, its points, and whether nbgrader hides it from the learner."""

    check_id: str
    title: str
    points: float
    hidden: bool


def graded_cells(settings: ExerciseSettings) -> tuple[GradedCell, ...]:
    """One cell per scored check, in report order; bonus and advisory checks stay in the table only."""
    cells = []
    for spec in all_checks():
        points = float(settings.points.get(spec.id, spec.points))
        if spec.bonus or points <= 0:
            continue
        cells.append(GradedCell(spec.id, spec.title, points, spec.id in HIDDEN_CHECKS))
    return tuple(cells)


def _meta(grade_id: str, *, points: float | None = None, locked: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": points is not None, "grade_id": grade_id, "locked": locked,
                            "schema_version": 3, "solution": False, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _instructions(exercise: str, settings: ExerciseSettings, total: float) -> str:
    article = settings.article
    return textwrap.dedent(f"""\
        # Put `{exercise}` on a diet

        The app in `app/` is {_GOALS[exercise]}. The `Dockerfile` beside this notebook is the usual first
        attempt: one stage, the full base image, every dependency, the whole folder, root. The article took
        the same kind of image from {human_bytes(article.before_bytes)} to {human_bytes(article.after_bytes)}.

        **Your task:** edit `Dockerfile` and add a `.dockerignore` in this folder (not inside `app/`) so that
        the image

        - is at most {human_bytes(settings.size_threshold_bytes)} (partial credit up to
          {human_bytes(settings.size_band_bytes)}),
        - builds in several stages and ships no compiler, devDependency, cache, `.env` file, test or doc,
        - runs as a non-root user and has a `HEALTHCHECK` that fails when the app is down,
        - is built from a small context (your `.dockerignore` works).

        The build context is `app/` with your two files placed at its root. Run every cell from the top:
        the grading cell builds your image on the real Docker engine (minutes the first time, seconds when
        nothing changed) and shows a table with what it measured, the threshold, the points and a hint for
        every miss. Edit, then run the cells again.

        Only `Dockerfile` and `.dockerignore` are collected when you submit: changes to `app/`, to
        `grading.toml` or to this notebook's locked cells are replaced by the originals. {total:g} points in
        all; some tests are hidden and run only when your submission is graded (the table above them
        already shows every check).
        """)


def build_notebook(exercise: str, settings: ExerciseSettings) -> Any:
    """The assignment notebook (an nbformat NotebookNode) with nbgrader metadata on every cell."""
    nbformat = _require("nbformat")
    v4 = nbformat.v4
    cells = graded_cells(settings)
    total = sum(cell.points for cell in cells)
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.cells = [
        v4.new_markdown_cell(_instructions(exercise, settings, total), metadata=_meta("instructions")),
        v4.new_markdown_cell("## Your Dockerfile\n\nWhat will be graded: the two files in this folder.",
                             metadata=_meta("your-files-heading")),
        v4.new_code_cell("from grader.course.autograde import show_dockerfile\n\nshow_dockerfile()",
                         metadata=_meta("your-files")),
        v4.new_markdown_cell("## Grade\n\nBuilds the image once; every test below reads this one report.",
                             metadata=_meta("grade-heading")),
        v4.new_code_cell(f"from grader.course.autograde import expect, grade_submission, show_report\n\n"
                         f"report = grade_submission({exercise!r})\nshow_report(report)",
                         metadata=_meta("grade")),
        v4.new_markdown_cell("## Autograded tests\n\nOne cell per check id (`workshop explain ID` says what it "
                             "measures). A cell that fails shows the measurement and the next step.",
                             metadata=_meta("tests-heading")),
    ]
    for cell in cells:
        call = (f"import grader.course.autograde\n"
                f"grader.course.autograde.expect_check({exercise!r}, {cell.check_id!r}, points={cell.points:g})")
        header = f"# {cell.check_id}: {cell.title} ({cell.points:g} points)"
        if cell.hidden:
            source = (f"{header}, a hidden test: graded when you submit.\n"
                      f"### BEGIN HIDDEN TESTS\n{call}\n### END HIDDEN TESTS")
        else:
            source = f"{header}\n{call}"
        notebook.cells.append(v4.new_code_cell(source, metadata=_meta(f"check-{cell.check_id}",
                                                                        points=cell.points)))
    return notebook


def nbgrader_config(exercises: tuple[str, ...], course_id: str) -> str:
    """The course's nbgrader_config.py: keep learners' files at autograde, and time enough for a cold build."""
    keep = json.dumps({exercise: list(LEARNER_FILES) for exercise in exercises}, indent=4)
    return textwrap.dedent(f'''\
        # nbgrader configuration written by `workshop course init`. Run nbgrader from this folder.
        import os, sys

        # nbgrader runs `alembic` by name: find the one beside this nbgrader, even when the venv is not activated.
        os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        c = get_config()  # noqa: F821 - provided by nbgrader

        # Learners' code never runs at autograde. The kernel starts in the learner's folder: with a safe path,
        # Python and IPython do not import from it (a submitted grader.py or ipykernel_launcher.py stays inert).
        os.environ["PYTHONSAFEPATH"] = "1"
        # Only the Dockerfile and .dockerignore come from the learner: the grader builds against this course's own
        # source/<assignment>/app and grading.toml, so an edited or added file in a submission changes nothing.
        os.environ[{COURSE_SOURCE_ENV!r}] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "source")
        # Cells the instructor did not write (added, or with forged ids) are dropped before anything executes;
        # OverwriteCells then restores the instructor's source of every cell that is left.
        c.Autograde.sanitize_preprocessors = [
            "nbgrader.preprocessors.ClearOutput",
            "nbgrader.preprocessors.DeduplicateIds",
            "grader.course.nbgrader_guard.DropForeignCells",
            "nbgrader.preprocessors.OverwriteKernelspec",
            "nbgrader.preprocessors.OverwriteCells",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]

        c.CourseDirectory.course_id = {course_id!r}
        # A learner's local installs never travel with a submission.
        c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "node_modules", ".venv"]

        # At autograde nbgrader replaces every file that also exists in source/<assignment>/ with the instructor's
        # copy. The learner's answer IS these files, so they are kept (app/ and grading.toml are still restored).
        c.Autograde.exclude_overwriting = {textwrap.indent(keep, "        ").strip()}

        # The grading cell builds a real image: a cold build (and the naive baseline, once) takes minutes.
        c.Execute.timeout = {CELL_TIMEOUT_S}
        c.ExecutePreprocessor.timeout = {CELL_TIMEOUT_S}
        ''')


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise CourseError(f"`workshop course` needs {module}: pip install 'docker-diet-workshop[course]'.") from None


def init_course(directory: Path, exercises: tuple[str, ...] = EXERCISES, *, course_id: str = COURSE_ID,
                force: bool = False) -> list[Path]:
    """Write an nbgrader course into `directory`; returns the assignment folders written.

    Refuses to overwrite an existing assignment unless `force` (the gradebook and submissions are never touched)."""
    nbformat = _require("nbformat")
    unknown = [name for name in exercises if name not in EXERCISES]
    if unknown:
        raise CourseError(f"Unknown exercise {unknown[0]!r}: choose from {', '.join(EXERCISES)}.")
    existing = [directory / "source" / name for name in exercises if (directory / "source" / name).exists()]
    if existing and not force:
        raise CourseError(f"{existing[0]} already exists. Pick an empty folder, or pass --force to rewrite the "
                          f"assignments (the gradebook, submissions and feedback are kept).")
    missing = [APPS_DIR / name for name in exercises if not (APPS_DIR / name).is_dir()]
    if missing:
        raise CourseError(f"The app {missing[0]} is missing: `workshop course init` copies the apps from a clone of "
                          f"the workshop repository (git clone, then pip install -e '.[course]').")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nbgrader_config.py").write_text(nbgrader_config(exercises, course_id))
    written = []
    for exercise in exercises:
        folder = directory / "source" / exercise
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(APPS_DIR / exercise, folder / APP_FOLDER, ignore=shutil.ignore_patterns(*_NOT_COPIED))
        shutil.copyfile(starter_dockerfile(exercise), folder / "Dockerfile")
        if settings_path(exercise).is_file():
            shutil.copyfile(settings_path(exercise), folder / SETTINGS_NAME)
        settings = load_settings(exercise, folder / SETTINGS_NAME)
        nbformat.write(build_notebook(exercise, settings), str(folder / f"{exercise}.ipynb"))
        written.append(folder)
    return written
