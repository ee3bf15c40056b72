"""At nbgrader autograde, only the Dockerfile and `.dockerignore` come from the learner.

nbgrader restores every file of the course's `source/<assignment>/` over the submission, but a file the learner
ADDED (an `app/prebuilt.so`, a second requirements file their Dockerfile copies) stays, and would enter the build
context. So the generated nbgrader_config.py names the course's source folder in `COURSE_SOURCE_ENV`, and at
autograde the grader builds against the course's own `source/<assignment>/app` and `grading.toml`, never the
submission's copies: an edited `package.json` or `requirements.txt` and an added file change nothing. The files
the learner added are listed in the grading cell's output (so in the feedback), escaped and bounded.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.reporters.sanitize import shown_name

__all__ = [
    "COURSE_SOURCE_ENV",
    "FOREIGN_MAX",
    "course_copy",
    "foreign_files",
    "ignored_note",
]

#: Set by the course's nbgrader_config.py: the course's source/ folder (the instructor's copy of every assignment).
COURSE_SOURCE_ENV = "DOCKER_DIET_COURSE_SOURCE"
#: Files listed by name in the note; the rest are counted.
FOREIGN_MAX = 10
#: What nbgrader and Jupyter put in a submission folder themselves (not the learner's additions).
_HOUSEKEEPING = frozenset({"timestamp.txt", ".ipynb_checkpoints", "__pycache__", "feedback"})
#: Files from the learner that the grade is made of.
_LEARNER = frozenset({"Dockerfile", ".dockerignore"})
_WALK_MAX = 10_000


def course_copy(exercise: str) -> Path | None:
    """The course's own folder for the assignment, when nbgrader runs the kernel (else None: a learner's own
    notebook builds against its own app/ folder)."""
    root = os.environ.get(COURSE_SOURCE_ENV)
    if not root:
        return None
    folder = Path(root) / exercise
    return folder if folder.is_dir() else None


def _files(root: Path) -> set[str]:
    """Relative paths of the files under `root` (links listed, never followed), at most _WALK_MAX."""
    found: set[str] = set()
    for directory, folders, files in os.walk(root):
        folders[:] = [f for f in folders if f not in _HOUSEKEEPING]
        for name in files + [f for f in folders if (Path(directory) / f).is_symlink()]:
            found.add(str((Path(directory) / name).relative_to(root)))
            if len(found) >= _WALK_MAX:
                return found
    return found


def foreign_files(submission: Path, source: Path) -> tuple[str, ...]:
    """Files in the submission that the course's copy does not have (the learner's two files, notebooks and
    nbgrader's own files aside), sorted."""
    ours = _files(source)
    added = [name for name in _files(submission) - ours
             if name not in _LEARNER and name not in _HOUSEKEEPING and not name.endswith(".ipynb")]
    return tuple(sorted(added))


def ignored_note(names: tuple[str, ...]) -> str | None:
    """One line for the grading cell's output, or None when the learner added nothing."""
    if not names:
        return None
    shown = ", ".join(shown_name(name) for name in names[:FOREIGN_MAX])
    more = f" and {len(names) - FOREIGN_MAX} more" if len(names) > FOREIGN_MAX else ""
    return (f"Only Dockerfile and .dockerignore are graded; the course's own app/ and grading.toml were used. "
            f"Ignored {len(names)} file{'s' if len(names) != 1 else ''} you added: {shown}{more}.")
