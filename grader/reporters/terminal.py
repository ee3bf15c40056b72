"""The terminal report: a rich table of checks, then hints and lessons, then the article comparison.

Colour only on a TTY: `print_report` lets rich detect the terminal; `render` returns plain text.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape as _markup_escape
from rich.table import Table

from grader.model import ImageRead, Report, Status
from grader.reporters.plain import brief_value, comparison_heading, comparison_rows, points_text
from grader.reporters.sanitize import strip_control
from grader.units import human_bytes

__all__ = ["escape", "print_report", "read_line", "render"]

_MARK = {Status.PASS: "[green]PASS[/]", Status.FAIL: "[red]FAIL[/]", Status.ERROR: "[magenta]ERROR[/]",
         Status.SKIPPED: "[yellow]SKIP[/]"}


def escape(text: object) -> str:
    """Rich markup escaped, and no terminal escapes or control characters from a submission's output."""
    return _markup_escape(strip_control(text))


def print_report(report: Report, console: Console | None = None) -> None:
    """Print the whole report to `console` (default: stdout, coloured on a TTY)."""
    console = console or Console()
    if report.error is not None and (not report.checks or report.build is None and report.error.kind not in (
            "build-failed", "build-timeout")):
        console.print(f"[bold red]Could not grade {report.exercise}[/] ({report.error.kind}): "
                      f"{escape(report.error.message)}")
        return
    table = Table(title=f"Grade for {report.exercise}", title_justify="left")
    for column, justify in (("", "left"), ("check", "left"), ("measured", "left"), ("threshold", "left"),
                            ("points", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for check in report.checks:
        table.add_row(_MARK[check.status], check.id, escape(brief_value(check.measured)[:60]),
                      escape(brief_value(check.threshold)[:40]), points_text(check))
    console.print(table)
    misses = [] if report.error else [c for c in report.checks if c.status is not Status.PASS]
    for check in misses:
        console.print(f"[bold]{check.id}[/]: {escape(check.message)}")
        if check.hint:
            console.print(f"  next: {escape(check.hint)}")
        console.print(f"  lesson: {escape(check.lesson)}")
    if report.error is not None:
        console.print(f"\n[bold red]Could not grade[/] ({report.error.kind}): {escape(report.error.message)}")
        if report.error.log_tail:
            console.print("Last log lines:")
            for line in report.error.log_tail:
                console.print(f"  {strip_control(line)}", markup=False, highlight=False)
    else:
        colour = "green" if report.passed else "yellow"
        bonus = sum(c.points for c in report.checks if c.bonus)
        extra = f" + {bonus:g} bonus" if bonus else ""
        console.print(f"\n[bold {colour}]Score: {report.score - bonus:g}/{report.max_score:g}{extra} "
                      f"({report.percent:g}%)[/]")
    if report.image_read is not None:
        console.print(f"[dim]{escape(read_line(report.image_read))}[/]")
    _print_comparison(report, console)


def read_line(read: ImageRead) -> str:
    """One line saying how the image was read: 'Image read from the overlay2 folders (...)', or a streamed save."""
    how = "from the engine's overlay2 folders" if read.source == "overlay2" else "through one streamed docker save"
    store = f"; containerd image store, {human_bytes(read.content_bytes)} of compressed content" \
        if read.content_bytes else ("; containerd image store" if read.image_store == "containerd" else "")
    return f"Image read {how} ({read.reason}); engine over {read.transport}{store}."


def _print_comparison(report: Report, console: Console) -> None:
    rows = comparison_rows(report)
    if not rows:
        return
    title, first, second = comparison_heading(report)
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column(first, justify="right")
    table.add_column(second, justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def render(report: Report) -> str:
    """The report as plain text (no colour), e.g. for --output FILE."""
    buffer = io.StringIO()
    print_report(report, Console(file=buffer, width=120, color_system=None, force_terminal=False))
    return buffer.getvalue()
