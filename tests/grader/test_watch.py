"""`workshop watch`: a save regrades, only what changed is printed, Ctrl-C stops it cleanly.

Driven through the installed `workshop` command on a temporary copy of a vendored project (a `test-ctx-*` folder,
so its images are `docker-diet-workshop/project-test-ctx-...` and are removed afterwards)."""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
from images import remove_test_images

from grader import project
from grader.model import CheckResult, Report, Status
from grader.project import project_name
from grader.watching import changes, snapshot, watched_files

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "projects" / "express-rest-starter"
WORKSHOP = Path(sys.executable).parent / "workshop"


def _result(check_id: str, status: Status, points: float) -> CheckResult:
    return CheckResult(id=check_id, title=check_id, status=status, points=points, max_points=10, measured="",
                       threshold="", message="", hint="", lesson="")


def test_changes_lists_only_checks_whose_status_or_points_moved() -> None:
    before = Report("x", (_result("size", Status.PASS, 10), _result("non-root", Status.PASS, 10)))
    after = Report("x", (_result("size", Status.PASS, 10), _result("non-root", Status.FAIL, 0)))
    assert [(c.check_id, c.before, c.after) for c in changes(before, after)] == [
        ("non-root", "pass 10/10", "fail 0/10")]
    assert changes(after, after) == []


def test_snapshot_sees_content_not_mtimes(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n")
    paths = watched_files(dockerfile, None, tmp_path)
    first = snapshot(paths)
    dockerfile.write_text("FROM scratch\n")  # saved unchanged: no regrade
    assert snapshot(paths) == first
    (tmp_path / "Dockerfile.dockerignore").write_text("*.md\n")  # the ignore file is watched too
    assert snapshot(paths) != first


class _Lines:
    """The watch process's output, read on a thread so the test can wait for a line with a bound."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: [self._queue.put(line) for line in stream], daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed within {timeout:.0f} s; output:\n{''.join(self.seen)[-3000:]}")


def test_watch_regrades_on_save_and_shows_the_changed_check(docker_client: docker.DockerClient,
                                                            tmp_path: Path) -> None:
    copy = tmp_path / "test-ctx-watch"
    shutil.copytree(FIXTURE, copy)
    process = subprocess.Popen([str(WORKSHOP), "watch", "--context", str(copy), "--no-baseline"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = _Lines(process)
        lines.wait_for("Watching Dockerfile", 900)  # the first grade, cold under load
        dockerfile = copy / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace("USER node\n", "USER root\n"))
        changed = lines.wait_for("non-root:", 600)
        assert "pass 10/10 -> fail 0/10" in changed
        start = len(lines.seen)
        dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 3000\n", 'LABEL note="one"\nEXPOSE 3000\n'))
        lines.wait_for("no check changed", 600)  # a LABEL moves no check: nothing else is printed
        assert not any(line.startswith("  ") and "->" in line for line in lines.seen[start:])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        lines.wait_for("Stopped watching.", 10)
        assert not any("Traceback" in line for line in lines.seen), "".join(lines.seen)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        remove_test_images(docker_client, "docker-diet-workshop/project-test-ctx-")
        shutil.rmtree(project.PROJECTS_DIR / project_name(copy), ignore_errors=True)


def test_panel_watch_toggle_regrades_on_save_and_says_what_changed(tmp_path: Path) -> None:
    """The JupyterLab panel's Watch toggle (grader/notebook/watch.py), with a grade function that reports the
    Dockerfile's USER: saving the file regrades and the status line names the changed check."""
    from grader.notebook.panel import GradePanel

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nUSER app\n")

    def fake_grade(exercise: str, path: Path, *_args: object, **_kwargs: object) -> Report:
        root = "USER root" in Path(path).read_text()
        return Report(exercise, (_result("non-root", Status.FAIL if root else Status.PASS, 0 if root else 10),))

    panel = GradePanel("node-api", dockerfile, grade_function=fake_grade)
    assert panel._w is not None, "ipywidgets is part of the lab extra"
    panel.run()
    panel.watch.value = True
    try:
        time.sleep(0.7)  # the watcher's first look
        dockerfile.write_text("FROM scratch\nUSER root\n")
        deadline = time.monotonic() + 10
        while panel.runs < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        assert panel.runs == 2 and "non-root: pass 10/10 -&gt; fail 0/10" in panel.status.value
    finally:
        panel.watch.value = False
    runs = panel.runs
    dockerfile.write_text("FROM scratch\nUSER app\n")
    time.sleep(1.5)
    assert panel.runs == runs, "turning Watch off stops the regrades"
