"""Who is in a class: one job per <student>/<exercise>/ folder, and every folder that is not graded, with why.

A folder `grade-class` does not grade is never dropped in silence: names starting with '.' or '_', files where a
folder was expected, student folders with no exercise folder inside, are each listed (`find_skipped`) in the CSV,
the JSON, the HTML index and the summary. A folder that is a link or cannot be read becomes a job that could not
be graded, with the reason (`Job.problem`), so it shows beside the student's other work.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import NoSubmissions
from grader.paths import EXERCISES
from grader.submission_files import digest as file_digest

__all__ = [
    "Job",
    "Skipped",
    "find_jobs",
    "find_skipped",
    "job_tag",
    "slug",
]


@dataclass(frozen=True)
class Job:
    """One submission: a student's folder for one exercise, and the hash of what they submitted."""

    student: str
    exercise: str
    folder: Path
    digest: str
    problem: str | None = None  # why the folder cannot even be looked at (graded as "could not grade")

    @property
    def key(self) -> str:
        return f"{self.student}/{self.exercise}"


@dataclass(frozen=True)
class Skipped:
    """A folder (or file) in SUBMISSIONS_DIR that holds no submission the run grades, and why."""

    name: str
    reason: str


def _digest(folder: Path, fingerprint: str = "") -> str:
    """The submitted files (read safely: a link or FIFO gets a stable marker) and the exercise's fingerprint."""
    sha = hashlib.sha256(fingerprint.encode() + b"\0")
    for name in ("Dockerfile", ".dockerignore", "Dockerfile.dockerignore"):
        sha.update(name.encode() + b"\0" + file_digest(folder / name).encode() + b"\0")
    return sha.hexdigest()[:16]


def _folder_problem(path: Path) -> str | None:
    """Why a student's or exercise folder is refused: a link (it could point anywhere) or unreadable."""
    if path.is_symlink():
        return f"{path} is a symbolic link; submit a real folder."
    try:
        os.listdir(path)
    except OSError as exc:
        return f"Cannot read the folder {path} ({exc.strerror or exc}). Check its permissions."
    return None


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _student_jobs(student: Path, exercises: Sequence[str], fingerprints: dict[str, str]) -> list[Job]:
    """The student's submissions; a student folder that is refused still yields one job per exercise folder
    seen (or one for the first exercise), so the problem shows in the grades instead of the student vanishing."""
    problem = _folder_problem(student)
    found = [exercise for exercise in exercises if _is_folder(student / exercise)]
    if problem is not None:
        digest = hashlib.sha256(problem.encode()).hexdigest()[:16]
        return [Job(student.name, exercise, student / exercise, digest, problem)
                for exercise in (found or list(exercises)[:1])]
    jobs = []
    for exercise in found:
        folder = student / exercise
        why = _folder_problem(folder)
        digest = (hashlib.sha256(why.encode()).hexdigest()[:16] if why
                  else _digest(folder, fingerprints.get(exercise, "")))
        jobs.append(Job(student.name, exercise, folder, digest, why))
    return jobs


def _entries(submissions: Path) -> list[Path]:
    if not submissions.is_dir():
        raise NoSubmissions(f"{submissions} is not a folder. Give the folder that holds one folder per student "
                            f"(each with {'/, '.join(EXERCISES)}/ inside).")
    return sorted(submissions.iterdir())


def _is_student(path: Path) -> bool:
    return path.name[0] not in "._" and (path.is_symlink() or _is_folder(path))


def find_jobs(submissions: Path, exercises: Sequence[str] = EXERCISES,
              fingerprints: dict[str, str] | None = None) -> list[Job]:
    """Every <student>/<exercise>/ folder in `submissions`; folders starting with '.' or '_' are not students
    (find_skipped lists them).

    `fingerprints` (exercise -> grader.cache_keys digest) enter each job's digest, so a changed app, grading.toml,
    base image or grader makes every job of that exercise due again."""
    jobs = []
    for student in filter(_is_student, _entries(submissions)):
        jobs.extend(_student_jobs(student, exercises, fingerprints or {}))
    return jobs


def _skip_reason(path: Path, exercises: Sequence[str]) -> str | None:
    if path.name[0] in "._":
        return (f"the name starts with {path.name[0]!r}, which marks a folder that is not a student's (rename it "
                "to grade it)")
    if not (path.is_symlink() or _is_folder(path)):
        return "a file, not a folder: each student needs a folder with one folder per exercise inside"
    if _folder_problem(path) is None and not any(_is_folder(path / exercise) for exercise in exercises):
        return f"no exercise folder inside (expected {', '.join(exercises)})"
    return None


def find_skipped(submissions: Path, exercises: Sequence[str] = EXERCISES) -> list[Skipped]:
    """Every entry of `submissions` that yields no job, with the reason (none is dropped in silence)."""
    return [Skipped(path.name, reason) for path in _entries(submissions)
            if (reason := _skip_reason(path, exercises)) is not None]


def slug(text: str) -> str:
    """A name safe for files and image tags, one per name: a name kept as it is never ends like a hashed one
    (`-` and 12 hex digits), and every other name gets that hash suffix, so `Bob` and `bob-cd9fb1` never meet."""
    safe = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-._")[:60] or "student"
    if safe == text and not re.search(r"-[0-9a-f]{12}$", safe):
        return safe
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def job_tag(job: Job) -> str:
    """Each submission builds under its own tag (its student's slug and a hash of its folder, so two classes
    graded on one engine never meet either): parallel builds never replace each other's image."""
    where = hashlib.sha256(str(job.folder.absolute()).encode()).hexdigest()[:8]
    return f"docker-diet-workshop/{job.exercise}:class-{slug(job.student)}-{where}"[:128]
