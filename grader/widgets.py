"""The lessons' widgets: a grade panel, a size chart, a layer explorer and a check list.

Each piece is an adapter at the edge: it reads a Report (or ImageFacts) and draws it. The drawing is plain HTML
made by the pure functions at the top of this module (tested without Docker or a browser); ipywidgets only adds
the live parts (the button, the progress bar, the collapsible log, the layer picker). Where ipywidgets is not
installed, every piece degrades to the same HTML, or to text outside a notebook.

Nothing here waits for a browser: a panel grades as soon as it is shown, so a notebook executed headless
(nbclient, CI) runs straight through; the button only matters to a learner who wants to grade again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from types import ModuleType
from typing import Any

from grader.model import ImageFacts, Report, Status
from grader.units import human_bytes, human_seconds

_GREEN, _RED, _PURPLE, _AMBER, _GREY = "#1a7f37", "#cf222e", "#8250df", "#9a6700", "#57606a"
_STATUS_MARK = {Status.PASS: ("&#10004;", _GREEN), Status.FAIL: ("&#10008;", _RED),
                Status.ERROR: ("!", _PURPLE), Status.SKIPPED: ("&ndash;", _AMBER)}
LOG_LINES = 400  # lines the collapsible log keeps

#: Table styling for outputs that JupyterLab's own HTML styles do not reach (widget HTML, plain viewers).
TABLE_STYLE = ("<style>.ddw-table,.ddw-check-table,.ddw-layer-table,.ddw-pull,.ddw-quick-wins"
               "{border-collapse:collapse;margin:4px 0;font-size:90%}"
               ".ddw-table td,.ddw-table th,.ddw-check-table td,.ddw-check-table th,.ddw-layer-table td,"
               ".ddw-layer-table th,.ddw-pull td,.ddw-pull th,.ddw-quick-wins td,.ddw-quick-wins th"
               "{padding:3px 8px;border-bottom:1px solid #d0d7de;vertical-align:top;text-align:left}"
               ".ddw-table th,.ddw-check-table th,.ddw-layer-table th,.ddw-pull th,.ddw-quick-wins th"
               "{background:#f6f8fa}"
               ".ddw-check-list,.ddw-layers,.ddw-layer-files,.ddw-size-chart,.ddw-table,.ddw-pull,.ddw-quick-wins"
               "{line-height:1.4}</style>")


def ipywidgets_module() -> ModuleType | None:
    """ipywidgets when installed, else None (every piece then falls back to plain HTML)."""
    import importlib

    try:
        return importlib.import_module("ipywidgets")
    except ImportError:
        return None


# ============================================================================================ pure HTML
@dataclass(frozen=True)
class SizeBar:
    """One bar of the size chart."""

    label: str
    size_bytes: int
    kind: str  # "article" | "naive" | "current" | "reference" | "other"


_BAR_COLOUR = {"article": "#8c959f", "naive": "#cf222e", "current": "#0969da", "reference": "#1a7f37",
               "other": "#9a6700"}


def size_bars(report: Report, reference: Report | None = None, current_label: str = "you: now") -> list[SizeBar]:
    """Article before/after beside the learner's naive and current image (and the reference, when given).
    `current_label` names the graded image when it is not the learner's (the reference, a variant)."""
    bars: list[SizeBar] = []
    cmp = report.comparison
    if cmp is not None:
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
            f"<div style='width:11em;font-size:90%'>{escape(bar.label)}</div>"
            "<div style='flex:1'>"
            f"<div class='ddw-bar ddw-bar-{bar.kind}' style='width:{width:.1f}%;background:"
            f"{_BAR_COLOUR.get(bar.kind, _GREY)};height:1.1em;border-radius:2px'></div></div>"
            f"<div style='width:6em;text-align:right;font-family:monospace'>{human_bytes(bar.size_bytes)}</div>"
            "</div>"
        )
    return (f"<div class='ddw-size-chart' style='max-width:46em'><b>{escape(title)}</b>"
            + "".join(rows) + "</div>")


def lesson_href(lesson: str) -> str:
    """'lessons/02-x.ipynb#Result' -> '02-x.ipynb#Result' (notebooks open from lessons/)."""
    path, _, anchor = lesson.partition("#")
    href = path.removeprefix("lessons/")
    return href + ("#" + anchor.replace(" ", "-") if anchor else "")


def format_measured(value: object, limit: int = 90) -> str:
    """A check's `measured` value as a short line of text: lists joined, dicts as `key: value`."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
    elif isinstance(value, list):
        text = ", ".join(str(v) for v in value) or "none"
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _cell(value: object, limit: int = 90) -> str:
    return escape(format_measured(value, limit))


def check_list_html(report: Report, only: Sequence[str] | None = None) -> str:
    """Pass/fail, points, what was measured, the hint and the lesson link of every check (or `only` those ids);
    then the total."""
    parts = [f"<div class='ddw-check-list'><b>Checks for {escape(report.exercise)}</b>"]
    if report.error is not None:
        parts.append(f"<p style='color:{_RED}'><b>Could not grade</b> ({escape(report.error.kind)}): "
                     f"{escape(report.error.message)}</p>")
        if report.error.log_tail:
            parts.append("<pre style='max-height:14em;overflow:auto'>"
                         + escape("\n".join(report.error.log_tail)) + "</pre>")
    rows = []
    for c in report.checks:
        if only is not None and c.id not in only:
            continue
        mark, colour = _STATUS_MARK[c.status]
        points = f"{c.points:g}/{c.max_points:g}" + (" bonus" if c.bonus else "")
        detail = escape(c.message)
        if c.hint:
            detail += f"<br><b>Next:</b> {escape(c.hint)}"
        detail += f" <a href='{escape(lesson_href(c.lesson))}' style='font-size:85%'>lesson</a>"
        rows.append(
            f"<tr class='ddw-check ddw-{c.status.value}' data-check='{escape(c.id)}'>"
            f"<td style='color:{colour};font-weight:bold;text-align:center'>{mark}</td>"
            f"<td style='text-align:left'><code>{escape(c.id)}</code><br><small>{escape(c.title)}</small></td>"
            f"<td style='text-align:right;white-space:nowrap'>{points}</td>"
            f"<td style='text-align:left'>{_cell(c.measured)}</td>"
            f"<td style='text-align:left'>{detail}</td></tr>"
        )
    if rows:
        parts.append("<table class='ddw-check-table'><thead><tr><th></th><th>check</th><th>points</th>"
                     "<th>measured</th><th>details</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    if report.graded and only is None:
        passed = sum(c.passed for c in report.checks if c.scored)
        scored = sum(1 for c in report.checks if c.scored and c.status is not Status.SKIPPED)
        parts.append(f"<p class='ddw-total'><b>Total: {report.score:g} / {report.max_score:g} points "
                     f"({report.percent:g}%)</b>, {passed} of {scored} scored checks passed.</p>")
    parts.append("</div>")
    return "".join(parts)


def check_list_text(report: Report) -> str:
    """The same list as text (no notebook)."""
    lines = [f"Checks for {report.exercise}"]
    if report.error is not None:
        lines.append(f"Could not grade ({report.error.kind}): {report.error.message}")
    for c in report.checks:
        lines.append(f"  [{c.status.value:>7}] {c.id:<24} {c.points:g}/{c.max_points:g}  {c.message}")
        if c.hint:
            lines.append(f"            next: {c.hint}")
    if report.graded:
        lines.append(f"Total: {report.score:g} / {report.max_score:g} ({report.percent:g}%)")
    return "\n".join(lines)


@dataclass(frozen=True)
class LayerRow:
    """One layer as the explorer shows it."""

    index: int
    size_bytes: int
    instruction: str
    from_base: bool
    wasted_bytes: int  # bytes this layer adds that a later layer overwrites or deletes


def layer_rows(facts: ImageFacts) -> list[LayerRow]:
    """Per-layer size, the instruction that made it, and the bytes later layers overwrote or deleted."""
    rows = []
    for index, layer in enumerate(facts.layers):
        wasted = 0
        for path, entry in layer.files.items():
            if entry.kind == "dir" or not entry.size:
                continue
            final = facts.merged.get(path)
            if final is None or final.layer != index:
                wasted += entry.size
        rows.append(LayerRow(index, layer.size_bytes, layer.instruction, layer.from_base, wasted))
    return rows


def layer_table_html(rows: Sequence[LayerRow], title: str = "Layers, bottom to top") -> str:
    """The layer table: base layers greyed, wasted bytes in red."""
    body = []
    for row in rows:
        style = f"color:{_GREY}" if row.from_base else ""
        waste = (f"<span style='color:{_RED}'>{human_bytes(row.wasted_bytes)}</span>" if row.wasted_bytes else "")
        body.append(
            f"<tr class='ddw-layer' style='{style}'><td>{row.index + 1}</td>"
            f"<td style='text-align:right;font-family:monospace'>{human_bytes(row.size_bytes)}</td>"
            f"<td style='text-align:right;font-family:monospace'>{waste}</td>"
            f"<td style='text-align:left'><code>{_cell(row.instruction, 110)}</code>"
            f"{' <small>(base image)</small>' if row.from_base else ''}</td></tr>"
        )
    total = sum(row.size_bytes for row in rows)
    wasted = sum(row.wasted_bytes for row in rows)
    return (f"<div class='ddw-layers'><b>{escape(title)}</b><table class='ddw-layer-table'><thead><tr><th>#</th>"
            "<th>size</th><th>wasted</th><th>instruction</th></tr></thead><tbody>" + "".join(body)
            + f"</tbody></table><small>{len(rows)} layers, {human_bytes(total)} of files, "
            f"{human_bytes(wasted)} of them overwritten or deleted by a later layer.</small></div>")


def largest_files_html(facts: ImageFacts, index: int, top: int = 12) -> str:
    """The biggest files one layer adds, marking those that a later layer hides (they still ship)."""
    layer = facts.layers[index]
    files = sorted(((path, entry.size) for path, entry in layer.files.items() if entry.kind == "file"),
                   key=lambda item: -item[1])[:top]
    rows = []
    for path, size in files:
        final = facts.merged.get(path)
        hidden = final is None or final.layer != index
        note = f" <span style='color:{_RED}'>(hidden by a later layer, still shipped)</span>" if hidden else ""
        rows.append(f"<tr><td style='text-align:right;font-family:monospace'>{human_bytes(size)}</td>"
                    f"<td style='text-align:left'><code>/{escape(path)}</code>{note}</td></tr>")
    deleted = "".join(f"<li><code>/{escape(p)}</code></li>" for p in sorted(layer.deleted)[:top])
    return (f"<div class='ddw-layer-files'><b>Layer {index + 1}:</b> <code>{_cell(layer.instruction, 110)}</code>"
            f"<table>{''.join(rows) or '<tr><td>no files</td></tr>'}</table>"
            + (f"<small>This layer deletes (the bytes stay in the layer below):</small><ul>{deleted}</ul>"
               if deleted else "") + "</div>")


# ============================================================================================ display
def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)  # type: ignore[no-untyped-call]


def _with_fallback(widget: Any, fallback: Callable[[], str]) -> Any:
    """Give a widget a text/html fallback in its display bundle: JupyterLab draws the widget, while a viewer
    without widgets (GitHub, nbviewer, a notebook whose widget state was not saved) shows the HTML."""
    original = widget._repr_mimebundle_

    def bundle(**kwargs: Any) -> Any:
        data = original(**kwargs)
        if isinstance(data, dict):
            data["text/html"] = fallback()
        return data

    widget._repr_mimebundle_ = bundle
    return widget


def _html(html: str) -> Any:
    html = TABLE_STYLE + html
    widgets = ipywidgets_module()
    if widgets is not None:
        widget = widgets.HTML(value=html)
        return _with_fallback(widget, lambda: str(widget.value))
    from IPython.display import HTML

    return HTML(html)  # type: ignore[no-untyped-call]


def check_list(report: Report, only: Sequence[str] | None = None) -> Any:
    """The check list as a widget (or plain HTML); display it or make it a cell's last expression."""
    return _html(check_list_html(report, only))


def html(text: str) -> Any:
    """Any lesson HTML (a table from lesson_helpers) as a widget or plain HTML."""
    return _html(text)


def bars_chart(bars: Sequence[SizeBar], title: str) -> Any:
    """A size chart of any bars (the lessons compare base images, stages, experiments)."""
    return _html(size_chart_html(bars, title))


def pull_time_slider(sizes: Mapping[str, int], mbps: float = 100.0) -> Any:
    """Pull time of each compressed size at a bandwidth the learner picks (a slider); a table without widgets."""
    from grader.lesson_helpers import pull_seconds, table_html

    def table(rate: float) -> str:
        rows = [(label, human_bytes(size), human_seconds(pull_seconds(size, rate))) for label, size in sizes.items()]
        return table_html(("image", "compressed (what is pulled)", f"pull at {rate:.0f} Mbit/s"), rows, "ddw-pull")

    widgets = ipywidgets_module()
    if widgets is None:
        return _html("".join(table(rate) for rate in (10, 100, 1000)))
    slider = widgets.FloatLogSlider(value=mbps, base=10, min=0, max=4, step=0.01, description="Mbit/s",
                                    readout_format=".0f", continuous_update=True,
                                    layout=widgets.Layout(width="36em"))
    out = widgets.HTML(value=table(mbps))

    def redraw(change: dict[str, Any]) -> None:
        out.value = table(float(change["new"]))

    slider.observe(redraw, names="value")
    return _with_fallback(widgets.VBox([slider, out]), lambda: "".join(table(rate) for rate in (10, 100, 1000)))


def size_chart(report: Report, reference: Report | None = None, title: str | None = None) -> Any:
    """Article before/after beside the learner's naive and current image."""
    return _html(size_chart_html(size_bars(report, reference), title or f"Image size: {report.exercise}"))


def image_facts(report_or_image: Report | str, base_image: str | None = None) -> ImageFacts:
    """ImageFacts for a graded report's image (from the grader's cache: no second inspection) or an image name."""
    from grader.engine import connect
    from grader.inspect import inspect_image

    client = connect()
    try:
        if isinstance(report_or_image, Report):
            if report_or_image.build is None:
                raise ValueError(f"{report_or_image.exercise} was not built, so it has no layers to explore.")
            return inspect_image(client.api, report_or_image.build.image_id, base_image=report_or_image.base_image)
        return inspect_image(client.api, report_or_image, base_image=base_image)
    finally:
        client.close()


def layer_explorer(source: Report | ImageFacts | str, title: str | None = None, *,
                   base_image: str | None = None) -> Any:
    """The layer table; with ipywidgets, a picker shows the biggest files of the chosen layer.
    `base_image` (for an image name) marks the layers that came from that base."""
    if isinstance(source, ImageFacts):
        facts = source
    elif isinstance(source, Report):
        if source.build is None:  # nothing was built: say why instead of failing the cell
            reason = source.error.message if source.error is not None else "the image was not built"
            return _html(f"<div class='ddw-layers'><b>No layers to explore for {escape(source.exercise)}</b>: "
                         f"{escape(reason)}</div>")
        facts = image_facts(source)
    else:
        facts = image_facts(source, base_image)
    rows = layer_rows(facts)
    table = layer_table_html(rows, title or "Layers, bottom to top")
    widgets = ipywidgets_module()
    if widgets is None:
        biggest = max(rows, key=lambda row: row.size_bytes).index if rows else 0
        return _html(table + (largest_files_html(facts, biggest) if rows else ""))
    options = [(f"{row.index + 1}: {human_bytes(row.size_bytes):>8}  {row.instruction[:70]}", row.index)
               for row in rows]
    start = max(rows, key=lambda row: row.size_bytes if not row.from_base else -1).index if rows else 0
    picker = widgets.Dropdown(options=options, value=start, description="layer",
                              layout=widgets.Layout(width="48em"))
    files = widgets.HTML(value=largest_files_html(facts, start))

    def show_layer(change: dict[str, Any]) -> None:
        files.value = largest_files_html(facts, int(change["new"]))

    picker.observe(show_layer, names="value")
    return _with_fallback(widgets.VBox([widgets.HTML(value=TABLE_STYLE + table), picker, files]),
                          lambda: table + str(files.value))


# ============================================================================================ grade panel
GradeFunction = Callable[..., Report]


class GradePanel:
    """A build-and-grade button with a live progress bar, a collapsible log, the check list and the size chart.

    `run()` grades at once (a notebook executed headless runs straight through); the button grades again after
    the learner edits the Dockerfile. `report` holds the latest Report.
    """

    def __init__(self, exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                 *, config: Any = None, reference: Report | None = None, title: str | None = None,
                 role: str = "lesson", grade_function: GradeFunction | None = None) -> None:
        self.exercise = exercise
        self.role = role
        self._label = "you: now" if role == "lesson" else f"{role}: now"
        self.dockerfile = dockerfile
        self.dockerignore = dockerignore
        self.config = config
        self.reference = reference
        self.title = title or f"Grade {exercise}: {dockerfile or f'exercises/{exercise}/Dockerfile'}"
        self.report: Report | None = None
        self.runs = 0
        self._grade = grade_function
        self._log: deque[str] = deque(maxlen=LOG_LINES)
        self._last_flush = 0.0
        self._w = ipywidgets_module()
        if self._w is not None:
            w = self._w
            self.button = w.Button(description="Build and grade", icon="hammer", button_style="primary")
            self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="24em"))
            self.status = w.HTML(value="<i>not graded yet</i>")
            self.log = w.HTML(value="<pre></pre>")
            self.log_box = w.Accordion(children=[self.log], selected_index=None)
            self.log_box.set_title(0, "build log")
            self.checks = w.HTML(value="")
            self.chart = w.HTML(value="")
            self.button.on_click(lambda _button: self.run())
            self.widget = w.VBox([w.HTML(value=f"<b>{escape(self.title)}</b>"),
                                  w.HBox([self.button, self.bar, self.status]), self.log_box,
                                  self.chart, self.checks], layout=w.Layout(border="1px solid #d0d7de",
                                                                           padding="6px"))
            _with_fallback(self.widget, lambda: f"<b>{escape(self.title)}</b>" + self.chart.value
                           + self.checks.value)
        self._handle: Any = None

    def display(self) -> None:
        """Show the panel; after each grade its display is updated, so saved notebooks keep the result."""
        from IPython.display import display

        if self._w is not None:
            self._handle = display(self.widget, display_id=True)  # type: ignore[no-untyped-call]

    # -- progress
    def _progress(self, event: Any) -> None:
        self._log.append(str(event.text))
        if self._w is None:
            if event.step:
                print(f"[{event.step}/{event.total}] {event.text[:120]}", flush=True)
            return
        if event.step and event.total:
            self.bar.max, self.bar.value = event.total, min(event.step, event.total)
        now = time.monotonic()
        if now - self._last_flush > 0.5:  # a build prints thousands of lines; redraw twice a second
            self._last_flush = now
            self.status.value = escape(str(event.text)[:90])
            self.log.value = "<pre style='max-height:18em;overflow:auto'>" + escape("\n".join(self._log)) + "</pre>"

    def run(self) -> Report:
        """Build, inspect, run and check; then redraw the chart and the check list."""
        if self._grade is not None:
            grade: GradeFunction = self._grade
        else:
            from grader.api import grade as grade_with_api

            grade = grade_with_api
        self._log.clear()
        if self._w is not None:
            self.button.disabled = True
            self.bar.bar_style, self.bar.value = "info", 0
            self.status.value = "<i>building ...</i>"
        started = time.monotonic()
        try:
            # Decided on every run: the learner may have added BuildKit-only syntax since the last one.
            config = lesson_config(self.exercise, self.dockerfile, config=self.config, role=self.role)
            report = grade(self.exercise, self.dockerfile, self.dockerignore, config=config,
                           progress=self._progress)
        finally:
            if self._w is not None:
                self.button.disabled = False
        self.report = report
        self.runs += 1
        took = human_seconds(time.monotonic() - started)
        summary = f"grade #{self.runs}: " + (f"could not grade: {report.error.kind}" if report.error is not None
                                              else f"{report.score:g}/{report.max_score:g} points in {took}")
        if self._w is None:
            print(f"{self.exercise}: {summary}")
            return report
        self.bar.bar_style = "danger" if report.error is not None else "success"
        self.bar.value = self.bar.max
        self.status.value = escape(summary)
        self.log.value = "<pre style='max-height:18em;overflow:auto'>" + escape("\n".join(self._log)) + "</pre>"
        self.chart.value = size_chart_html(size_bars(report, self.reference, self._label),
                                           f"Image size: {self.exercise}")
        self.checks.value = TABLE_STYLE + check_list_html(report)
        if self._handle is not None:
            self._handle.update(self.widget)  # refreshes the text/html fallback stored with the output
        return report

    def show_static(self) -> None:
        """Without ipywidgets: the chart and the check list as plain HTML (or text outside IPython)."""
        if self.report is None:
            return
        try:
            from IPython.display import HTML
        except ImportError:
            print(check_list_text(self.report))
            return
        chart = size_chart_html(size_bars(self.report, self.reference, self._label), f"Image size: {self.exercise}")
        _display(HTML(TABLE_STYLE + chart + check_list_html(self.report)))  # type: ignore[no-untyped-call]


def lesson_config(exercise: str, dockerfile: str | Path | None = None, *, config: Any = None,
                  role: str = "lesson") -> Any:
    """The GradeConfig the lessons grade with.

    - Each `role` gets its own tag (docker-diet-workshop/<app>:<role>), so grading the reference does not
      replace the learner's image, and the notebook does not fight `workshop grade` over one tag.
    - A Dockerfile that needs no BuildKit syntax is built by the classic builder: its cache hands back an
      unchanged image in well under a second, where BuildKit's `--load` re-exports a 1.2 GB naive image
      (~40 s). A Dockerfile that uses cache mounts or heredocs keeps BuildKit.
    """
    from grader.api import GradeConfig
    from grader.dockerfile import parse_dockerfile
    from grader.paths import EXERCISES_DIR

    config = config or GradeConfig()
    if config.tag is None:
        config = replace(config, tag=f"docker-diet-workshop/{exercise}:{role}")
    if config.backend == "auto":
        path = Path(dockerfile) if dockerfile else EXERCISES_DIR / exercise / "Dockerfile"
        try:
            needs_buildkit = bool(parse_dockerfile(path.read_text()).buildkit_features)
        except Exception:  # noqa: BLE001 - the grader itself reports an unreadable Dockerfile
            needs_buildkit = False
        if not needs_buildkit:
            config = replace(config, backend="classic")
    return config


def grade_panel(exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                *, config: Any = None, reference: Report | None = None, title: str | None = None,
                role: str = "lesson", run: bool = True) -> GradePanel:
    """Show a grade panel and grade now (see lesson_config for the tag and the builder)."""
    panel = GradePanel(exercise, dockerfile, dockerignore, config=config, reference=reference, title=title,
                       role=role)
    panel.display()
    if run:
        panel.run()
        if panel._w is None:
            panel.show_static()
    return panel


def grade_quietly(exercise: str, dockerfile: str | Path | None = None, dockerignore: str | Path | None = None,
                  *, config: Any = None, role: str = "lesson") -> Report:
    """Grade without a panel, when a lesson only needs the numbers (same tags and builder as grade_panel)."""
    from grader.api import grade

    return grade(exercise, dockerfile, dockerignore, config=lesson_config(exercise, dockerfile, config=config,
                                                                           role=role))
