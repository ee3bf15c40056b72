"""`workshop lab`: JupyterLab on the lessons, with the widget extension, as root too."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

from grader.paths import LESSONS_DIR

FIRST_LESSON = "00-start-here.ipynb"


def launch_lab(port: int = 8888, open_browser: bool = True) -> int:
    """Run JupyterLab in the foreground at lessons/ and say where it listens; Ctrl-C stops it."""
    if importlib.util.find_spec("jupyterlab") is None or importlib.util.find_spec("ipywidgets") is None:
        print("JupyterLab is not installed: pip install -e '.[lab]'", file=sys.stderr)
        return 2
    command = [
        sys.executable, "-m", "jupyterlab",  # this interpreter's JupyterLab, whose kernel can import grader
        f"--ServerApp.root_dir={LESSONS_DIR}",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
    ]
    if (LESSONS_DIR / FIRST_LESSON).exists():
        command.append(f"--LabApp.default_url=/lab/tree/{FIRST_LESSON}")
    if os.geteuid() == 0:
        command.append("--allow-root")
    if not open_browser or not (os.environ.get("DISPLAY") or shutil.which("xdg-open")):
        command.append("--no-browser")
    print(f"JupyterLab on http://127.0.0.1:{port}/lab (lessons in {LESSONS_DIR}); the address with its token follows.")
    return subprocess.call(command)
