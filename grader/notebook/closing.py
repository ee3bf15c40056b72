"""Lesson 09, quick wins: the article's five quick wins, ticked off from each exercise's grade."""

from __future__ import annotations

from collections.abc import Mapping

from grader.errors import UnknownCheck
from grader.model import Report
from grader.units import human_bytes

__all__ = [
    "QUICK_WIN_HEADER",
    "quick_win_rows",
]

QUICK_WIN_HEADER = ("exercise", "1 smaller base", "2 production deps only", "3 second FROM", "4 non-root USER",
                    "5 measured", "score")


def _passed(report: Report, check_id: str) -> str:
    try:
        return "✔" if report.check(check_id).passed else "✘"
    except UnknownCheck:  # a report that could not be graded holds no such check
        return "✘"


def quick_win_rows(reports: Mapping[str, Report]) -> list[tuple[str, ...]]:
    """One row per exercise: each quick win ticked from the grade, the size beside the article's "after"."""
    rows: list[tuple[str, ...]] = []
    for app, report in reports.items():
        base = report.base_image or "?"
        small = "✔" if any(word in base for word in ("slim", "alpine", "distroless", "scratch")) else "✘"
        after = human_bytes(report.comparison.article.after_bytes) if report.comparison else "?"
        size = human_bytes(report.image_size_bytes) if report.image_size_bytes else "not built"
        rows.append((app, f"{small} {base}", _passed(report, "no-dev-dependencies"), _passed(report, "multi-stage"),
                     _passed(report, "non-root"), f"{size} (article: {after})",
                     f"{report.score:g}/{report.max_score:g}"))
    return rows
