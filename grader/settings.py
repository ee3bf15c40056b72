"""Per-exercise grading settings: defaults here, overrides in `exercises/<app>/grading.toml` beside the exercise.

Every setting has a default and one line of help (DEFAULTS_HELP); sizes are decimal megabytes, as `docker images`
prints them, so "180 MB" means the same thing in the article, the terminal and the settings file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grader.engine.limits import LIMITS_HELP, Limits, limits_from_mapping
from grader.errors import GradeError, UnknownExercise
from grader.model import ArticleNumbers
from grader.paths import EXERCISES, EXERCISES_DIR

__all__ = [
    "DEFAULTS_HELP",
    "EXERCISE_BASES",
    "MB",
    "ExerciseSettings",
    "load_settings",
    "settings_from_mapping",
    "settings_path",
]

MB = 1_000_000

#: The images each exercise is built on (the workshop's stand-ins); in class modes a Dockerfile may build only on
#: these, `scratch`, its own stages and what grading.toml's `[bases] allow` adds.
EXERCISE_BASES: Mapping[str, tuple[str, ...]] = {
    "node-api": ("node:20", "node:20-slim", "debian:bookworm-slim"),
    "fastapi": ("python:3.11", "python:3.11-slim", "debian:bookworm-slim"),
    "combined": ("node:20", "node:20-slim", "debian:bookworm-slim"),
}


@dataclass(frozen=True)
class ExerciseSettings:
    """What one exercise asks for. Points per check come from the registry unless `points` overrides them."""

    exercise: str
    points: Mapping[str, float] = field(default_factory=dict)
    size_threshold_bytes: int = 200 * MB
    size_band_bytes: int = 500 * MB
    reduction_min_percent: float = 70.0
    context_max_bytes: int = 2 * MB
    layer_waste_max_bytes: int = 10 * MB
    cache_max_bytes: int = 1 * MB
    health_timeout_s: float = 60.0
    memory_limit_bytes: int = 512 * 1024 * 1024
    bandwidth_mbps: float = 100.0
    article: ArticleNumbers = field(
        default_factory=lambda: ArticleNumbers(before_bytes=1200 * MB, after_bytes=180 * MB)
    )
    extra_bases: tuple[str, ...] = ()  # grading.toml [bases] allow: images allowed beyond EXERCISE_BASES
    limits: Limits = field(default_factory=Limits)

    @property
    def allowed_bases(self) -> tuple[str, ...]:
        """What FROM / COPY --from / --mount from= may name in class modes (besides the file's own stages)."""
        return (*EXERCISE_BASES.get(self.exercise, ()), "scratch", *self.extra_bases)


DEFAULTS_HELP: Mapping[str, str] = {
    "size.threshold_mb": "Full size points at or under this final image size.",
    "size.band_mb": "Partial size credit falls linearly from the threshold to zero at this size.",
    "reduction.min_percent": "Percent smaller than the naive starting image needed for `reduction`.",
    "context.max_mb": "Largest build context (what `docker build` sends) that passes `context-size` (which also "
                      "fails a context that sends what lesson 05 teaches to ignore).",
    "layer_waste.max_mb": "Bytes overwritten or deleted by later learner layers that still pass `layer-waste`.",
    "caches.max_mb": "Package-manager cache bytes tolerated by `no-caches`.",
    "run.health_timeout_s": "How long the container may take to turn healthy.",
    "run.memory_mb": "Memory limit of the graded container.",
    "report.bandwidth_mbps": "Bandwidth used to turn the compressed size into a pull time.",
    "points.<check-id>": "Points for a check in this exercise (0 makes it advisory).",
    "bases.allow": "Images a Dockerfile may also build on in class modes (the exercise's bases and scratch always).",
    "article.*": "The article's before/after numbers for this app (sizes in MB, times in seconds).",
    **LIMITS_HELP,
}


def _mb(value: Any) -> int:
    return int(float(value) * MB)


def settings_path(exercise: str) -> Path:
    return EXERCISES_DIR / exercise / "grading.toml"


def load_settings(exercise: str, path: Path | None = None) -> ExerciseSettings:
    """Read the exercise's grading.toml over the defaults; a missing file means all defaults."""
    if exercise not in EXERCISES:
        raise UnknownExercise(f"Unknown exercise {exercise!r}. Choose one of: {', '.join(EXERCISES)}.")
    path = path or settings_path(exercise)
    if not path.exists():
        return ExerciseSettings(exercise=exercise)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise GradeError(f"{path} is not valid TOML ({exc}). Fix it or restore it from git.") from exc
    return settings_from_mapping(exercise, data)


def settings_from_mapping(exercise: str, data: Mapping[str, Any]) -> ExerciseSettings:
    """Build settings from a parsed TOML mapping (tests use this directly)."""
    base = ExerciseSettings(exercise=exercise)
    size = data.get("size", {})
    run = data.get("run", {})
    article = data.get("article", {})
    art = base.article
    if article:
        art = ArticleNumbers(
            before_bytes=_mb(article.get("before_mb", art.before_bytes / MB)),
            after_bytes=_mb(article.get("after_mb", art.after_bytes / MB)),
            build_before_s=article.get("build_before_s"),
            build_after_s=article.get("build_after_s"),
            pull_before_s=article.get("pull_before_s"),
            pull_after_s=article.get("pull_after_s"),
        )
    return replace(
        base,
        points={str(k): float(v) for k, v in data.get("points", {}).items()},
        size_threshold_bytes=_mb(size.get("threshold_mb", base.size_threshold_bytes / MB)),
        size_band_bytes=_mb(size.get("band_mb", base.size_band_bytes / MB)),
        reduction_min_percent=float(data.get("reduction", {}).get("min_percent", base.reduction_min_percent)),
        context_max_bytes=_mb(data.get("context", {}).get("max_mb", base.context_max_bytes / MB)),
        layer_waste_max_bytes=_mb(data.get("layer_waste", {}).get("max_mb", base.layer_waste_max_bytes / MB)),
        cache_max_bytes=_mb(data.get("caches", {}).get("max_mb", base.cache_max_bytes / MB)),
        health_timeout_s=float(run.get("health_timeout_s", base.health_timeout_s)),
        memory_limit_bytes=int(float(run.get("memory_mb", base.memory_limit_bytes / 2**20)) * 2**20),
        bandwidth_mbps=float(data.get("report", {}).get("bandwidth_mbps", base.bandwidth_mbps)),
        article=art,
        extra_bases=_allowed(data.get("bases", {}).get("allow", [])),
        limits=limits_from_mapping(data.get("limits", {}), f"exercises/{exercise}/grading.toml"),
    )


def _allowed(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise GradeError("grading.toml: [bases] allow must be a list of image names, e.g. [\"node:20-alpine\"].")
    return tuple(value)
