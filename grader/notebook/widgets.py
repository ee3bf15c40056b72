"""Display adapters: HTML from grader.reporters.notebook (Reports) and grader.notebook.views (other data), shown
as ipywidgets where installed and as plain HTML otherwise; plus the live parts (a layer picker, a slider).

Nothing here connects to Docker: a layer explorer is given ImageFacts, or gets them from grader.notebook.image_api.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from grader.model import ImageFacts, Report
from grader.notebook.views import (
    largest_files_html,
    layer_rows,
    layer_table_html,
    table_html,
)
from grader.reporters.notebook import (
    TABLE_STYLE,
    SizeBar,
    check_table_html,
    size_bars,
    size_chart_html,
)
from grader.reporters.sanitize import html_escape as escape
from grader.units import human_bytes, human_seconds

__all__ = ["SizeBar", "bars_chart", "check_list", "html", "ipywidgets_module", "layer_explorer",
           "pull_seconds", "pull_time_slider", "size_chart", "with_fallback"]


def ipywidgets_module() -> ModuleType | None:
    """ipywidgets when installed, else None (every piece then falls back to plain HTML)."""
    try:
        return importlib.import_module("ipywidgets")
    except ImportError:
        return None


def with_fallback(widget: Any, fallback: Callable[[], str]) -> Any:
    """Give a widget a text/html fallback in its display bundle: JupyterLab draws the widget, while a viewer
    without widget state (GitHub, nbviewer, an executed copy) shows the HTML."""
    original = widget._repr_mimebundle_

    def bundle(**kwargs: Any) -> Any:
        data = original(**kwargs)
        if isinstance(data, dict):
            data["text/html"] = fallback()
        return data

    widget._repr_mimebundle_ = bundle
    return widget


def html(text: str) -> Any:
    """Any lesson HTML as a widget (or plain HTML without ipywidgets); make it a cell's last expression."""
    text = TABLE_STYLE + text
    widgets = ipywidgets_module()
    if widgets is not None:
        widget = widgets.HTML(value=text)
        return with_fallback(widget, lambda: str(widget.value))
    from IPython.display import HTML

    return HTML(text)  # type: ignore[no-untyped-call]


def check_list(report: Report, only: Sequence[str] | None = None) -> Any:
    """The report's check table (reporters/notebook, the one renderer), or only some check ids."""
    return html(check_table_html(report, only))


def bars_chart(bars: Sequence[SizeBar], title: str) -> Any:
    """A size chart of any bars (the lessons compare base images, stages, experiments)."""
    return html(size_chart_html(bars, title))


def size_chart(report: Report, reference: Report | None = None, title: str | None = None) -> Any:
    """The article's before/after beside the learner's naive and current image."""
    return html(size_chart_html(size_bars(report, reference), title or f"Image size: {report.exercise}"))


def layer_explorer(source: Report | ImageFacts | str, title: str | None = None, *,
                   base_image: str | None = None) -> Any:
    """The layer table (size, wasted bytes, instruction); with ipywidgets, a picker shows a layer's biggest files.
    `source` is a graded Report, ImageFacts, or a local image name (`base_image` marks its base layers)."""
    if isinstance(source, Report) and source.build is None:
        reason = source.error.message if source.error is not None else "the image was not built"
        return html(f"<div class='ddw-layers'><b>No layers to explore for {escape(source.exercise)}</b>: "
                    f"{escape(reason)}</div>")
    if isinstance(source, ImageFacts):
        facts = source
    else:
        from grader.notebook.image_api import image_facts

        facts = image_facts(source, base_image)
    rows = layer_rows(facts)
    table = layer_table_html(rows, title or "Layers, bottom to top")
    widgets = ipywidgets_module()
    if widgets is None or not rows:
        return html(table + (largest_files_html(facts, max(rows, key=lambda r: r.size_bytes).index) if rows else ""))
    options = [(f"{row.index + 1}: {human_bytes(row.size_bytes):>8}  {row.instruction[:70]}", row.index)
               for row in rows]
    start = max(rows, key=lambda row: row.size_bytes if not row.from_base else -1).index
    picker = widgets.Dropdown(options=options, value=start, description="layer", layout=widgets.Layout(width="48em"))
    files = widgets.HTML(value=largest_files_html(facts, start))

    def show_layer(change: dict[str, Any]) -> None:
        files.value = largest_files_html(facts, int(change["new"]))

    picker.observe(show_layer, names="value")
    return with_fallback(widgets.VBox([widgets.HTML(value=TABLE_STYLE + table), picker, files]),
                         lambda: TABLE_STYLE + table + str(files.value))


def pull_seconds(compressed_bytes: int, mbps: float) -> float:
    """Seconds to pull at `mbps` megabits per second (transfer only; unpacking adds more)."""
    return compressed_bytes * 8 / (mbps * 1e6) if mbps > 0 else float("inf")


def _pull_table(sizes: Mapping[str, int], rate: float) -> str:
    rows = [(label, human_bytes(size), human_seconds(pull_seconds(size, rate))) for label, size in sizes.items()]
    return table_html(("image", "compressed (what is pulled)", f"pull at {rate:.0f} Mbit/s"), rows, "ddw-pull")


def pull_time_slider(sizes: Mapping[str, int], mbps: float = 100.0) -> Any:
    """Pull time of each compressed size at a bandwidth the learner picks; a table at 10/100/1000 without widgets."""
    widgets = ipywidgets_module()
    fixed = "".join(_pull_table(sizes, rate) for rate in (10, 100, 1000))
    if widgets is None:
        return html(fixed)
    slider = widgets.FloatLogSlider(value=mbps, base=10, min=0, max=4, step=0.01, description="Mbit/s",
                                    readout_format=".0f", continuous_update=True, layout=widgets.Layout(width="36em"))
    out = widgets.HTML(value=TABLE_STYLE + _pull_table(sizes, mbps))

    def redraw(change: dict[str, Any]) -> None:
        out.value = TABLE_STYLE + _pull_table(sizes, float(change["new"]))

    slider.observe(redraw, names="value")
    return with_fallback(widgets.VBox([slider, out]), lambda: TABLE_STYLE + fixed)
