"""The grade panel (a Build-and-grade button, live progress, the build log, the size chart and the check table)
and the collapsed "Compare with the reference" section. Both grade through grader.api.grade and draw the
Report with grader.reporters.notebook."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.api import GradeConfig, grade
from grader.model import Report
from grader.notebook.widgets import (
    html,
    ipywidgets_module,
    layer_explorer,
    with_fallback,
)
from grader.reporters.notebook import (
    TABLE_STYLE,
    check_table_html,
    size_bars,
    size_chart_html,
)
from grader.reporters.sanitize import html_escape as escape
from grader.units import human_seconds

__all__ = [
    "GradeFunction",
    "GradePanel",
    "LOG_LINES",
    "ReferenceSection",
    "compare_with_reference",
    "grade_panel",
    "grade_quietly",
    "lesson_config",
    "live_view",
]

LOG_LINES = 400  # lines the collapsible log keeps
GradeFunction = Callable[..., Report]


def live_view() -> tuple[str, str] | None:
    """The workshop's live view and this learner's token, when the instructor gave them (WORKSHOP_SERVE_URL and
    WORKSHOP_TOKEN in the lab's environment): the panel then offers "Submit to the room"."""
    url, token = os.environ.get("WORKSHOP_SERVE_URL"), os.environ.get("WORKSHOP_TOKEN")
    return (url, token) if url and token else None


def lesson_config(exercise: str, dockerfile: str | Path | None = None, *, config: GradeConfig | None = None,
                  role: str = "lesson") -> GradeConfig:
    """The GradeConfig the lessons grade with: a tag per role (docker-diet-workshop/<app>:<role>), so grading
    the reference never replaces the learner's image; BuildKit (buildx) where `docker buildx` works, as Docker
    builds by default since Engine 23, and the classic builder as the fallback where it does not (the "auto"
    back end of grader.engine.build.choose_builder decides, on every grade)."""
    config = config or GradeConfig()
    if config.tag is None:
        config = replace(config, tag=f"docker-diet-workshop/{exercise}:{role}")
    return config


def grade_quietly(exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                  *, config: GradeConfig | None = None, role: str = "lesson") -> Report:
    """Grade without a panel, when a lesson only needs the numbers (same tags and builder as grade_panel)."""
    return grade(exercise, dockerfile, dockerignore, config=lesson_config(exercise, dockerfile, config=config,
                                                                           role=role))


class GradePanel:
    """Build-and-grade for one Dockerfile. `run()` grades at once (a headless run goes straight through); the
    button grades again after the learner edits and saves the file. `report` holds the latest Report."""

    def __init__(self, exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                 *, reference: Report | None = None, title: str | None = None, role: str = "lesson",
                 grade_function: GradeFunction | None = None) -> None:
        self.exercise, self.role = exercise, role
        self.dockerfile, self.dockerignore, self.reference = dockerfile, dockerignore, reference
        self._label = "you: now" if role == "lesson" else f"{role}: now"
        self.title = title or f"Grade {exercise}: {dockerfile or f'exercises/{exercise}/Dockerfile'}"
        self.report: Report | None = None
        self.runs = 0
        self._grade = grade_function or grade
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._last_flush = 0.0
        self._handle: Any = None  # the display, updated after each grade so saved notebooks keep the result
        self._watcher: Any = None  # grader/notebook/watch.py's PanelWatcher while the Watch toggle is on
        self._w = ipywidgets_module()
        if self._w is not None:
            self._build_widgets(self._w)

    def _build_widgets(self, w: Any) -> None:
        self.button = w.Button(description="Build and grade", icon="hammer", button_style="primary")
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="24em"))
        self.status = w.HTML(value="<i>not graded yet</i>")
        self.log = w.HTML(value="<pre></pre>")
        self.log_box = w.Accordion(children=[self.log], selected_index=None)
        self.log_box.set_title(0, "build log")
        self.checks, self.chart = w.HTML(value=""), w.HTML(value="")
        self.button.on_click(lambda _button: self.run())
        self.watch = w.ToggleButton(description="Watch", icon="eye", tooltip="Grade again on every save")
        self.watch.observe(self._toggle_watch, names="value")
        buttons = [self.button, self.watch]
        if live_view() is not None:
            self.submit_button = w.Button(description="Submit to the room", icon="upload")
            self.submit_button.on_click(lambda _button: self.submit())
            buttons.append(self.submit_button)
        self.widget = w.VBox([w.HTML(value=f"<b>{escape(self.title)}</b>"), w.HBox([*buttons, self.bar,
                              self.status]), self.log_box, self.chart, self.checks],
                             layout=w.Layout(border="1px solid #d0d7de", padding="6px"))
        with_fallback(self.widget, lambda: f"<b>{escape(self.title)}</b>" + self.chart.value + self.checks.value)

    def _toggle_watch(self, change: Any) -> None:
        """The Watch toggle: regrade on every save of the Dockerfile or ignore file (grader/notebook/watch.py)."""
        from grader.notebook.watch import PanelWatcher

        if self._watcher is not None:
            self._watcher.stop()
        self._watcher = PanelWatcher(self) if change["new"] else None
        if self._watcher is not None:
            self._watcher.start()

    def _progress(self, event: Any) -> None:
        self._log.append(str(event.text))
        if self._w is None:
            return
        if event.step and event.total:
            self.bar.max, self.bar.value = event.total, min(event.step, event.total)
        now = time.monotonic()
        if now - self._last_flush > 0.5:  # a build prints thousands of lines; redraw twice a second
            self._last_flush = now
            self.status.value = escape(str(event.text)[:90])
            self.log.value = "<pre style='max-height:18em;overflow:auto'>" + escape("\n".join(self._log)) + "</pre>"

    def run(self) -> Report:
        """Build, inspect, run and check; then redraw the chart and the check table."""
        self._log.clear()
        if self._w is not None:
            self.button.disabled, self.bar.bar_style, self.bar.value = True, "info", 0
            self.status.value = "<i>building ...</i>"
        started = time.monotonic()
        try:  # the builder is decided on every run: the learner may have added BuildKit-only syntax
            config = lesson_config(self.exercise, self.dockerfile, role=self.role)
            report = self._grade(self.exercise, self.dockerfile, self.dockerignore, config=config,
                                 progress=self._progress)
        finally:
            if self._w is not None:
                self.button.disabled = False
        self.report, self.runs = report, self.runs + 1
        took = human_seconds(time.monotonic() - started)
        summary = f"grade #{self.runs}: " + (f"could not grade: {report.error.kind}" if report.error is not None
                                              else f"{report.score:g}/{report.max_score:g} points in {took}")
        self._redraw(summary)
        return report

    def submit(self) -> str:
        """Send this Dockerfile (and its ignore file) to the workshop's live view; the room grades it there."""
        from grader.serve.client import SubmitError, learner_files, submit_files

        target = live_view()
        if target is None:
            said = "No live view: the instructor gives WORKSHOP_SERVE_URL and WORKSHOP_TOKEN."
        else:
            try:
                path = Path(self.dockerfile) if self.dockerfile else None
                ignore = Path(self.dockerignore) if self.dockerignore else None
                row = submit_files(*target, self.exercise, learner_files(self.exercise, path, ignore))
                place = f", number {row['position']} in line" if row.get("position") else ""
                said = f"Submitted: {row['state']}{place}. Your results: {target[0].rstrip('/')}/me"
            except SubmitError as exc:
                said = str(exc)
        if self._w is not None:
            self.status.value = escape(said)
        return said

    def _redraw(self, summary: str) -> None:
        assert self.report is not None
        chart = size_chart_html(size_bars(self.report, self.reference, self._label), f"Image size: {self.exercise}")
        checks = TABLE_STYLE + check_table_html(self.report)
        if self._w is None:
            from IPython.display import HTML, display

            display(HTML(f"<p>{escape(summary)}</p>" + chart + checks))  # type: ignore[no-untyped-call]
            return
        self.bar.bar_style = "danger" if self.report.error is not None else "success"
        self.bar.value = self.bar.max
        self.status.value = escape(summary)
        self.log.value = "<pre style='max-height:18em;overflow:auto'>" + escape("\n".join(self._log)) + "</pre>"
        self.chart.value, self.checks.value = chart, checks
        if self._handle is not None:
            self._handle.update(self.widget)  # refreshes the text/html fallback stored with the output


def grade_panel(exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                *, reference: Report | None = None, title: str | None = None, role: str = "lesson",
                run: bool = True) -> GradePanel:
    """Show a grade panel and grade now."""
    from IPython.display import display

    panel = GradePanel(exercise, dockerfile, dockerignore, reference=reference, title=title, role=role)
    if panel._w is not None:
        panel._handle = display(panel.widget, display_id=True)  # type: ignore[no-untyped-call]
    if run:
        panel.run()
    return panel


class ReferenceSection:
    """"Compare with the reference": collapsed until the learner opens it; opening it grades the reference
    (solutions/<app>) and shows its Dockerfile, its checks, both sizes and its layers."""

    def __init__(self, exercise: str, mine: GradePanel, solutions: str | Path = "../solutions") -> None:
        self.exercise, self.mine = exercise, mine
        self.dockerfile = Path(solutions) / exercise / "Dockerfile"
        self.dockerignore = Path(solutions) / exercise / "Dockerfile.dockerignore"
        self.report: Report | None = None
        w = ipywidgets_module()
        self._w = w
        if w is not None:
            self.body = w.VBox([w.HTML(value="<i>Open this section to grade the reference.</i>")])
            self.widget = w.Accordion(children=[self.body], selected_index=None)
            self.widget.set_title(0, "Compare with the reference (opens on request)")
            with_fallback(self.widget, lambda: "<p class='ddw-reference-closed'><b>Compare with the reference</b> "
                          "(opens on request in JupyterLab)</p>")
            self.widget.observe(lambda change: self.open() if change["new"] == 0 else None, names="selected_index")

    def open(self) -> Report:
        """Grade the reference (once) and show it beside the learner's latest grade."""
        if self.report is None:
            self.report = grade_quietly(self.exercise, self.dockerfile, self.dockerignore, role="reference")
        dockerfile = (f"<details><summary><b>{escape(str(self.dockerfile))}</b> (click to read)</summary>"
                      f"<pre>{escape(self.dockerfile.read_text())}</pre></details>")
        parts = [html(size_chart_html(size_bars(self.mine.report or self.report, self.report),
                                      f"Image size: {self.exercise}, yours and the reference")),
                 html(check_table_html(self.report)), html(dockerfile),
                 layer_explorer(self.report, "Reference layers")]
        if self._w is not None:
            self.body.children = parts
            self.widget.selected_index = 0
        return self.report


def compare_with_reference(exercise: str, mine: GradePanel) -> Any:
    """The collapsed reference section (a widget; without ipywidgets, a note on where the reference is)."""
    section = ReferenceSection(exercise, mine)
    if section._w is None:
        return html(f"<p>The reference is in <code>{escape(str(section.dockerfile))}</code>.</p>")
    return section.widget
