"""The notebook renderer: the one HTML drawing of a Report (check table, size chart, totals).

The model holds no HTML; this module turns a Report into HTML, and everything in a notebook that shows a grade
(the grade panel, `check_list`, the course's feedback, the class reports) draws it with these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.model import Report, Status
from grader.reporters.sanitize import html_escape as escape
from grader.units import human_bytes

__all__ = [
    "SizeBar",
    "TABLE_STYLE",
    "check_table_html",
    "format_measured",
    "lesson_href",
    "render_html",
    "show",
    "size_bars",
    "size_chart_html",
]

_GREEN, _RED, _PURPLE, _AMBER, _GREY = "#1a7f37", "#cf222e", "#8250df", "#9a6700", "#57606a"
_STATUS_MARK = {Status.PASS: ("&#10004;", _GREEN), Status.FAIL: ("&#10008;", _RED),
                Status.ERROR: ("!", _PURPLE), Status.SKIPPED: ("&ndash;", _AMBER)}

#: Table styling for outputs that JupyterLab's own styles do not reach (widget HTML, plain viewers).
TABLE_STYLE = ("<style>.ddw-table,.ddw-check-table,.ddw-layer-table,.ddw-pull,.ddw-quick-wins"
               "{border-collapse:collapse;margin:4px 0;font-size:90%}"
               ".ddw-table td,.ddw-table th,.ddw-check-table td,.ddw-check-table th,.ddw-layer-table td,"
               ".ddw-layer-table th,.ddw-pull td,.ddw-pull th,.ddw-quick-wins td,.ddw-quick-wins th"
               "{padding:3px 8px;border-bottom:1px solid #d0d7de;vertical-align:top;text-align:left}"
               ".ddw-table th,.ddw-check-table th,.ddw-layer-table th,.ddw-pull th,.ddw-quick-wins th"
               "{background:#f6f8fa}"
               ".ddw-check-list,.ddw-layers,.ddw-layer-files,.ddw-size-chart,.ddw-table,.ddw-pull,.ddw-quick-wins"
               "{line-height:1.4}</style>")


def lesson_href(lesson: str) -> str:
    """'lessons/02-x.ipynb#Result' -> '02-x.ipynb#Result' (a link from one lesson to another)."""
    path, _, anchor = lesson.partition("#")
    href = path.removeprefix("lessons/")
    return href + ("#" + anchor.replace(" ", "-") if anchor else "")


def format_measured(value: object, limit: int = 90) -> str:
    """A check's `measured` value as a short line: lists joined, dicts as `key: value`."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) or "none"
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _error_html(report: Report) -> str:
    if report.error is None:
        return ""
    html = (f"<p style='color:{_RED}'><b>Could not grade</b> ({escape(report.error.kind)}): "
            f"{escape(report.error.message)}</p>")
    if report.error.log_tail:
        html += "<pre style='max-height:14em;overflow:auto'>" + escape("\n".join(report.error.log_tail)) + "</pre>"
    return html


def _check_row(check: Any, links: bool) -> str:
    mark, colour = _STATUS_MARK[check.status]
    points = f"{check.points:g}/{check.max_points:g}" + (" bonus" if check.bonus else "")
    detail = escape(check.message)
    if check.hint:
        detail += f"<br><b>Next:</b> {escape(check.hint)}"
    if links:
        detail += f" <a href='{escape(lesson_href(check.lesson))}' style='font-size:85%'>lesson</a>"
    else:
        detail += f"<br><small>{escape(check.lesson)}</small>"
    return (f"<tr class='ddw-check ddw-{check.status.value}' data-check='{escape(check.id)}'>"
            f"<td style='color:{colour};font-weight:bold;text-align:center'>{mark}</td>"
            f"<td><code>{escape(check.id)}</code><br><small>{escape(check.title)}</small></td>"
            f"<td style='text-align:right;white-space:nowrap'>{points}</td>"
            f"<td>{escape(format_measured(check.measured))}</td>"
            f"<td>{escape(format_measured(check.threshold))}</td><td>{detail}</td></tr>")


def check_table_html(report: Report, only: Sequence[str] | None = None, *, links: bool = True) -> str:
    """Every check (or `only` those ids): status, points, measured, threshold, message, next step, lesson;
    then the total. `links` makes the lesson a link (inside lessons/), else plain text."""
    parts = [f"<div class='ddw-check-list'><b>Checks for {escape(report.exercise)}</b>", _error_html(report)]
    rows = [_check_row(c, links) for c in report.checks if only is None or c.id in only]
    if rows:
        parts.append("<table class='ddw-check-table'><thead><tr><th></th><th>check</th><th>points</th>"
                     "<th>measured</th><th>threshold</th><th>details</th></tr></thead><tbody>"
                     + "".join(rows) + "</tbody></table>")
    if report.graded and only is None:
        passed = sum(c.passed for c in report.checks if c.scored)
        scored = sum(1 for c in report.checks if c.scored and c.status is not Status.SKIPPED)
        parts.append(f"<p class='ddw-total'><b>Total: {report.score:g} / {report.max_score:g} points "
                     f"({report.percent:g}%)</b>, {passed} of {scored} scored checks passed.</p>")
    parts.append("</div>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------- size chart
@dataclass(frozen=True)
class SizeBar:
    """One bar of a size chart."""

    label: str
    size_bytes: int
    kind: str  # "article" | "naive" | "current" | "reference" | "other"


_BAR_COLOUR = {"article": "#8c959f", "naive": _RED, "current": "#0969da", "reference": _GREEN, "other": _AMBER}


def size_bars(report: Report, reference: Report | None = None, current_label: str = "you: now") -> list[SizeBar]:
    """The article's before/after (from grading.toml) beside the naive and graded image (and the reference)."""
    bars: list[SizeBar] = []
    cmp = report.comparison
    if cmp is not None and report.project is not None:  # a learner's own project: no article, their before
        if cmp.naive_bytes:
            bars.append(SizeBar("your before", cmp.naive_bytes, "naive"))
    elif cmp is not None:
        bars.append(SizeBar("article: before", cmp.article.before_bytes, "article"))
        bars.append(SizeBar("article: after", cmp.article.after_bytes, "article"))
        if cmp.naive_bytes:
            bars.append(SizeBar("naive start", cmp.naive_bytes, "naive"))
    if report.image_size_bytes:
        bars.append(SizeBar(current_label, report.image_size_bytes, "current"))
    if reference is not None and reference.image_size_bytes:
        bars.append(SizeBar("reference solution", reference.image_size_bytes, "reference"))
    return bars


def size_chart_html(bars: Sequence[SizeBar], title: str = "Image size") -> str:
    """Horizontal bars on one scale, each labelled with its size (decimal units, as `docker images`)."""
    if not bars:
        return "<div class='ddw-size-chart'><i>No sizes yet: grade an image first.</i></div>"
    top = max(bar.size_bytes for bar in bars) or 1
    rows = []
    for bar in bars:
        width = max(0.5, 100.0 * bar.size_bytes / top)
        rows.append(
            "<div style='display:flex;align-items:center;margin:2px 0'>"
            f"<div style='width:11em;font-size:90%'>{escape(bar.label)}</div><div style='flex:1'>"
            f"<div class='ddw-bar ddw-bar-{bar.kind}' style='width:{width:.1f}%;background:"
            f"{_BAR_COLOUR.get(bar.kind, _GREY)};height:1.1em;border-radius:2px'></div></div>"
            f"<div style='width:6em;text-align:right;font-family:monospace'>{human_bytes(bar.size_bytes)}</div>"
            "</div>")
    return (f"<div class='ddw-size-chart' style='max-width:46em'><b>{escape(title)}</b>"
            + "".join(rows) + "</div>")


# --------------------------------------------------------------------------------------------- whole report
def render_html(report: Report, *, links: bool = False) -> str:
    """A self-contained HTML page body of the report: score, check table, the article comparison."""
    parts = [TABLE_STYLE, f"<h3>Grade for {escape(report.exercise)}</h3>"]
    if report.error is None:
        parts.append(f"<p><b>Score: {report.score:g}/{report.max_score:g} ({report.percent:g}%)</b></p>")
    parts.append(check_table_html(report, links=links))
    if report.comparison is not None and report.project is not None:
        cmp = report.comparison
        parts.append(f"<p>Your project: {human_bytes(cmp.naive_bytes) if cmp.naive_bytes else '?'} &rarr; "
                     f"{human_bytes(cmp.current_bytes) if cmp.current_bytes else '?'} "
                     f"(before: {escape(report.project.baseline_source)}).</p>")
    elif report.comparison is not None:
        cmp = report.comparison
        parts.append(
            f"<p>Article: {human_bytes(cmp.article.before_bytes)} &rarr; {human_bytes(cmp.article.after_bytes)}. "
            f"You: {human_bytes(cmp.naive_bytes) if cmp.naive_bytes else '?'} &rarr; "
            f"{human_bytes(cmp.current_bytes) if cmp.current_bytes else '?'}.</p>")
    return "\n".join(parts)


def show(report: Report) -> Any:
    """Display the report in a notebook: an ipywidgets HTML widget when installed, plain HTML otherwise."""
    html = render_html(report, links=True)
    try:
        import ipywidgets  # type: ignore[import-untyped]

        return ipywidgets.HTML(value=html)
    except ImportError:
        from IPython.display import HTML

        return HTML(html)  # type: ignore[no-untyped-call]
