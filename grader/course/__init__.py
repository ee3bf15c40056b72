"""Grading a class: the nbgrader adapter (autograde), its guard against foreign cells, and `workshop grade-class`.

Notebooks of a course written before the move call `grader.course.expect_check(...)`; those names still resolve.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Names that generated assignment notebooks call, kept reachable at their old place.
_AUTOGRADE_NAMES = ("expect", "expect_check", "grade_submission", "show_dockerfile", "show_report")

__all__ = list(_AUTOGRADE_NAMES)


def __getattr__(name: str) -> Any:
    """Import the autograde adapter on first use (PEP 562), so `grader.course.classroom` does not need nbgrader."""
    if name in _AUTOGRADE_NAMES:
        return getattr(importlib.import_module("grader.course.autograde"), name)
    raise AttributeError(f"module 'grader.course' has no attribute {name!r}")
