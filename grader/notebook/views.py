"""Pure HTML for what is not a Report (a Report is drawn by grader.reporters.notebook): tables, layers, sizes
as `docker images` prints them. No Docker, no widgets: tested on hand-made data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grader.model import ImageFacts
from grader.reporters.sanitize import html_escape as escape
from grader.units import human_bytes
from grader.waste import wasted_bytes_per_layer

__all__ = [
    "LayerRow",
    "docker_size",
    "largest_files_html",
    "layer_rows",
    "layer_table_html",
    "table_html",
]

_RED, _GREY = "#cf222e", "#57606a"


def docker_size(size_bytes: float) -> str:
    """A size as `docker images` prints it: decimal units, three significant digits ("1.2GB", "164MB")."""
    value, unit = float(size_bytes), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    return f"{value:.3g}{unit}"


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], css_class: str = "ddw-table") -> str:
    """A small HTML table for lesson cells (values escaped)."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class LayerRow:
    """One layer as the explorer shows it."""

    index: int
    size_bytes: int
    instruction: str
    from_base: bool
    wasted_bytes: int  # grader.waste's rule: the same number the `layer-waste` check adds up


def layer_rows(facts: ImageFacts) -> list[LayerRow]:
    """Per layer: size, the instruction that made it, and its wasted bytes (grader.waste, as the check)."""
    waste = wasted_bytes_per_layer(facts)
    return [LayerRow(index, layer.size_bytes, layer.instruction, layer.from_base, waste[index])
            for index, layer in enumerate(facts.layers)]


def _short(text: str, limit: int = 110) -> str:
    return escape(text if len(text) <= limit else text[: limit - 1] + "\u2026")


def layer_table_html(rows: Sequence[LayerRow], title: str = "Layers, bottom to top") -> str:
    """The layer table: base layers greyed, wasted bytes in red."""
    body = []
    for row in rows:
        style = f"color:{_GREY}" if row.from_base else ""
        waste = f"<span style='color:{_RED}'>{human_bytes(row.wasted_bytes)}</span>" if row.wasted_bytes else ""
        body.append(
            f"<tr class='ddw-layer' style='{style}'><td>{row.index + 1}</td>"
            f"<td style='text-align:right;font-family:monospace'>{human_bytes(row.size_bytes)}</td>"
            f"<td style='text-align:right;font-family:monospace'>{waste}</td>"
            f"<td><code>{_short(row.instruction)}</code>{' <small>(base image)</small>' if row.from_base else ''}"
            "</td></tr>")
    total = sum(row.size_bytes for row in rows)
    wasted = sum(row.wasted_bytes for row in rows)
    return (f"<div class='ddw-layers'><b>{escape(title)}</b><table class='ddw-layer-table'><thead><tr><th>#</th>"
            "<th>size</th><th>wasted</th><th>instruction</th></tr></thead><tbody>" + "".join(body)
            + f"</tbody></table><small>{len(rows)} layers, {human_bytes(total)} of files, "
            f"{human_bytes(wasted)} of them wasted: overwritten or deleted by a later layer (the `layer-waste` "
            "check's rule).</small></div>")


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
                    f"<td><code>/{escape(path)}</code>{note}</td></tr>")
    deleted = "".join(f"<li><code>/{escape(p)}</code></li>" for p in sorted(layer.deleted)[:top])
    return (f"<div class='ddw-layer-files'><b>Layer {index + 1}:</b> <code>{_short(layer.instruction)}</code>"
            f"<table>{''.join(rows) or '<tr><td>no files</td></tr>'}</table>"
            + (f"<small>This layer deletes (the bytes stay in the layer below):</small><ul>{deleted}</ul>"
               if deleted else "") + "</div>")
