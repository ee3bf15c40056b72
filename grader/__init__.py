"""Docker Diet Workshop's grader: build a learner's Dockerfile, inspect the image once, check it, report.

    from grader import grade
    report = grade("node-api")            # exercises/node-api/Dockerfile against apps/node-api
    report.percent, report.exit_code      # 0 all scored checks passed, 1 some failed, 2 could not grade

Names are imported lazily, so `import grader` stays cheap for the CLI and does not need Docker.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BuildFailed": "grader.errors",
    "BuildKitOnlySyntax": "grader.errors",
    "BuildTimeout": "grader.errors",
    "CheckResult": "grader.model",
    "DockerfileError": "grader.errors",
    "GradeConfig": "grader.api",
    "GradeError": "grader.errors",
    "ImageFacts": "grader.model",
    "NoEngine": "grader.errors",
    "Report": "grader.model",
    "Status": "grader.model",
    "UnknownExercise": "grader.errors",
    "all_checks": "grader.registry",
    "grade": "grader.api",
    "inspect_image": "grader.engine.inspect",
    "render": "grader.reporters",
}

__all__ = [
    "BuildFailed",
    "BuildKitOnlySyntax",
    "BuildTimeout",
    "CheckResult",
    "DockerfileError",
    "GradeConfig",
    "GradeError",
    "ImageFacts",
    "NoEngine",
    "Report",
    "Status",
    "UnknownExercise",
    "all_checks",
    "grade",
    "inspect_image",
    "render",
]  # the keys of _EXPORTS, sorted (tests/test_static.py holds them together)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
