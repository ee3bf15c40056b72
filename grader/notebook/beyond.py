"""Lesson 08, beyond the article: healthchecks that test something, secrets left in layers, alpine (and what
the grader says when a base is missing), digests, and the stretch references."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.exercises import ignore_file_for, starting_dockerfile
from grader.model import ImageFacts, Report
from grader.notebook.common import LESSON_STATE
from grader.notebook.image_api import LocalImage, build_image, image_facts, local_images
from grader.notebook.panel import grade_quietly
from grader.paths import EXERCISES, SOLUTIONS_DIR
from grader.reporters.notebook import SizeBar

__all__ = [
    "SECRET_IN_LAYER",
    "SecretExperiment",
    "alpine_variant_report",
    "files_in_layers",
    "runtime_bars",
    "secret_in_layer_experiment",
    "stretch_dockerfiles",
    "stretch_ignore",
    "stretch_notes",
]

SECRET_IN_LAYER = """\
FROM debian:bookworm-slim
COPY .env /app/.env
RUN rm /app/.env
"""


def files_in_layers(facts: ImageFacts, path: str) -> list[tuple[int, str, int]]:
    """Every layer that holds `path` (1-based layer number, instruction, size), visible or not."""
    key = path.strip("/")
    return [(index + 1, layer.instruction, layer.files[key].size)
            for index, layer in enumerate(facts.layers) if key in layer.files]


@dataclass(frozen=True)
class SecretExperiment:
    visible: bool
    layers: list[tuple[int, str, int]]


def secret_in_layer_experiment() -> SecretExperiment:
    """Copy a fake .env in one layer, delete it in the next: gone from the container, still in layer 2."""
    image = build_image("secret-in-layer", SECRET_IN_LAYER, {".env": "DATABASE_PASSWORD=not-a-real-password\n"})
    facts = image_facts(image.tag)
    return SecretExperiment("app/.env" in facts.merged, files_in_layers(facts, "/app/.env"))


def alpine_variant_report() -> Report:
    """The starting node-api Dockerfile moved to node:20-alpine, graded: offline, the grader names the missing
    base instead of pulling it."""
    folder = LESSON_STATE / "node-api-alpine"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Dockerfile"
    path.write_text(starting_dockerfile("node-api").replace("FROM node:20\n", "FROM node:20-alpine\n"))
    return grade_quietly("node-api", path, role="alpine")


def runtime_bars(reference: Report) -> list[SizeBar]:
    """Where the Node.js runtime can come from: the local bases, alpine when present, and the reference."""
    rows: list[LocalImage] = local_images(["node:20", "node:20-slim", "node:20-alpine"])
    bars = [SizeBar(row.tag, row.size_bytes, "naive" if row.tag == "node:20" else "other")
            for row in rows if row.size_bytes]
    return bars + [SizeBar("reference: slim Debian + node binary + app", reference.image_size_bytes or 0,
                           "reference")]


def stretch_dockerfiles(solutions: Path = SOLUTIONS_DIR) -> dict[str, Path]:
    """The stretch references that exist (solutions/stretch/<app>/Dockerfile), by exercise."""
    return {app: path for app in EXERCISES if (path := solutions / "stretch" / app / "Dockerfile").is_file()}


def stretch_ignore(dockerfile: Path) -> Path | None:
    """The ignore file beside a stretch Dockerfile (`Dockerfile.dockerignore`), if it has one."""
    return ignore_file_for(dockerfile)


def stretch_notes(solutions: Path = SOLUTIONS_DIR) -> str | None:
    """solutions/stretch/README.md: how each megabyte was won (None until it exists)."""
    path = solutions / "stretch" / "README.md"
    return path.read_text() if path.is_file() else None
