"""The learner's exercise files: where they are, and `workshop reset` to get the starting point back.

The pristine starting Dockerfiles live inside the package (grader/starters/<app>.Dockerfile), so a reset works
wherever the package is installed and a test keeps exercises/<app>/Dockerfile equal to them in the repository.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.errors import DockerfileError, UnknownExercise
from grader.paths import EXERCISES, EXERCISES_DIR

__all__ = [
    "IGNORE_SUFFIX",
    "LEARNER_FILES",
    "STARTERS_DIR",
    "exercise_dir",
    "ignore_file_for",
    "reset_exercise",
    "starter_dockerfile",
    "starting_dockerfile",
]

STARTERS_DIR = Path(__file__).resolve().parent / "starters"

#: BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile INSTEAD of the context root's .dockerignore;
#: it is the only ignore file that `docker build -f exercises/<app>/Dockerfile apps/<app>` reads from exercises/.
IGNORE_SUFFIX = ".dockerignore"

#: Files a learner adds or edits in exercises/<app>/; the exercise starts with a Dockerfile and no ignore file.
#: `Dockerfile.dockerignore` is the one the lessons teach; `.dockerignore` is still read when it is the only one.
LEARNER_FILES = ("Dockerfile", "Dockerfile.dockerignore", ".dockerignore")


def ignore_file_for(dockerfile: Path) -> Path | None:
    """The ignore file the grader reads for a Dockerfile: `<name>.dockerignore` beside it (BuildKit's rule, which the
    lessons teach), else a `.dockerignore` beside it (older workshops), else None."""
    for candidate in (dockerfile.parent / f"{dockerfile.name}{IGNORE_SUFFIX}", dockerfile.parent / ".dockerignore"):
        if candidate.is_file() or candidate.is_symlink():
            return candidate
    return None


def _known(app: str) -> str:
    if app not in EXERCISES:
        raise UnknownExercise(f"Unknown exercise {app!r}. Choose one of: {', '.join(EXERCISES)}.")
    return app


def starter_dockerfile(app: str) -> Path:
    """The pristine starting Dockerfile of an exercise (the article's single-stage "wrong way")."""
    return STARTERS_DIR / f"{_known(app)}.Dockerfile"


def exercise_dir(app: str, root: Path = EXERCISES_DIR) -> Path:
    return root / _known(app)


def reset_exercise(app: str, *, keep_backup: bool = True, root: Path = EXERCISES_DIR) -> list[str]:
    """Restore exercises/<app>/ to its starting point; edited files are kept as *.bak unless told otherwise."""
    folder = exercise_dir(app, root)
    folder.mkdir(parents=True, exist_ok=True)
    said = []
    for name in LEARNER_FILES:
        current = folder / name
        if not current.exists():
            continue
        if name == "Dockerfile" and current.read_bytes() == starter_dockerfile(app).read_bytes():
            continue
        if keep_backup:
            shutil.copyfile(current, folder / f"{name}.bak")
            said.append(f"Kept your {name} as {folder / (name + '.bak')}.")
        if name != "Dockerfile":
            current.unlink()
            said.append(f"Removed {current} (the exercise starts without one).")
    shutil.copyfile(starter_dockerfile(app), folder / "Dockerfile")
    said.append(f"Restored {folder / 'Dockerfile'} to the starting point.")
    return said


def starting_dockerfile(exercise: str) -> str:
    """The exercise's pristine starting Dockerfile (grader/starters, what `workshop reset` restores): the learner
    edits exercises/<app>/Dockerfile in place, so the working copy is only a fallback."""
    try:
        return starter_dockerfile(exercise).read_text()
    except (OSError, ValueError):
        path = EXERCISES_DIR / exercise / "Dockerfile"
        if not path.is_file():
            raise DockerfileError(f"{path} is missing; restore it with `workshop reset {exercise}`.") from None
        return path.read_text()
