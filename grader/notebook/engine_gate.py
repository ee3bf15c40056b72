"""The first code cell of every lesson: without a Docker engine, "Run All" stops there with the doctor's advice,
not with a traceback from the first cell that builds; and every later cell ends in a message, not a traceback.

IPython shows an exception that has `_render_traceback_` by calling it instead of printing the traceback, and
Jupyter stops "Run All" at a cell that raised: so the lesson ends in one readable message. The engine check also
installs an IPython exception handler for the cells after it (`set_custom_exc`): without an engine, any later cell
that fails says that it needs the engine; with one, a grade or build that could not be made (a `GradeError`, a
`SetupError`, an engine error, a Report whose error is set) shows its message (what, where, the fix) instead of a
traceback. Bugs of the lesson code itself (any other exception, with an engine) still show their traceback.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from grader.errors import WorkshopError
from grader.model import Report
from grader.notebook.image_api import ENGINE_ERRORS, HOW_TO_GET_AN_ENGINE, engine_version
from grader.reporters.sanitize import html_escape as escape

__all__ = [
    "LessonStopped",
    "NO_ENGINE_NOTE",
    "NotGraded",
    "require_grade",
    "install_message_handler",
    "require_engine",
]

#: What a later cell shows when no engine answers (the no-engine test looks for it).
NO_ENGINE_NOTE = ("Skipped: this cell needs a Docker engine, and none answers. See the first code cell "
                  "(run `workshop doctor`), then run the lesson again.")


class LessonStopped(Exception):  # noqa: N818 - it is the lesson that stops, on purpose, not an error of the code
    """Stops a lesson's "Run All" with a message only (no traceback)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


class NotGraded(Exception):  # noqa: N818 - a state of the report, shown as a message
    """A cell needs numbers from a Report whose grade could not be made (its `error` says why)."""


def require_grade(report: Report) -> Report:
    """The report, when it was graded; else NotGraded with its error's message (a cell then ends in that message)."""
    if report.error is not None:
        raise NotGraded(f"{report.exercise}: {report.error.message}")
    return report


def _message(value: BaseException, engine: bool) -> str:
    if not engine:
        return NO_ENGINE_NOTE
    if isinstance(value, WorkshopError):
        return f"Could not grade or build ({value.kind}): {value}"
    return f"Could not grade or build: {value}"


def _handler(engine: bool) -> Any:
    def show(shell: Any, etype: type[BaseException], value: BaseException, tb: TracebackType | None,
             tb_offset: int | None = None) -> list[str]:
        from IPython.display import HTML, display

        if isinstance(value, LessonStopped):  # the engine check's own stop: shown as before, a message only
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return []
        box = (f"<div class='ddw-cell-stopped' style='border-left:4px solid #cf222e;padding:2px 8px'><pre "
               f"style='white-space:pre-wrap'>{escape(_message(value, engine))}</pre></div>")
        display(HTML(box))  # type: ignore[no-untyped-call]
        return []  # shown above as a message; IPython prints no traceback
    return show


def install_message_handler(engine: bool) -> bool:
    """Make later cells end in a message (see the module's docstring). False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    caught: tuple[type[BaseException], ...] = (
        (Exception,) if not engine else (WorkshopError, *ENGINE_ERRORS, NotGraded))
    shell.set_custom_exc(caught, _handler(engine))
    return True


def require_engine() -> str:
    """The engine's version when one answers; otherwise raise LessonStopped with how to get an engine."""
    version = engine_version()
    if version is None:
        install_message_handler(engine=False)
        raise LessonStopped("This lesson stops here: it builds and runs images, and no Docker engine answers.\n"
                            f"{HOW_TO_GET_AN_ENGINE}\nThen run `workshop doctor`, and run the lesson again "
                            "(Run → Run All Cells).")
    install_message_handler(engine=True)
    return f"Docker engine {version} answers: the lesson can build."
