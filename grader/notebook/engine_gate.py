"""The first code cell of every lesson: without a Docker engine, "Run All" stops there with the doctor's advice,
not with a traceback from the first cell that builds.

IPython shows an exception that has `_render_traceback_` by calling it instead of printing the traceback, and
Jupyter stops "Run All" at a cell that raised: so the lesson ends in one readable message.
"""

from __future__ import annotations

from grader.notebook.image_api import HOW_TO_GET_AN_ENGINE, engine_version

__all__ = [
    "LessonStopped",
    "require_engine",
]


class LessonStopped(Exception):  # noqa: N818 - it is the lesson that stops, on purpose, not an error of the code
    """Stops a lesson's "Run All" with a message only (no traceback)."""

    def _render_traceback_(self) -> list[str]:
        return str(self).splitlines()


def require_engine() -> str:
    """The engine's version when one answers; otherwise raise LessonStopped with how to get an engine."""
    version = engine_version()
    if version is None:
        raise LessonStopped("This lesson stops here: it builds and runs images, and no Docker engine answers.\n"
                            f"{HOW_TO_GET_AN_ENGINE}\nThen run `workshop doctor`, and run the lesson again "
                            "(Run → Run All Cells).")
    return f"Docker engine {version} answers: the lesson can build."
