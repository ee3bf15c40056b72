"""A GitHub Actions job summary in Markdown: append it to $GITHUB_STEP_SUMMARY and the run's page shows the grade.

One section per exercise: the score, a table of checks (status, points, measured, threshold, hint), why it could
not be graded with the last log lines, and the article beside the learner. GitHub renders the summary as GitHub
Flavored Markdown, so every string from a submission goes through sanitize.markdown_escape (no link, image, HTML
or extra table cell can come out of a build log) and logs go into a fence they cannot close. GitHub caps a step's
summary at 1 MiB; each string is shortened (plain.TEXT_LIMIT) so that three exercises stay far below it.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.model import CheckResult, Report, Status
from grader.reporters.plain import (
    LOG_LINES,
    brief_value,
    comparison_heading,
    comparison_rows,
    points_text,
    score_line,
    shorten,
)
from grader.reporters.sanitize import markdown_code_block, markdown_escape

__all__ = ["render", "render_all"]

_STATUS = {Status.PASS: "\u2705 pass", Status.FAIL: "\u274c fail", Status.ERROR: "\u26a0\ufe0f error",
           Status.SKIPPED: "\u23ed\ufe0f skipped"}
#: A measured value or threshold longer than this is cut in a table cell (the JSON report keeps all of it).
_CELL_LIMIT = 300


def render(report: Report) -> str:
    return _section(report)


def render_all(reports: Sequence[Report]) -> str:
    """Several exercises (`grade --all`): an overview table of scores, then each exercise's section."""
    if len(reports) == 1:
        return _section(reports[0])
    overview = ["## Docker Diet Workshop", "", "| exercise | result |", "| --- | --- |"]
    overview += [f"| {markdown_escape(r.exercise)} | {markdown_escape(_result(r))} |" for r in reports]
    return "\n".join(overview) + "\n\n" + "\n".join(_section(report, level=3) for report in reports)


def _result(report: Report) -> str:
    if report.error is not None:
        return f"could not grade ({report.error.kind})"
    return score_line(report).split(": ", 1)[1] + (" passed" if report.passed else " some checks failed")


def _section(report: Report, level: int = 2) -> str:
    heading = "#" * level
    parts = [f"{heading} Docker Diet Workshop: {markdown_escape(report.exercise)}", "",
             f"**{markdown_escape(_result(report))}**", ""]
    if report.error is not None:
        parts += _error(report)
    if report.checks:
        parts += [_checks_table(report.checks), ""]
    rows = comparison_rows(report)
    if rows:
        title, first, second = comparison_heading(report)
        parts += [f"{heading}# {title}", "", f"| | {first} | {second} |", "| --- | ---: | ---: |"]
        parts += ["| " + " | ".join(markdown_escape(cell) for cell in row) + " |" for row in rows]
        parts.append("")
    return "\n".join(parts)


def _error(report: Report) -> list[str]:
    error = report.error
    assert error is not None
    where = ", ".join(part for part in (f"step {error.step}" if error.step else "",
                                        f"line {error.line}" if error.line else "") if part)
    parts = [f"**Could not grade** ({markdown_escape(error.kind)}{', ' + markdown_escape(where) if where else ''}): "
             f"{markdown_escape(shorten(error.message))}", ""]
    if error.log_tail:
        lines = [shorten(line, 500) for line in error.log_tail[-LOG_LINES:]]
        parts += ["<details><summary>Last log lines</summary>", "", markdown_code_block(lines), "", "</details>", ""]
    return parts


def _checks_table(checks: Sequence[CheckResult]) -> str:
    rows = ["| status | check | points | measured | threshold | hint |", "| --- | --- | ---: | --- | --- | --- |"]
    for check in checks:
        hint = check.hint if check.hint and check.status is not Status.PASS else ""
        if check.status is not Status.PASS and not hint:
            hint = check.message  # a skipped or failed check without a hint still says why
        cells = (_STATUS[check.status], check.id, points_text(check), shorten(brief_value(check.measured), _CELL_LIMIT),
                 shorten(brief_value(check.threshold), _CELL_LIMIT), shorten(hint, _CELL_LIMIT))
        rows.append("| " + " | ".join(markdown_escape(cell) for cell in cells) + " |")
    return "\n".join(rows)
