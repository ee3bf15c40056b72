"""Where the workshop's folders live, and the names every module shares."""

from __future__ import annotations

from pathlib import Path

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
