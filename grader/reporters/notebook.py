"""The notebook renderer: HTML built here from a Report (the model holds no HTML), shown with ipywidgets
where available and as plain HTML otherwise. Also a progress callback for builds in a notebook."""

from __future__ import annotations

from typing import Any

from grader.build import BuildEvent, ProgressCallback
from grader.model import Report, Status
from grader.reporters.sanitize import html_escape as escape
from grader.units import human_bytes

_COLOUR = {Status.PASS: "#1a7f37", Status.FAIL: "#cf222e", Status.ERROR: "#8250df", Status.SKIPPED: "#9a6700"}


def render_html(report: Report) -> str:
    """A self-contained HTML table of the report."""
    parts = [f"<h3>Grade for {escape(report.exercise)}</h3>"]
    if report.error is not None:
        parts.append(f"<p style='color:#cf222e'><b>Could not grade</b> ({escape(report.error.kind)}): "
                     f"{escape(report.error.message)}</p>")
        if report.error.log_tail:
            parts.append("<pre>" + escape("\n".join(report.error.log_tail)) + "</pre>")
    else:
        parts.append(f"<p><b>Score: {report.score:g}/{report.max_score:g} ({report.percent:g}%)</b></p>")
    rows = []
    for c in report.checks:
        hint = f"<br><i>next:</i> {escape(c.hint)}" if c.hint else ""
        rows.append(
            f"<tr><td style='color:{_COLOUR[c.status]}'><b>{c.status.value}</b></td><td>{escape(c.id)}</td>"
            f"<td>{escape(str(c.measured))[:120]}</td><td>{escape(str(c.threshold))}</td>"
            f"<td>{c.points:g}/{c.max_points:g}</td><td>{escape(c.message)}{hint}<br>"
            f"<small>{escape(c.lesson)}</small></td></tr>"
        )
    if rows:
        parts.append("<table><tr><th></th><th>check</th><th>measured</th><th>threshold</th><th>points</th>"
                     "<th>details</th></tr>" + "".join(rows) + "</table>")
    if report.comparison is not None:
        cmp = report.comparison
        parts.append(
            f"<p>Article: {human_bytes(cmp.article.before_bytes)} &rarr; {human_bytes(cmp.article.after_bytes)}. "
            f"You: {human_bytes(cmp.naive_bytes) if cmp.naive_bytes else '?'} &rarr; "
            f"{human_bytes(cmp.current_bytes) if cmp.current_bytes else '?'}.</p>"
        )
    return "\n".join(parts)


def show(report: Report) -> Any:
    """Display the report in a notebook: an ipywidgets HTML widget when installed, plain HTML otherwise."""
    html = render_html(report)
    try:
        import ipywidgets  # type: ignore[import-untyped]

        return ipywidgets.HTML(value=html)
    except ImportError:
        from IPython.display import HTML  # type: ignore[attr-defined]

        return HTML(html)  # type: ignore[no-untyped-call]


def notebook_progress() -> ProgressCallback:
    """A build progress callback for notebooks: a widget label when ipywidgets exists, else print."""
    try:
        import ipywidgets
        from IPython.display import display
    except ImportError:
        return lambda event: print(event.text)
    label = ipywidgets.Label(value="building ...")
    bar = ipywidgets.IntProgress(min=0, max=1, value=0)
    display(ipywidgets.VBox([bar, label]))  # type: ignore[no-untyped-call]

    def update(event: BuildEvent) -> None:
        label.value = event.text[:160]
        if event.step and event.total:
            bar.max, bar.value = event.total, event.step

    return update
