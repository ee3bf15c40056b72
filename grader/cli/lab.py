"""`workshop lab`: JupyterLab rooted at the repository with lesson 00 open: lessons and exercises side by side."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

from grader.paths import LESSONS_DIR, REPO_ROOT

__all__ = ["FIRST_LESSON", "lab_command", "launch_lab"]

FIRST_LESSON = LESSONS_DIR / "00-start-here.ipynb"


def lab_command(port: int = 8888, open_browser: bool = True) -> list[str]:
    """This interpreter's JupyterLab (its kernel can import grader), on 127.0.0.1, rooted at the repository.

    The root is the repository, not lessons/, so `exercises/<app>/Dockerfile` is in the file browser and the
    lessons' links open it in JupyterLab's editor."""
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.root_dir={REPO_ROOT}",
        "--ContentsManager.allow_hidden=True",  # the lessons link to exercises/<app>/.dockerignore
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
    ]
    if FIRST_LESSON.exists():
        command.append(f"--LabApp.default_url=/lab/tree/{FIRST_LESSON.relative_to(REPO_ROOT).as_posix()}")
    if os.geteuid() == 0:
        command.append("--allow-root")
    if not open_browser or not (os.environ.get("DISPLAY") or shutil.which("xdg-open")):
        command.append("--no-browser")
    return command


def launch_lab(port: int = 8888, open_browser: bool = True) -> int:
    """Become JupyterLab (exec, no process in between), so a signal to this pid reaches the server itself."""
    if importlib.util.find_spec("jupyterlab") is None or importlib.util.find_spec("ipywidgets") is None:
        print("JupyterLab is not installed: pip install -e '.[lab]'", file=sys.stderr)
        return 2
    print(f"JupyterLab on http://127.0.0.1:{port}/lab, rooted at {REPO_ROOT} with {FIRST_LESSON.name} open; "
          "the address with its token follows. Stop it with Ctrl-C.", flush=True)
    command = lab_command(port, open_browser)
    os.execv(command[0], command)
