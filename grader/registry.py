"""The check registry: a decorator gives each check a stable id, a title, default points and a lesson link.

Nothing else keeps a list of checks: `workshop checks`, `workshop explain`, the README table and the lesson links
are generated from REGISTRY. A check returns an Outcome (what it measured, the threshold, a hint); `evaluate`
turns outcomes into CheckResults, applies the `builds` gate and catches a check's own bug as status "error".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from grader.dockerfile import DockerfileInfo
from grader.model import (
    AppFacts,
    BaselineFacts,
    BuildFacts,
    CheckResult,
    ImageFacts,
    JsonValue,
    RunFacts,
    Status,
)
from grader.settings import ExerciseSettings

__all__ = [
    "REGISTRY",
    "CheckFunction",
    "CheckSpec",
    "Evidence",
    "Outcome",
    "all_checks",
    "check",
    "evaluate",
    "run_check",
]


@dataclass(frozen=True)
class Evidence:
    """Everything a check may read. Missing parts (no run, no baseline) are None and the check says so."""

    settings: ExerciseSettings
    dockerfile: DockerfileInfo | None = None
    build: BuildFacts | None = None
    image: ImageFacts | None = None
    run: RunFacts | None = None
    app: AppFacts | None = None
    baseline: BaselineFacts | None = None
    lint_findings: tuple[str, ...] | None = None  # None: hadolint did not run
    lint_enabled: bool = True  # False when the grade was asked without linting (GradeConfig.lint)
    build_error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a check function returns. `fraction` gives partial credit (0..1) on a pass or fail."""

    passed: bool
    measured: JsonValue
    threshold: JsonValue
    message: str
    hint: str | None = None
    fraction: float | None = None
    skipped: bool = False


CheckFunction = Callable[[Evidence], Outcome]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id is a contract (nbgrader cells, CI and JSON consumers use it)."""

    id: str
    title: str
    points: float
    lesson: str
    needs: frozenset[str]
    function: CheckFunction
    bonus: bool = False
    explanation: str = ""
    details: Callable[[], str] | None = None  # more for `workshop explain` (app-works: each app's contract)


REGISTRY: dict[str, CheckSpec] = {}


def check(
    id: str,
    *,
    title: str,
    points: float,
    lesson: str,
    needs: tuple[str, ...] = ("image",),
    bonus: bool = False,
    details: Callable[[], str] | None = None,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under a stable id; its docstring (and `details()`) becomes `workshop explain ID`."""

    def decorate(function: CheckFunction) -> CheckFunction:
        if id in REGISTRY:
            raise ValueError(f"check id {id!r} registered twice")
        REGISTRY[id] = CheckSpec(
            id=id,
            title=title,
            points=points,
            lesson=lesson,
            needs=frozenset(needs),
            function=function,
            bonus=bonus,
            explanation=inspect.cleandoc(function.__doc__ or ""),
            details=details,
        )
        return function

    return decorate


def _result(spec: CheckSpec, max_points: float, status: Status, outcome: Outcome | None, message: str) -> CheckResult:
    fraction = 1.0 if status is Status.PASS else 0.0
    if outcome is not None and outcome.fraction is not None and status in (Status.PASS, Status.FAIL):
        fraction = max(0.0, min(1.0, outcome.fraction))
    return CheckResult(
        id=spec.id,
        title=spec.title,
        status=status,
        points=round(max_points * fraction, 2),
        max_points=max_points,
        measured=outcome.measured if outcome else None,
        threshold=outcome.threshold if outcome else None,
        message=message,
        hint=outcome.hint if outcome and status is not Status.PASS else None,
        lesson=spec.lesson,
        bonus=spec.bonus,
    )


def run_check(spec: CheckSpec, evidence: Evidence) -> CheckResult:
    """Run one check; a missing input skips it, a bug in the check is an "error", never a crash."""
    max_points = float(evidence.settings.points.get(spec.id, spec.points))
    missing = sorted(need for need in spec.needs if getattr(evidence, need) is None)
    if missing:
        return _result(spec, max_points, Status.SKIPPED, None, f"Skipped: no {', '.join(missing)} to check.")
    try:
        outcome = spec.function(evidence)
    except Exception as exc:  # noqa: BLE001 - a check's bug must not hide the other results
        return _result(spec, max_points, Status.ERROR, None, f"The check itself failed ({type(exc).__name__}: {exc}).")
    if outcome.skipped:
        return _result(spec, max_points, Status.SKIPPED, outcome, outcome.message)
    status = Status.PASS if outcome.passed else Status.FAIL
    return _result(spec, max_points, status, outcome, outcome.message)


def evaluate(evidence: Evidence, only: tuple[str, ...] | None = None) -> tuple[CheckResult, ...]:
    """Run every registered check (or `only` those ids); when `builds` fails, skip the rest with its reason."""
    import grader.checks  # noqa: F401 - registers the checks

    specs = [spec for spec in REGISTRY.values() if only is None or spec.id in only]
    results: list[CheckResult] = []
    gate = next((s for s in specs if s.id == "builds"), None)
    if gate is not None:
        gate_result = run_check(gate, evidence)
        results.append(gate_result)
        if not gate_result.passed:
            for spec in specs:
                if spec.id != "builds":
                    points = float(evidence.settings.points.get(spec.id, spec.points))
                    results.append(
                        _result(spec, points, Status.SKIPPED, None, "Skipped: the image did not build.")
                    )
            return tuple(results)
    results.extend(run_check(spec, evidence) for spec in specs if spec.id != "builds")
    return tuple(results)


def all_checks() -> tuple[CheckSpec, ...]:
    """Every registered check in registration order (the order of the report)."""
    import grader.checks  # noqa: F401

    return tuple(REGISTRY.values())
