"""Where the workshop's folders live, and the names every module shares."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = [
    "APPS_DIR",
    "EXERCISES",
    "EXERCISES_DIR",
    "LESSONS_DIR",
    "PROGRAMS_DIR",
    "PROJECT_LABEL",
    "REPO_ROOT",
    "SOLUTIONS_DIR",
    "STATE_DIR",
    "find_program",
    "put_programs_on_path",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
APPS_DIR = REPO_ROOT / "apps"
EXERCISES_DIR = REPO_ROOT / "exercises"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
LESSONS_DIR = REPO_ROOT / "lessons"

#: The three sample apps; each is an exercise, a build context and a solution.
EXERCISES: tuple[str, ...] = ("node-api", "fastapi", "combined")

#: Every image and container the workshop makes carries this label, so cleanup never touches anything else.
PROJECT_LABEL = "io.docker-diet-workshop"

#: Where state that is not source lives (engine log, pristine copies are in git, caches).
STATE_DIR = Path.home() / ".cache" / "docker-diet-workshop"

#: The folder of this interpreter's programs: the venv's bin when the workshop is installed in one.
PROGRAMS_DIR = Path(sys.executable).parent


def find_program(name: str) -> str | None:
    """A program of this interpreter's environment (hadolint, alembic, jupyter) first, then one on PATH.

    `.venv/bin/workshop` works without activating the venv, so its own programs must not depend on PATH."""
    candidate = PROGRAMS_DIR / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def put_programs_on_path() -> None:
    """Put PROGRAMS_DIR first on PATH for every program the workshop starts (nbgrader runs `alembic` by name)."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    if str(PROGRAMS_DIR) not in folders:
        os.environ["PATH"] = os.pathsep.join([str(PROGRAMS_DIR), *[f for f in folders if f]])
