"""Does this worker grade exactly as the submitter would? The parts of an exercise's fingerprint, by content.

grader.api.exercise_fingerprints decides when a local class run grades again; it reads the app folder by names,
sizes and modification times, which differ between two checkouts of the same commit. Across machines what
matters is content, so the queue hashes the same ingredients by content, part by part, so that a refusal can say
which part differs:

    settings  the exercise's grading.toml as graded        app    every file of apps/<exercise> (names + bytes)
    bases     the allowed bases' image ids on the engine   grader the grader's version and source digest
    how       the GradeConfig the job asks for (backend, build timeout, lint, baseline, ...)

`copy_fingerprint` leaves out `how` (it travels with each job): it names the Celery queue a worker serves.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import replace
from typing import Any

from grader.api import ENGINE_ERRORS, GradeConfig
from grader.cache_keys import grader_version, settings_digest
from grader.paths import APPS_DIR
from grader.settings import load_settings

__all__ = [
    "PART_NAMES",
    "combine",
    "copy_fingerprint",
    "differences",
    "fingerprint_parts",
]

PART_NAMES = ("settings", "app", "bases", "grader", "how")
_WHAT = {"settings": "the exercise's grading settings (exercises/{e}/grading.toml)",
         "app": "the app's files (apps/{e}/)", "bases": "the base images ({bases})",
         "grader": "the grader's version", "how": "how to grade (backend, build timeout, lint, baseline)"}


def _app_digest(exercise: str) -> str:
    """Names and bytes of every regular file of apps/<exercise> (links are named, never followed)."""
    sha = hashlib.sha256()
    root = APPS_DIR / exercise
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            sha.update(os.path.relpath(path, root).encode() + b"\0")
            if os.path.islink(path) or not os.path.isfile(path):
                sha.update(b"<not a regular file>\0")
                continue
            with open(path, "rb") as handle:
                sha.update(hashlib.sha256(handle.read()).digest())
    return sha.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _grader() -> str:
    return grader_version()  # this process runs the code it imported: an edit on disk needs a restart anyway


def _bases(api: Any, names: tuple[str, ...]) -> str:
    found = []
    for name in names:
        try:
            found.append((name, str(api.inspect_image(name)["Id"])))
        except (*ENGINE_ERRORS, ValueError):
            found.append((name, "<missing>"))
    return repr(sorted(found))


def fingerprint_parts(api: Any, exercise: str, config: GradeConfig) -> dict[str, str]:
    """The five parts, each a short digest (bases keep their names and ids, to be shown)."""
    settings = config.settings or load_settings(exercise)
    how = replace(config, tag=None, settings=None)
    return {"settings": settings_digest(settings), "app": _app_digest(exercise),
            "bases": _bases(api, tuple(settings.allowed_bases)), "grader": _grader(),
            "how": hashlib.sha256(repr(how).encode()).hexdigest()[:16]}


def combine(parts: dict[str, str], names: tuple[str, ...] = PART_NAMES) -> str:
    return hashlib.sha256("\0".join(parts[name] for name in names).encode()).hexdigest()[:16]


def copy_fingerprint(parts: dict[str, str]) -> str:
    """What a worker's copy decides (everything but `how`): the name of the queue it serves for the exercise."""
    return combine(parts, PART_NAMES[:-1])


def differences(exercise: str, wanted: dict[str, str], mine: dict[str, str]) -> list[str]:
    """The parts that differ, in words: 'the app's files (apps/fastapi/)', ..."""
    return [_WHAT[name].format(e=exercise, bases=mine.get(name, "")[:200]) for name in PART_NAMES
            if wanted.get(name) != mine.get(name)]
