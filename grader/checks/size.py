"""Checks about the build and the image's size: builds, size, beats-article, reduction."""

from __future__ import annotations

from grader.checks.lessons import lesson
from grader.checks.verdicts import app_works_passed
from grader.registry import Evidence, Outcome, check
from grader.units import human_bytes

__all__ = ["beats_article", "builds", "reduction", "size"]


@check("builds", title="The Dockerfile builds", points=5, lesson=lesson("multi-stage", "Your image, graded"), needs=())
def builds(ev: Evidence) -> Outcome:
    """A gate: when the image does not build, every other check is skipped with the build's reason."""
    if ev.build is None:
        return Outcome(False, "no image", "an image", ev.build_error or "The build did not produce an image.",
                       hint="Read the failing step and the log lines above it, fix that instruction and regrade.")
    return Outcome(True, ev.build.image_id[7:19], "an image",
                   f"Built with {ev.build.backend} in {ev.build.seconds:.1f} s.")


def _healthy(ev: Evidence) -> bool:
    """Health and app-works gate every size check: an image that does not run the app cannot win on size."""
    return ev.run is not None and ev.run.health_status == "healthy" and app_works_passed(ev.run)


def _not_working(ev: Evidence) -> str:
    if ev.run is None or ev.run.health_status != "healthy":
        return "it never turned healthy"
    return "it does not answer a user's requests (see app-works)"


@check("size", title="Final image size", points=20, lesson=lesson("multi-stage", "Result"), needs=("image",))
def size(ev: Evidence) -> Outcome:
    """Final image size against the exercise's threshold, with partial credit on a band above it.

    Health and app-works gate size: an image that never turns healthy, or does not answer a user's requests,
    earns no size points, so a tiny broken image cannot win.
    """
    measured = ev.image.size_bytes if ev.image else 0
    threshold, band = ev.settings.size_threshold_bytes, ev.settings.size_band_bytes
    limits = f"<= {human_bytes(threshold)} (partial credit up to {human_bytes(band)})"
    if not _healthy(ev):
        return Outcome(False, human_bytes(measured), limits,
                       f"Image is {human_bytes(measured)}, but {_not_working(ev)}, so size earns no points.",
                       hint="Make the container start, pass its HEALTHCHECK and answer the app's requests first "
                            "(see the healthcheck and app-works checks).",
                       fraction=0.0)
    if measured <= threshold:
        return Outcome(True, human_bytes(measured), limits,
                       f"Image is {human_bytes(measured)}; the budget is {human_bytes(threshold)}.")
    fraction = max(0.0, (band - measured) / (band - threshold)) if band > threshold else 0.0
    return Outcome(False, human_bytes(measured), limits,
                   f"Image is {human_bytes(measured)}; the budget is {human_bytes(threshold)}.",
                   hint="Start the final stage from a -slim base and copy only built artifacts and production "
                        "dependencies into it.",
                   fraction=fraction)


@check("beats-article", title="Smaller than the article's result", points=5, bonus=True,
       lesson=lesson("numbers", "Real numbers"), needs=("image",))
def beats_article(ev: Evidence) -> Outcome:
    """Bonus: the final image is smaller than the article's after-number for this app (and it is healthy)."""
    measured = ev.image.size_bytes if ev.image else 0
    target = ev.settings.article.after_bytes
    ok = measured < target and _healthy(ev)
    return Outcome(ok, human_bytes(measured), f"< {human_bytes(target)}",
                   f"Image is {human_bytes(measured)}; the article reached {human_bytes(target)}"
                   + ("" if _healthy(ev) else " (and a bonus needs a healthy container that runs the app)") + ".",
                   hint="Look at the largest layers (`layer-waste`, `docker history`) for what else can go.")


@check("reduction", title="Smaller than the naive starting image", points=5,
       lesson=lesson("numbers", "Real numbers"), needs=("image", "baseline"))
def reduction(ev: Evidence) -> Outcome:
    """Percent smaller than the naive baseline built from the exercise's starting Dockerfile (built once, cached).

    Like size, it needs a container that turns healthy and runs the app: deleting the app is not a reduction."""
    assert ev.image is not None and ev.baseline is not None
    naive = ev.baseline.size_bytes
    percent = 100.0 * (naive - ev.image.size_bytes) / naive if naive else 0.0
    need = ev.settings.reduction_min_percent
    healthy = _healthy(ev)
    return Outcome(percent >= need and healthy, f"{percent:.0f}%", f">= {need:.0f}%",
                   f"{percent:.0f}% smaller than the naive image ({human_bytes(naive)} -> "
                   f"{human_bytes(ev.image.size_bytes)}); the goal is {need:.0f}%"
                   + ("." if healthy else ", and it counts only once the container turns healthy and runs the app."),
                   hint="Split the build into a builder stage and a slim final stage (the article got -85%).")
