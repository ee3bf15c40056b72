"""Executed copies of the lessons as HTML (docs/lessons/), for reading where nothing runs: a static view, GitHub.

Each lesson runs top to bottom on a fresh kernel against the real engine; the copy opens with a note naming the
engine, the builder, the cores and the date that made its numbers, and the run's seconds (what the instructor
guide's timings use). Widget state is stripped: every widget output keeps its text/html fallback (quizzes and
predictions carry their answers folded in <details>), and no image over MAX_IMAGE_BYTES is kept.

    python -m grader.notebook.export docs/lessons [NN ...]
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from grader.paths import LESSONS_DIR

__all__ = [
    "MAX_IMAGE_BYTES",
    "Machine",
    "export_lesson",
    "machine",
    "main",
    "redact_hosts",
    "static_copy",
]

MAX_IMAGE_BYTES = 300_000
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT_S = 1800
#: A few lines of CSS in place of the full Jupyter theme (hundreds of KB per page).
PAGE_STYLE = ("body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em;line-height:1.45}"
              "pre{background:#f6f8fa;padding:6px;overflow:auto}.jp-InputArea,.input{border-left:3px solid #d0d7de;"
              "margin:6px 0;padding-left:6px}.jp-InputPrompt,.jp-OutputPrompt,.prompt{display:none}"
              "details{margin:4px 0}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:2px 6px}"
              "blockquote{border-left:4px solid #0969da;margin:0;padding:2px 10px;background:#f6f8fa}")


@dataclass(frozen=True)
class Machine:
    engine: str
    builder: str
    cores: int
    date: str

    def note(self, seconds: float) -> str:
        return (f"> **Executed copy.** The numbers below were measured on Docker engine {self.engine}, builder "
                f"{self.builder}, {self.cores} CPU cores ({platform.machine()}), on {self.date}; the lesson ran "
                f"top to bottom in {seconds:.0f} s. Your numbers will differ; run the notebook to get yours. "
                "Quizzes and predictions show their answers folded: click *Answer*.")


def machine() -> Machine:
    """The engine, builder and cores that the lessons' numbers come from."""
    import subprocess

    from grader.notebook.image_api import buildx_available, engine_version

    engine = engine_version() or "?"
    builder = "classic"
    if buildx_available():
        version = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True, check=False)
        builder = "BuildKit (buildx " + (version.stdout.split()[1:2] or ["?"])[0] + ")"
    return Machine(engine, builder, os.cpu_count() or 1, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def static_copy(notebook: nbformat.NotebookNode, note: str) -> nbformat.NotebookNode:
    """The executed notebook without widget state or large images, with the machine's note as its second cell."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            data.pop(WIDGET_VIEW, None)
            if "text/html" in data:
                data.pop("text/plain", None)  # "VBox(children=...)" is noise beside the fallback
            for mime in [m for m in data if m.startswith("image/")]:
                if len(str(data[mime])) > MAX_IMAGE_BYTES:
                    data[mime] = ""
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(note, id="executed-copy-note"))  # type: ignore[no-untyped-call]
    return notebook


#: Where a run's output names this machine's package mirror or a registry: apt's list files carry the mirror's
#: host in their names, and the doctor's "registry not reachable" line the registry's and the resolver's.
_HOST_PATTERNS = (
    (re.compile(r"(/var/lib/apt/lists/)[A-Za-z0-9.-]+\.[A-Za-z]{2,}_"), r"\1&lt;mirror&gt;_"),
    (re.compile(r"(lookup )[A-Za-z0-9.-]+\.[A-Za-z]{2,}( on )[0-9.:\[\]a-f]+"),
     r"\1&lt;registry&gt;\2&lt;resolver&gt;"),
    (re.compile(r"(Get &quot;https?://|Get \"https?://)[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), r"\1&lt;registry&gt;"),
)


def redact_hosts(html: str) -> str:
    """The executed copy without the host names of this machine's mirror and registries (the outputs show
    what the lesson measured, not where this machine fetches packages)."""
    for pattern, replacement in _HOST_PATTERNS:
        html = pattern.sub(replacement, html)
    return html


def export_lesson(name: str, out_dir: Path, host: Machine) -> float:
    """Run one lesson, write `<name>.html` into out_dir; returns the run's seconds."""
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.read(LESSONS_DIR / name, as_version=4)  # type: ignore[no-untyped-call]
    started = time.monotonic()
    NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(LESSONS_DIR)}}).execute()
    seconds = time.monotonic() - started
    exporter = HTMLExporter(template_name="basic")  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(static_copy(notebook, host.note(seconds)))
    title = name.removesuffix(".ipynb")
    (out_dir / f"{title}.html").write_text(f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
                                           f"<style>{PAGE_STYLE}</style></head><body>{redact_hosts(body)}</body>"
                                           "</html>\n")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out_dir = Path(args[0] if args else "docs/lessons")
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = args[1:]
    names = [path.name for path in sorted(LESSONS_DIR.glob("[0-9][0-9]-*.ipynb"))
             if not wanted or path.name[:2] in wanted]
    host = machine()
    times_file = out_dir / "times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    print(f"{'lesson':<42} {'seconds':>8}")
    for name in names:
        seconds = export_lesson(name, out_dir, host)
        times[name] = {"seconds": round(seconds, 1), "engine": host.engine, "builder": host.builder,
                       "cores": host.cores, "date": host.date}
        times_file.write_text(json.dumps(dict(sorted(times.items())), indent=2) + "\n")
        print(f"{name:<42} {seconds:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
