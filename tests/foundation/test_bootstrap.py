"""The README's two commands, as a new user runs them: the set-up they do, and what they leave behind.

`python3 grader/bootstrap.py test` is what ran this suite; these tests run the other command, `... lab`, for real
(JupyterLab answering on 127.0.0.1, lesson 00 rendered in Debian's chromium, stopped by its pid), and check that the
workshop's own programs work without an activated venv.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.engine.build import BUILDX_MISSING
from grader.paths import LESSONS_DIR, PROGRAMS_DIR, REPO_ROOT

spec = importlib.util.spec_from_file_location("bootstrap", REPO_ROOT / "grader" / "bootstrap.py")
assert spec and spec.loader
bootstrap = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bootstrap)

CHROMIUM = os.environ.get("WORKSHOP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Every process that the lab command under test starts inherits this variable, so the test can find leftovers.
TEST_MARKER = "WORKSHOP_BOOTSTRAP_TEST"
LAB_START_TIMEOUT_S = 600  # a safety net for a cold machine; the second run reaches JupyterLab in seconds


def os_only_environment(home: Path) -> dict[str, str]:
    """PATH with the OS's folders only: the venv is not activated, as for an instructor who types its full path."""
    env = bootstrap.bare_environment(home)
    env["PATH"] = os.pathsep.join(bootstrap.OS_PATH)
    return env


def test_bare_environment_has_the_venv_and_the_os_folders_only(tmp_path: Path) -> None:
    os.environ.setdefault("VIRTUAL_ENV", "/somewhere/else")
    env = bootstrap.bare_environment(tmp_path)
    assert env["PATH"].split(os.pathsep) == [str(bootstrap.VENV_BIN), *bootstrap.OS_PATH]
    assert env["HOME"] == str(tmp_path)
    assert "VIRTUAL_ENV" not in env


def test_a_second_bootstrap_installs_nothing() -> None:
    """Everything is present (this suite was started by bootstrap.py): each step checks first and skips."""
    assert bootstrap.missing_os_packages("test") == [] or os.geteuid() != 0
    stamp = bootstrap.INSTALL_STAMP
    assert stamp.exists(), "bootstrap.py records what it installed into .venv"


def test_nbgrader_finds_alembic_without_an_activated_venv(tmp_path: Path) -> None:
    """nbgrader runs `alembic` by name when it makes a gradebook; the course's config puts the venv's bin on PATH."""
    env = os_only_environment(tmp_path)
    course = tmp_path / "course"
    init = subprocess.run([str(PROGRAMS_DIR / "workshop"), "course", "init", str(course), "--exercise", "fastapi"],
                          check=False, capture_output=True, text=True, env=env, timeout=120)
    assert init.returncode == 0, init.stderr
    assert f"{PROGRAMS_DIR / 'nbgrader'} generate_assignment fastapi" in init.stdout
    added = subprocess.run([str(PROGRAMS_DIR / "nbgrader"), "db", "student", "add", "ada"], cwd=course,
                           check=False, capture_output=True, text=True, env=env, timeout=120)
    assert added.returncode == 0, added.stderr[-2000:]
    assert (course / "gradebook.db").exists()


@pytest.mark.docker
def test_buildx_backend_without_the_plugin_says_how_to_get_it(tmp_path: Path, docker_client: Any) -> None:
    """No docker CLI on PATH means no buildx plugin: exit 2 and the way to install it, not a generic error."""
    env = os_only_environment(tmp_path)
    env["PATH"] = str(tmp_path)  # neither docker nor its plugins are found here
    result = subprocess.run([str(PROGRAMS_DIR / "workshop"), "grade", "fastapi", "--backend", "buildx",
                             "--format", "json"], check=False, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["error"]["message"] == BUILDX_MISSING
    assert "workshop engine install-buildx" in BUILDX_MISSING


# ----------------------------------------------------------------------------- `bootstrap.py lab`, for real

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _first_heading(notebook: Path) -> str:
    cells = nbformat.read(notebook, as_version=4).cells
    first = next(cell for cell in cells if cell.cell_type == "markdown")
    line = next(line for line in first.source.splitlines() if line.startswith("# "))
    return line[2:].strip()


def _wait_for_lab(url: str, token: str, lab: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if lab.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"`bootstrap.py lab` did not answer on {url}; its output:\n{log.read_text()[-3000:]}", pytrace=False)


@dataclass(frozen=True)
class RunningLab:
    url: str
    process: subprocess.Popen[bytes]
    token: str
    marker: str
    log: Path


def _kill_marked(marker: str) -> None:
    for pid in bootstrap.processes_marked(marker, TEST_MARKER):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[RunningLab]:
    """`python3 grader/bootstrap.py lab --no-browser --port N`, as the README says, with a bare PATH and HOME."""
    port, token, marker = _free_port(), os.urandom(16).hex(), os.urandom(8).hex()
    env = bootstrap.bare_environment(tmp_path / "home")
    env.update({"JUPYTER_TOKEN": token, TEST_MARKER: marker})
    log = tmp_path / "lab.log"
    checkpoints = LESSONS_DIR / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    python3 = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    with log.open("wb") as out:
        lab = subprocess.Popen([python3, "grader/bootstrap.py", "lab", "--no-browser", "--port", str(port)],
                               cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield RunningLab(f"http://127.0.0.1:{port}", lab, token, marker, log)
    finally:
        _kill_marked(marker)  # never leave a server behind, even when the test failed
        if not had_checkpoints:
            shutil.rmtree(checkpoints, ignore_errors=True)  # JupyterLab's checkpoint of the opened lesson


def _render_lesson_00(lab: RunningLab) -> tuple[str, str, bool]:
    """(the rendered first heading, the notebook's first heading, whether a kernel started). The page stays open
    until the kernel is listed: JupyterLab starts the lesson's kernel from the page, after it renders."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"No chromium at {CHROMIUM}: `python3 grader/bootstrap.py test` installs it.", pytrace=False)
    lesson = LESSONS_DIR / "00-start-here.ipynb"
    heading = _first_heading(lesson)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{lab.url}/lab/tree/{lesson.relative_to(REPO_ROOT).as_posix()}?token={lab.token}")
            rendered = page.locator(".jp-RenderedMarkdown h1").first
            rendered.wait_for(timeout=120_000)
            return rendered.inner_text().replace("¶", "").strip(), heading, _kernels_started(lab)
        finally:
            browser.close()


def _kernels_started(lab: RunningLab, within_s: float = 120) -> bool:
    """True once JupyterLab lists a kernel: the opened lesson's kernel starts a moment after the page renders."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}", timeout=10) as answer:
            if json.load(answer):
                return True
        time.sleep(0.5)
    return False


@pytest.mark.docker
def test_bootstrap_lab_serves_lesson_00_and_stops_with_its_kernels(running_lab: RunningLab,
                                                                    docker_client: Any) -> None:
    lab = running_lab
    _wait_for_lab(lab.url, lab.token, lab.process, lab.log)
    rendered, expected, kernel_started = _render_lesson_00(lab)
    assert rendered == expected, f"lesson 00's first heading: {rendered!r} rendered, {expected!r} expected"
    assert kernel_started, "opening the lesson started a kernel (so stopping must stop it too)"
    running = bootstrap.processes_marked(lab.marker, TEST_MARKER)
    assert len(running) >= 3, "bootstrap.py, JupyterLab and a kernel are running"
    output = lab.log.read_text()
    assert "Installing" not in output, f"the second run installed something:\n{output}"
    lab.process.send_signal(signal.SIGTERM)  # what `kill <pid of bootstrap.py>` does
    assert lab.process.wait(timeout=bootstrap.LAB_STOP_GRACE_S + 60) == 0, lab.log.read_text()[-3000:]
    left = bootstrap.processes_marked(lab.marker, TEST_MARKER)
    assert left == [], "bootstrap.py exited but left part of the lab running"
