"""Reporters only read a Report; one module per format, chosen from one mapping."""

from __future__ import annotations

from collections.abc import Callable

from grader.errors import UnknownFormat
from grader.model import Report
from grader.reporters import json_report, junit, notebook, terminal

__all__ = ["REPORTERS", "render"]

#: format name -> function(Report) -> text. The CLI's --format choices come from here.
REPORTERS: dict[str, Callable[[Report], str]] = {
    "table": terminal.render,
    "json": json_report.render,
    "junit": junit.render,
    "html": notebook.render_html,
}


def render(report: Report, fmt: str) -> str:
    """The report in `fmt`; an unknown format (UnknownFormat, a ValueError) names the valid ones."""
    try:
        reporter = REPORTERS[fmt]
    except KeyError:
        raise UnknownFormat(f"Unknown format {fmt!r}. Valid formats: {', '.join(sorted(REPORTERS))}.") from None
    return reporter(report)
