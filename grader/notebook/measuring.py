"""Lesson 06, measuring: registry storage and pull time, cold builds, and the cache-ordering experiment
(edit one source file, rebuild a naive and an ordered Dockerfile, count the cached steps and time both)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.model import ImageFacts, Report
from grader.notebook.image_api import (
    COMPRESSION_RATIO,
    build_app_image,
    image_facts,
    remove_image,
)
from grader.notebook.widgets import pull_seconds
from grader.paths import APPS_DIR
from grader.units import human_bytes, human_seconds

__all__ = [
    "CACHE_FRIENDLY_ORDER",
    "EDIT",
    "NAIVE_ORDER",
    "Rebuild",
    "RegistryEstimate",
    "cache_ordering_experiment",
    "cold_build_seconds",
    "real_numbers_rows",
    "registry_rows",
    "registry_storage",
]


@dataclass(frozen=True)
class RegistryEstimate:
    tags: int
    naive_bytes: int  # every tag stored in full
    shared_bytes: int  # base layers stored once, the app's own layers once per tag


def registry_storage(facts: ImageFacts, tags: int = 40) -> RegistryEstimate:
    """Compressed registry storage for `tags` builds of this image: base layers are shared between tags."""
    def compressed(from_base: bool) -> float:
        return sum(layer.size_bytes * (layer.compression_ratio or COMPRESSION_RATIO)
                   for layer in facts.layers if layer.from_base == from_base)

    base, own = compressed(True), compressed(False)
    return RegistryEstimate(tags, int((base + own) * tags), int(base + own * tags))


def registry_rows(reports: Mapping[str, Report], tags: int = 40) -> list[tuple[str, str, str, str]]:
    """Per graded image: compressed size of one tag, and of `tags` tags without and with shared base layers."""
    rows = []
    for name, report in reports.items():
        estimate = registry_storage(image_facts(report), tags=tags)
        rows.append((name, human_bytes(report.compressed_bytes_estimate or 0), human_bytes(estimate.naive_bytes),
                     human_bytes(estimate.shared_bytes)))
    return rows


def cold_build_seconds(app: str, dockerfile: Path, dockerignore: Path | None = None) -> float:
    """Build with no cache at all (a fresh CI runner), then remove the image."""
    image = build_app_image(f"cold-{app}", Path(dockerfile).read_text(), APPS_DIR / app,
                            Path(dockerignore).read_text() if dockerignore else None, nocache=True)
    remove_image(image.tag)
    return image.seconds


def real_numbers_rows(before: Report, mine: Report, after: Report, cold: Mapping[str, float],
                      mbps: float = 100) -> list[tuple[str, str, str, str]]:
    """The article's "Real Numbers" (from grading.toml) beside the learner's start, now, and the reference."""
    assert before.comparison is not None
    art = before.comparison.article

    def pull(report: Report) -> str:
        return human_seconds(pull_seconds(report.compressed_bytes_estimate or 0, mbps))

    def pair(a: float | None, b: float | None) -> str:
        return f"{human_seconds(a)} → {human_seconds(b)}" if a is not None and b is not None else "?"

    return [
        ("image size", f"{human_bytes(art.before_bytes)} → {human_bytes(art.after_bytes)}",
         f"{human_bytes(before.image_size_bytes or 0)} → {human_bytes(mine.image_size_bytes or 0)}",
         human_bytes(after.image_size_bytes or 0)),
        ("build time, cold", pair(art.build_before_s, art.build_after_s),
         f"{human_seconds(cold['starting Dockerfile'])} → (yours: not timed)", human_seconds(cold["reference"])),
        (f"pull at {mbps:g} Mbit/s", pair(art.pull_before_s, art.pull_after_s), f"{pull(before)} → {pull(mine)}",
         pull(after)),
    ]


NAIVE_ORDER = """\
FROM node:20
WORKDIR /app
COPY . .
RUN npm ci
RUN npm run build
CMD ["node", "dist/main.js"]
"""
CACHE_FRIENDLY_ORDER = """\
FROM node:20
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
RUN npm run build
CMD ["node", "dist/main.js"]
"""
EDIT = "\n// a one-line change, as in any commit ({nonce})\n"


@dataclass(frozen=True)
class Rebuild:
    name: str
    cached_steps: int
    total_steps: int
    seconds: float

    @property
    def rebuilt_steps(self) -> int:
        return self.total_steps - self.cached_steps


def _rebuild_after_edit(name: str, dockerfile: str, app_copy: Path) -> Rebuild:
    build_app_image(f"cache-{name}", dockerfile, app_copy)  # warm: the unedited source (cached after once)
    main = app_copy / "src" / "main.ts"
    original = main.read_text()
    # A new line on every run: BuildKit keeps its cache after the image is removed, so a repeated edit would hit it.
    main.write_text(original + EDIT.format(nonce=uuid.uuid4().hex[:12]))
    try:
        edited = build_app_image(f"cache-{name}-edited", dockerfile, app_copy)
    finally:
        main.write_text(original)
    remove_image(edited.tag)  # the image goes; the nonce above is what makes the next run miss the cache again
    return Rebuild(name, edited.cached_steps, edited.total_steps, edited.seconds)


def cache_ordering_experiment() -> dict[str, Rebuild]:
    """Edit src/main.ts by one line, rebuild both orders of the same Dockerfile; steps from cache and seconds."""
    with tempfile.TemporaryDirectory(prefix="lesson-cache-") as tmp:
        copy = Path(tmp) / "node-api"
        shutil.copytree(APPS_DIR / "node-api", copy, ignore=shutil.ignore_patterns("node_modules", "dist"))
        return {"naive order (COPY . . first)": _rebuild_after_edit("naive", NAIVE_ORDER, copy),
                "dependencies first": _rebuild_after_edit("ordered", CACHE_FRIENDLY_ORDER, copy)}
