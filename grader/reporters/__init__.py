"""Reporters only read a Report; one module per format, chosen from one mapping."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.errors import UnknownFormat
from grader.model import Report
from grader.reporters import github_summary, gradescope, json_report, junit, notebook, prairielearn, terminal

__all__ = ["COMBINED", "REPORTERS", "render", "render_many"]

#: format name -> function(Report) -> text. The CLI's --format choices come from here.
REPORTERS: dict[str, Callable[[Report], str]] = {
    "table": terminal.render,
    "json": json_report.render,
    "junit": junit.render,
    "html": notebook.render_html,
    "gradescope": gradescope.render,
    "prairielearn": prairielearn.render,
    "github-summary": github_summary.render,
}

#: Formats whose several reports (`grade --all`) make one document of their own kind rather than one after the
#: other: a JSON list, one JUnit file, one results.json per course platform, one job summary with an overview.
COMBINED: dict[str, Callable[[Sequence[Report]], str]] = {
    "json": json_report.render_list,
    "junit": lambda reports: junit.render_all(list(reports)),
    "gradescope": gradescope.render_all,
    "prairielearn": prairielearn.render_all,
    "github-summary": github_summary.render_all,
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
    """Several reports (`grade --all`) as one document (COMBINED), or each report in turn. One report is the same
    document as `render` gives, except JUnit, which is always a <testsuites> file."""
    reporter = _reporter(fmt)  # an unknown format is refused before anything is joined
    if fmt == "junit" or (fmt in COMBINED and len(reports) > 1):
        return COMBINED[fmt](reports)
    return "\n".join(reporter(report) for report in reports)
