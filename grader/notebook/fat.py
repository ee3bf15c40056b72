"""Lesson 01, why images get fat: gcc installed and removed in a later layer, the base images side by side,
and what fills node_modules."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.model import ImageFacts
from grader.notebook.image_api import (
    LessonImage,
    LocalImage,
    build_image,
    image_history,
    local_images,
)
from grader.paths import LESSONS_DIR
from grader.reporters.notebook import SizeBar
from grader.units import human_bytes

__all__ = [
    "BASE_TAGS",
    "GCC_INSTALL",
    "GCC_ONE_LAYER",
    "GCC_TWO_LAYERS",
    "LayerExperiment",
    "PackageSize",
    "base_image_bars",
    "gcc_layer_experiment",
    "history_rows",
    "node_modules_breakdown",
    "node_modules_summary",
]

BASE_TAGS = ("debian:bookworm-slim", "node:20-slim", "node:20", "python:3.11-slim", "python:3.11")
#: The three gcc Dockerfiles live in lessons/dockerfiles/, where the lesson's `docker build` cell reads them too.
GCC_INSTALL = (LESSONS_DIR / "dockerfiles" / "gcc-installed.Dockerfile").read_text()
GCC_TWO_LAYERS = (LESSONS_DIR / "dockerfiles" / "gcc-removed-later.Dockerfile").read_text()
GCC_ONE_LAYER = (LESSONS_DIR / "dockerfiles" / "gcc-one-layer.Dockerfile").read_text()


@dataclass(frozen=True)
class LayerExperiment:
    """The gcc install-then-remove experiment."""

    base: LocalImage
    installed: LessonImage
    removed_later: LessonImage
    one_layer: LessonImage

    def added_mb(self, image: LessonImage) -> float:
        return round((image.size_bytes - (self.base.size_bytes or 0)) / 1e6, 1)

    def rows(self) -> list[tuple[str, str, str]]:
        base = self.base.size_bytes or 0
        return [("debian:bookworm-slim", human_bytes(base), "")] + [
            (label, human_bytes(image.size_bytes), f"+{human_bytes(image.size_bytes - base)}")
            for label, image in (("install gcc (one RUN)", self.installed),
                                 ("install, then remove in a second RUN", self.removed_later),
                                 ("install, use and remove in the same RUN", self.one_layer))]


def gcc_layer_experiment() -> LayerExperiment:
    """Build the three gcc images on debian:bookworm-slim (a minute the first time, cached after)."""
    return LayerExperiment(base=local_images(["debian:bookworm-slim"])[0],
                           installed=build_image("gcc-installed", GCC_INSTALL),
                           removed_later=build_image("gcc-removed-later", GCC_TWO_LAYERS),
                           one_layer=build_image("gcc-one-layer", GCC_ONE_LAYER))


def history_rows(image: str) -> list[tuple[str, str]]:
    """`docker history` of an image as (size, instruction) rows, top layer first as the CLI prints them."""
    return [(human_bytes(row.size_bytes), row.created_by[-90:]) for row in reversed(image_history(image))]


def base_image_bars(tags: Sequence[str] = BASE_TAGS) -> list[SizeBar]:
    """The base images as size-chart bars: full images red, slim ones green, stand-ins marked."""
    return [SizeBar(row.tag + (" (stand-in)" if row.stand_in else ""), row.size_bytes or 0,
                    "reference" if "slim" in row.tag else "naive") for row in local_images(tags)]


@dataclass(frozen=True)
class PackageSize:
    name: str
    size_bytes: int
    dev: bool


def _lock_dev_flags(lockfile: Path) -> dict[str, bool]:
    """node_modules/<name> -> True when the lockfile marks it dev-only (lockfile v2/v3 `"dev": true`)."""
    data = json.loads(lockfile.read_text())
    return {key.removeprefix("node_modules/"): bool(meta.get("dev") or meta.get("devOptional"))
            for key, meta in data.get("packages", {}).items()
            if key.startswith("node_modules/") and key.count("node_modules/") == 1}


def node_modules_breakdown(facts: ImageFacts, lockfile: Path, root: str = "app/node_modules") -> list[PackageSize]:
    """Bytes per top-level package in the image's node_modules, marked dev-only or production (from the lock)."""
    flags = _lock_dev_flags(lockfile)
    sizes: dict[str, int] = {}
    prefix = root.strip("/") + "/"
    for path, entry in facts.merged.items():
        if not path.startswith(prefix) or entry.kind == "dir":
            continue
        parts = PurePosixPath(path[len(prefix):]).parts
        if not parts or parts[0].startswith("."):
            continue
        name = "/".join(parts[:2]) if parts[0].startswith("@") and len(parts) > 1 else parts[0]
        sizes[name] = sizes.get(name, 0) + entry.size
    return sorted((PackageSize(name, size, flags.get(name, False)) for name, size in sizes.items()),
                  key=lambda p: -p.size_bytes)


def node_modules_summary(packages: Sequence[PackageSize]) -> dict[str, int]:
    dev = sum(p.size_bytes for p in packages if p.dev)
    prod = sum(p.size_bytes for p in packages if not p.dev)
    return {"dev-only packages": dev, "production packages": prod, "total": dev + prod}
