"""Plain-text pieces that several reporters show the same way: a check's verdict, the score line, the article rows.

The terminal, Gradescope, PrairieLearn and the GitHub summary all say the same things about a report; saying
them here once keeps the words (and the numbers' units) the same everywhere. Every string that can hold text from
a submission (messages, measured values, log lines) leaves here through strip_control; each format then escapes
for its own reader (Markdown, JSON).
"""

from __future__ import annotations

from grader.model import CheckResult, Report, Status
from grader.reporters.sanitize import strip_control
from grader.units import human_bytes, human_seconds

__all__ = [
    "LOG_LINES",
    "TEXT_LIMIT",
    "brief_value",
    "check_detail",
    "comparison_heading",
    "comparison_rows",
    "error_text",
    "points_text",
    "score_line",
    "shorten",
]

#: At most this many characters of one submission-made string (a message, a measured list) in a course platform's
#: output: Gradescope, PrairieLearn and GitHub each cap a result at about 1 MB, and three reports must fit.
TEXT_LIMIT = 2000
#: The last log lines of a failed build that a could-not-grade result shows.
LOG_LINES = 30


def shorten(text: object, limit: int = TEXT_LIMIT) -> str:
    """strip_control, then at most `limit` characters (an ellipsis says that something was cut)."""
    value = strip_control(text)
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def brief_value(value: object) -> str:
    """A measured value or threshold in a few words: the first items of a list, the first keys of a mapping."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value[:4]) + (f" (+{len(value) - 4})" if len(value) > 4 else "") or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in list(value.items())[:3]) or "none"
    return str(value)


def points_text(check: CheckResult) -> str:
    if check.bonus:
        return f"+{check.points:g} bonus"
    return f"{check.points:g}/{check.max_points:g}" if check.max_points else "advisory"


def check_detail(check: CheckResult) -> str:
    """What a learner reads under one check: the message, measured against the threshold, the next step, the lesson."""
    lines = [shorten(check.message)]
    measured, threshold = brief_value(check.measured), brief_value(check.threshold)
    if measured or threshold:
        lines.append(shorten(f"measured: {measured or '-'}; threshold: {threshold or '-'}"))
    if check.hint and check.status is not Status.PASS:
        lines.append(shorten(f"next: {check.hint}"))
    lines.append(f"lesson: {check.lesson}")
    return "\n".join(lines)


def score_line(report: Report) -> str:
    """'node-api: 85/100 (85%)', with the bonus apart; or why it could not be graded."""
    if report.error is not None:
        return f"{report.exercise}: could not grade ({report.error.kind}): {shorten(report.error.message, 500)}"
    bonus = sum(c.points for c in report.checks if c.bonus)
    extra = f" + {bonus:g} bonus" if bonus else ""
    return f"{report.exercise}: {report.score - bonus:g}/{report.max_score:g}{extra} ({report.percent:g}%)"


def error_text(report: Report) -> str:
    """The reason a report could not be graded, where it happened, and the last log lines (empty when graded)."""
    error = report.error
    if error is None:
        return ""
    where = ", ".join(part for part in (f"step {error.step}" if error.step else "",
                                        f"line {error.line}" if error.line else "") if part)
    lines = [f"Could not grade {report.exercise} ({error.kind}){f' at {where}' if where else ''}: "
             f"{shorten(error.message)}"]
    if error.log_tail:
        lines += ["Last log lines:", *(shorten(line, 500) for line in error.log_tail[-LOG_LINES:])]
    return "\n".join(lines)


def comparison_heading(report: Report) -> tuple[str, str, str]:
    """(title, first column, second column) of the comparison: the article's, or a project's before/after."""
    if report.project is not None:
        return "Your project: before and after", "before", "after"
    return "Beside the article", "article", "you"


def comparison_rows(report: Report) -> list[tuple[str, str, str]]:
    """The article beside the learner: (what, article, you) rows; none when the report has no comparison."""
    comparison = report.comparison
    if comparison is None:
        return []
    if report.project is not None:
        return _project_rows(report)
    article = comparison.article
    reduction_article = 100 * (article.before_bytes - article.after_bytes) / article.before_bytes
    rows = [
        ("naive image", human_bytes(article.before_bytes),
         human_bytes(comparison.naive_bytes) if comparison.naive_bytes else "not built"),
        ("final image", human_bytes(article.after_bytes),
         human_bytes(comparison.current_bytes) if comparison.current_bytes else ""),
        ("reduction", f"{reduction_article:.0f}%",
         f"{comparison.reduction_percent:.0f}%" if comparison.reduction_percent is not None else ""),
    ]
    if article.build_before_s:
        rows.append(("build (before -> after)",
                     f"{human_seconds(article.build_before_s)} -> {human_seconds(article.build_after_s or 0)}",
                     f"cold {human_seconds(comparison.cold_build_s) if comparison.cold_build_s else '?'}, "
                     f"warm {human_seconds(comparison.warm_build_s) if comparison.warm_build_s else '?'}"))
    if comparison.compressed_bytes_estimate:
        rows.append((f"pull at {comparison.bandwidth_mbps:g} Mbit/s (estimate)",
                     human_seconds(article.pull_after_s) if article.pull_after_s else "",
                     f"{human_bytes(comparison.compressed_bytes_estimate)} compressed, "
                     f"~{human_seconds(comparison.pull_seconds_estimate or 0)}"))
    return rows


def _project_rows(report: Report) -> list[tuple[str, str, str]]:
    """A learner's own project: (what, before, after) from their baseline, in place of the article's numbers."""
    assert report.comparison is not None and report.project is not None
    c = report.comparison
    rows = [("image", human_bytes(c.naive_bytes) if c.naive_bytes else "not built",
             human_bytes(c.current_bytes) if c.current_bytes else ""),
            ("reduction", "", f"{c.reduction_percent:.0f}%" if c.reduction_percent is not None else ""),
            ("before is", report.project.baseline_source, "")]
    if report.baseline is not None:
        rows.append(("build", human_seconds(report.baseline.build_seconds),
                     human_seconds(c.warm_build_s or c.cold_build_s or 0)))
    return rows
