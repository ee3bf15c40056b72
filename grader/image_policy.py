"""Which images a Dockerfile may build on: its own stages, the allowed bases, never an image the grader made.

A learner who writes `FROM docker-diet-workshop/fastapi:class-alice` inherits Alice's files and so her score. Two
rules close that, checked before any build:

- In class modes (`grade-class`, nbgrader autograde, `workshop grade --class-mode` in CI) every `FROM`,
  `COPY --from` and `RUN --mount=...,from=` must name one of the Dockerfile's own earlier stages or an image in
  the exercise's allow list (grading.toml `[bases] allow`, default: the exercise's bases and `scratch`).
- In every mode, an external image that carries the grader's own label (a learner's graded image, a naive
  baseline) is refused: the engine's labels say who made it, whatever its tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from grader.dockerfile import DockerfileInfo, Instruction
from grader.errors import DisallowedImage
from grader.paths import PROJECT_LABEL

__all__ = [
    "STAND_IN_LABELS",
    "ImageUse",
    "LabelLookup",
    "check_allowed",
    "check_not_grader_made",
    "external_images",
    "image_uses",
    "made_by_grader",
    "normalise",
]

#: Labels that only the workshop's base stand-ins carry; any other io.docker-diet-workshop label means the
#: grader built the image from a learner's (or the naive) Dockerfile.
STAND_IN_LABELS = frozenset({f"{PROJECT_LABEL}.stand-in", f"{PROJECT_LABEL}.recipe"})


@dataclass(frozen=True)
class ImageUse:
    """One place where the Dockerfile names an image or stage: the line, the instruction and the name."""

    line: int
    where: str  # "FROM", "COPY --from", "RUN --mount from="
    name: str


def normalise(reference: str) -> str:
    """`docker.io/library/node:20` and `node` -> `node:20` and `node:latest`: one spelling per image."""
    ref = reference.strip().strip("'\"")
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        ref = ref.removeprefix(prefix)
    ref = ref.removeprefix("library/")
    name, at, digest = ref.partition("@")
    if ":" not in name.rsplit("/", 1)[-1] and not at and name != "scratch":
        name += ":latest"
    return f"{name}{at}{digest}".lower()


def _mount_sources(instruction: Instruction) -> list[str]:
    """The `from=` of each `--mount=type=...,from=...` of a RUN (comma-separated key=value, quotes dropped)."""
    sources = []
    for flag in instruction.flags:
        key, _, value = flag.partition("=")
        if key != "--mount":
            continue
        for field in value.strip("'\"").split(","):
            fkey, _, fvalue = field.strip().partition("=")
            if fkey.strip().lower() == "from" and fvalue.strip():
                sources.append(fvalue.strip().strip("'\""))
    return sources


def image_uses(info: DockerfileInfo) -> tuple[ImageUse, ...]:
    """Every image or stage name the Dockerfile builds on, in order."""
    uses: list[ImageUse] = []
    for stage in info.stages:
        uses.append(ImageUse(stage.line, "FROM", stage.base))
        for instruction in stage.instructions:
            source = instruction.flag("from") if instruction.keyword in ("COPY", "ADD") else None
            if source:
                uses.append(ImageUse(instruction.line, f"{instruction.keyword} --from", source.strip("'\"")))
            if instruction.keyword == "RUN":
                uses.extend(ImageUse(instruction.line, "RUN --mount from=", s) for s in _mount_sources(instruction))
    return tuple(uses)


def _earlier_stage(info: DockerfileInfo, name: str, line: int) -> bool:
    """Whether `name` is a stage (by name or index) defined before `line`, which is all Docker looks up."""
    for stage in info.stages:
        if stage.line >= line:
            break
        if stage.name == name.lower() or name == str(stage.index):
            return True
    return False


def external_images(info: DockerfileInfo) -> tuple[ImageUse, ...]:
    """The uses that name an image rather than one of the Dockerfile's own earlier stages or `scratch`."""
    return tuple(use for use in image_uses(info)
                 if not _earlier_stage(info, use.name, use.line) and use.name.lower() != "scratch")


def check_allowed(info: DockerfileInfo, allowed: Iterable[str], source: str = "grading.toml") -> None:
    """Raise DisallowedImage at the first image outside `allowed` (class modes)."""
    allow = {normalise(name) for name in allowed}
    for use in external_images(info):
        if normalise(use.name) not in allow:
            listed = ", ".join(sorted(allow | {"scratch"}))
            raise DisallowedImage(
                f"Line {use.line}: {use.where} `{use.name[:80]}` is not allowed in this class. Build on one of: "
                f"{listed}, or on a stage of your own Dockerfile. (An instructor can allow more images in "
                f"{source}, under [bases] allow.)", line=use.line, step=use.where)


def made_by_grader(labels: dict[str, Any] | None) -> bool:
    """An image the grader built from a learner's or the naive Dockerfile (not a base stand-in)."""
    return any(key == PROJECT_LABEL or (key.startswith(PROJECT_LABEL + ".") and key not in STAND_IN_LABELS)
               for key in (labels or {}))


#: name -> (image id, labels), or None when the engine has no such image.
LabelLookup = Callable[[str], "tuple[str, dict[str, str]] | None"]


def check_not_grader_made(info: DockerfileInfo, labels_of: LabelLookup) -> dict[str, str]:
    """Refuse any external image that the grader made; returns {name: image id} of those the engine has.

    `labels_of(name)` returns (image id, labels) or None when the engine has no such image (the build then fails
    on its own, since nothing is pulled)."""
    ids: dict[str, str] = {}
    for use in external_images(info):
        found = labels_of(use.name)
        if found is None:
            continue
        image_id, labels = found
        if made_by_grader(labels):
            raise DisallowedImage(
                f"Line {use.line}: {use.where} `{use.name[:80]}` is an image the grader built from a submission. "
                "Build on a base image (e.g. the exercise's python or node image) instead.",
                line=use.line, step=use.where)
        ids[use.name] = image_id
    return ids
