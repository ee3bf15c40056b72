"""Reporters only read a Report; one module per format, chosen from one mapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.errors import UnknownFormat
from grader.model import Report
from grader.reporters import json_report, junit, notebook, terminal

__all__ = ["REPORTERS", "render", "render_many"]

#: format name -> function(Report) -> text. The CLI's --format choices come from here.
REPORTERS: dict[str, Callable[[Report], str]] = {
    "table": terminal.render,
    "json": json_report.render,
    "junit": junit.render,
    "html": notebook.render_html,
}


def render(report: Report, fmt: str) -> str:
    """The report in `fmt`; an unknown format (UnknownFormat, a ValueError) names the valid ones."""
    return _reporter(fmt)(report)


def _reporter(fmt: str) -> Callable[[Report], str]:
    try:
        return REPORTERS[fmt]
    except KeyError:
        raise UnknownFormat(f"Unknown format {fmt!r}. Valid formats: {', '.join(sorted(REPORTERS))}.") from None


def render_many(reports: Sequence[Report], fmt: str) -> str:
    """Several reports (`grade --all`) as one document: a JSON list, one JUnit file with a suite per exercise,
    or each report in turn. One report is the same document as `render` gives, except JUnit, which is always a
    <testsuites> file."""
    reporter = _reporter(fmt)  # an unknown format is refused before anything is joined
    if fmt == "junit":
        return junit.render_all(list(reports))
    if len(reports) == 1:
        return reporter(reports[0])
    if fmt == "json":
        return json_report.render_list(reports)
    return "\n".join(reporter(report) for report in reports)
