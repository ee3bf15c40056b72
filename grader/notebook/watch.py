"""The grade panel's Watch toggle: while it is on, a save of the Dockerfile or its ignore file grades again, and
the panel's status line says which checks changed (grader/watching.py, the same as `workshop watch`).

A daemon thread polls the files' content twice a second; ipywidgets sends the redraw from it. Turning the toggle
off, or the kernel ending, stops it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from grader.paths import EXERCISES_DIR
from grader.reporters.sanitize import html_escape as escape
from grader.watching import changes, snapshot, watched_files

__all__ = ["PanelWatcher", "changed_text"]


def changed_text(before: Any, after: Any) -> str:
    """`non-root: pass 10/10 -> fail 0/10; ...`, or `no check changed`."""
    found = changes(before, after)
    return "; ".join(f"{c.check_id}: {c.before} -> {c.after}" for c in found) or "no check changed"


class PanelWatcher:
    """Regrades `panel` (a GradePanel) whenever a watched file's content changes, until `stop()`."""

    def __init__(self, panel: Any, interval: float = 0.5) -> None:
        dockerfile = Path(panel.dockerfile) if panel.dockerfile else EXERCISES_DIR / panel.exercise / "Dockerfile"
        ignore = Path(panel.dockerignore) if panel.dockerignore else None
        self.panel, self.interval = panel, interval
        self.paths = watched_files(dockerfile, ignore, None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="grade-panel-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        state = snapshot(self.paths)
        while not self._stop.wait(self.interval):
            current = snapshot(self.paths)
            if current == state:
                continue
            state, before = current, self.panel.report
            after = self.panel.run()
            if before is not None and self.panel._w is not None:
                self.panel.status.value += " &middot; " + escape(changed_text(before, after))
