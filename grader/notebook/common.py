"""What several lessons share: the exercise's starting Dockerfile and lesson variants of a Dockerfile, kept
under the workshop's state folder so that no lesson writes into exercises/ (the learner's folder)."""

from __future__ import annotations

from pathlib import Path

from grader.exercises import starting_dockerfile
from grader.model import ArticleNumbers
from grader.paths import STATE_DIR
from grader.settings import load_settings

__all__ = [
    "LESSON_STATE",
    "article_numbers",
    "size_budget",
    "starting_dockerfile_path",
    "variant_of",
]

LESSON_STATE = STATE_DIR / "lessons"


def article_numbers(exercise: str) -> ArticleNumbers:
    """The article's before/after numbers for an exercise, from exercises/<app>/grading.toml [article]."""
    return load_settings(exercise).article


def size_budget(exercise: str) -> str:
    """The exercise's size budget as a lesson states it, read from exercises/<app>/grading.toml (Markdown), so the
    number a learner reads is the number the `size` check uses."""
    settings = load_settings(exercise)
    return (f"**Size budget** (`exercises/{exercise}/grading.toml`): full `size` points at or under "
            f"**{settings.size_threshold_bytes / 1e6:g} MB**, partial credit down to zero at "
            f"{settings.size_band_bytes / 1e6:g} MB; the `beats-article` bonus under the article's "
            f"**{settings.article.after_bytes / 1e6:g} MB**.")


def starting_dockerfile_path(app: str) -> Path:
    """The exercise's starting Dockerfile as committed, copied where a lesson may grade it (no .dockerignore
    beside it, as at the start)."""
    folder = LESSON_STATE / f"{app}-start"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    text = starting_dockerfile(app)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def variant_of(app: str, name: str, text: str, dockerignore: Path | None = None) -> tuple[Path, Path | None]:
    """Write a variant Dockerfile (and a copy of a .dockerignore) under the lessons' state folder."""
    folder = LESSON_STATE / f"{app}-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    path.write_text(text)
    ignore = None
    if dockerignore is not None:
        ignore = folder / ".dockerignore"
        ignore.write_text(Path(dockerignore).read_text())
    return path, ignore
