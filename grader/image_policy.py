"""Which images a Dockerfile may build on: its own stages, the allowed bases, never an image the grader made.

A learner who writes `FROM docker-diet-workshop/fastapi:class-alice` inherits Alice's files and so her score. Two
rules close that, checked before any build:

- In class modes (`grade-class`, nbgrader autograde, `workshop grade --class-mode` in CI) every `FROM`,
  `COPY --from` and `RUN --mount=...,from=` must name one of the Dockerfile's own earlier stages or an image in
  the exercise's allow list (grading.toml `[bases] allow`, default: the exercise's bases and `scratch`).
- In every mode, an external image that carries the grader's own label (a learner's graded image, a naive
  baseline) is refused: the engine's labels say who made it, whatever its tag.

Both rules read the references with the grammar the builder uses (grader/instruction_flags.py: flag words, CSV
mount fields, ONBUILD triggers; grader/build_args.py: ARGs in FROM), and where the classic builder and BuildKit
resolve a name differently (a later stage's name in COPY --from), the name counts as an image. A base's own
ONBUILD triggers run in the learner's build, so the images they read are checked too, once the engine says
what the base holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from grader.dockerfile import DockerfileInfo, Instruction, Stage, tokenize
from grader.errors import DisallowedImage, DockerfileError
from grader.instruction_flags import FlagError, source_names
from grader.paths import PROJECT_LABEL

__all__ = [
    "STAND_IN_LABELS",
    "EngineImage",
    "ImageUse",
    "LabelLookup",
    "check_allowed",
    "check_not_grader_made",
    "external_images",
    "image_uses",
    "made_by_grader",
    "normalise",
    "stage_of",
    "trigger_uses",
]

#: Labels that only the workshop's base stand-ins carry; any other io.docker-diet-workshop label means the
#: grader built the image from a learner's (or the naive) Dockerfile.
STAND_IN_LABELS = frozenset({f"{PROJECT_LABEL}.stand-in", f"{PROJECT_LABEL}.recipe"})
_INDEX = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63
#: A stage number past the stages: the builder fails, or reaches an image named elsewhere; not a new image.
_NOT_AN_IMAGE = Stage(-1, "scratch", None, 0, ())


@dataclass(frozen=True)
class ImageUse:
    """One place where the Dockerfile names an image or stage: the line, the instruction and the name."""

    line: int
    where: str  # "FROM", "COPY --from", "RUN --mount from=", "ONBUILD COPY --from", ...
    name: str


def normalise(reference: str) -> str:
    """One spelling per image, as distribution's ParseNormalizedNamed + TagNameOnly make it: `node:20`,
    `docker.io/library/node:20` and `index.docker.io/node:20` are `docker.io/library/node:20`, `node` is
    `...node:latest`. Tags keep their case (`3.11-SLIM` is another tag); another registry stays another name."""
    name, at, digest = reference.partition("@")
    domain, slash, rest = name.partition("/")
    if not slash or ("." not in domain and ":" not in domain and domain != "localhost"):
        domain, rest = "docker.io", name
    domain = "docker.io" if domain == "index.docker.io" else domain
    if domain == "docker.io" and "/" not in rest:
        rest = f"library/{rest}"
    if ":" not in rest.rsplit("/", 1)[-1] and not at:
        rest += ":latest"
    return f"{domain}/{rest}{at}{digest}"


def _stage_names(info: DockerfileInfo, line: int | None) -> set[str]:
    """The stage names defined before `line` (all of them for None)."""
    return {s.name for s in info.stages if s.name and (line is None or s.line < line)}


def stage_of(info: DockerfileInfo, use: ImageUse) -> Stage | None:
    """The stage that every back end reads `use.name` as, or None when some back end reads an image.

    FROM: an earlier stage, exactly (BuildKit does not fold case). COPY --from: a stage number (past the stages,
    BuildKit's numbers reach images already named, never a new one) or an earlier stage's name, either case (the
    classic builder looks only at earlier stages, so a later stage's name is an image to it). A mount's `from=`
    is BuildKit-only: any stage's name, either case, and no numbers."""
    if use.where == "FROM":
        return next((s for s in info.stages if s.name == use.name and s.line < use.line), None)
    if use.where.endswith(("COPY --from", "ADD --from")):
        if _INDEX.fullmatch(use.name) and -_INT64 <= int(use.name) < _INT64:
            index = int(use.name)
            return info.stages[index] if 0 <= index < len(info.stages) else _NOT_AN_IMAGE
        return next((s for s in info.stages if s.name == use.name.lower() and s.line < use.line), None)
    return next((s for s in info.stages if s.name == use.name.lower()), None)


def _is_stage(info: DockerfileInfo, use: ImageUse) -> bool:
    return stage_of(info, use) is not None


def trigger_uses(trigger: Instruction, line: int, prefix: str = "ONBUILD ") -> tuple[ImageUse, ...]:
    """The images or stages an instruction (an ONBUILD trigger) reads, with the grammar the builder uses."""
    return tuple(ImageUse(line, prefix + where, name) for where, name in source_names(trigger.keyword,
                                                                                        trigger.flags))


def image_uses(info: DockerfileInfo) -> tuple[ImageUse, ...]:
    """Every image or stage name the Dockerfile builds on, in order, ONBUILD triggers included (a later stage
    FROM this one runs them)."""
    uses: list[ImageUse] = []
    for stage in info.stages:
        uses.append(ImageUse(stage.line, "FROM", stage.base))
        for instruction in stage.instructions:
            uses.extend(trigger_uses(instruction, instruction.line, prefix=""))
            if instruction.trigger is not None:
                uses.extend(trigger_uses(instruction.trigger, instruction.line))
    return tuple(uses)


def external_images(info: DockerfileInfo) -> tuple[ImageUse, ...]:
    """The uses that name an image rather than one of the Dockerfile's own stages or `scratch`."""
    return tuple(use for use in image_uses(info) if use.name != "scratch" and not _is_stage(info, use))


def _refuse_outside(uses: Iterable[ImageUse], allowed: Iterable[str], source: str) -> None:
    allow = {normalise(name) for name in allowed}
    for use in uses:
        if normalise(use.name) not in allow:
            listed = ", ".join(sorted({*allowed, "scratch"}))
            raise DisallowedImage(
                f"Line {use.line}: {use.where} `{use.name[:80]}` is not allowed in this class. Build on one of: "
                f"{listed}, or on a stage of your own Dockerfile. (An instructor can allow more images in "
                f"{source}, under [bases] allow.)", line=use.line, step=use.where)


def check_allowed(info: DockerfileInfo, allowed: Iterable[str], source: str = "grading.toml") -> None:
    """Raise DisallowedImage at the first image outside `allowed` (class modes)."""
    _refuse_outside(external_images(info), tuple(allowed), source)


def made_by_grader(labels: dict[str, Any] | None) -> bool:
    """An image the grader built from a learner's or the naive Dockerfile (not a base stand-in)."""
    return any(key == PROJECT_LABEL or (key.startswith(PROJECT_LABEL + ".") and key not in STAND_IN_LABELS)
               for key in (labels or {}))


@dataclass(frozen=True)
class EngineImage:
    """What the engine says of an image a Dockerfile names: its id, labels and ONBUILD triggers."""

    id: str
    labels: dict[str, str]
    onbuild: tuple[str, ...] = ()


#: name -> the engine's image, or None when the engine has no such image.
LabelLookup = Callable[[str], "EngineImage | None"]


def _base_trigger_uses(info: DockerfileInfo, use: ImageUse, image: EngineImage) -> tuple[ImageUse, ...]:
    """The images that a base's ONBUILD triggers read when a stage starts FROM it, read as the builder reads
    them; a trigger the grader cannot read is refused (the base is not one to build on)."""
    found: list[ImageUse] = []
    for trigger in image.onbuild:
        try:
            nodes = tokenize(trigger)
            for node in nodes:
                found.extend(ImageUse(use.line, f"ONBUILD of `{use.name[:60]}`: {where}", name)
                             for where, name in source_names(node.keyword, node.flags))
        except (DockerfileError, FlagError) as error:
            raise DisallowedImage(f"Line {use.line}: FROM `{use.name[:80]}` has an ONBUILD trigger the grader "
                                  f"cannot read ({str(error)[:120]}). Build on another base.",
                                  line=use.line, step="FROM") from None
    return tuple(u for u in found if u.name != "scratch" and not _is_stage(info, u))


def check_not_grader_made(info: DockerfileInfo, labels_of: LabelLookup,
                          allowed: Iterable[str] | None = None) -> dict[str, str]:
    """Refuse any external image that the grader made, and, in class modes (`allowed` given), any image that
    a base's ONBUILD triggers read outside the allow list; returns {name: image id} of those the engine has.

    `labels_of(name)` returns the engine's image or None when the engine has no such image (the build then
    fails on its own, since nothing is pulled)."""
    ids: dict[str, str] = {}
    pending = list(external_images(info))
    while pending:
        use = pending.pop(0)
        found = labels_of(use.name)
        if found is None:
            continue
        if made_by_grader(found.labels):
            raise DisallowedImage(
                f"Line {use.line}: {use.where} `{use.name[:80]}` is an image the grader built from a submission. "
                "Build on a base image (e.g. the exercise's python or node image) instead.",
                line=use.line, step=use.where)
        ids[use.name] = found.id
        if use.where == "FROM" and found.onbuild:
            triggered = _base_trigger_uses(info, use, found)
            if allowed is not None:
                _refuse_outside(triggered, tuple(allowed), "grading.toml")
            pending.extend(triggered)
    return ids
