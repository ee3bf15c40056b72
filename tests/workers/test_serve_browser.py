"""The live view in a real browser: a learner submits, and the instructor's page updates without a reload.

Debian's chromium (tests/browser.py) opens `workshop serve` on 127.0.0.1; a real worker grades on the real engine
through a real Redis. The room's page is loaded once; a marker set on its window must survive to the end, so the
new state and score can only have arrived through the page's own event stream.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker
import redis
from browser import chromium_context

from grader.paths import REPO_ROOT

from .conftest import RedisServer, Worker
from .serving import QUICK_DOCKERFILE, Server, issue_token

EXERCISE = "fastapi"
SHOTS = REPO_ROOT / "test-artifacts" / "screenshots"


def _log_in(page: object, url: str, token: str) -> None:
    page.goto(url + "/")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_a_learner_submits_and_the_instructors_page_updates_live(
        tmp_path: Path, redis_server: RedisServer, docker_client: docker.DockerClient) -> None:
    database = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    learner_name = '<img src=x onerror="window.pwned=1">ada'
    learner = issue_token(database, learner_name)
    teacher = issue_token(database, "teacher", instructor=True)
    server = Server(redis_server.url, database, tmp_path / "serve.log")
    worker = Worker(redis_server.url, "browser-w1", tmp_path / "w1.log")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(QUICK_DOCKERFILE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        worker.wait_ready(redis.Redis(port=redis_server.port))
        with chromium_context(tmp_path / "profile") as context:
            room = context.new_page()
            _log_in(room, server.url, teacher)
            room.wait_for_url("**/room")
            room.wait_for_selector("tr[data-learner]")
            room.evaluate("() => { window.loadedOnce = 'yes'; }")
            cell = room.locator(f"td[data-exercise={EXERCISE}]").first
            assert cell.inner_text().strip() == ""
            submitted = subprocess.run([sys.executable, "-m", "grader.cli", "submit", EXERCISE, "--to", server.url,
                                        "--token", learner, "--dockerfile", str(dockerfile), "--no-wait"],
                                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
            assert submitted.returncode == 0, submitted.stderr
            room.wait_for_function(f"() => document.querySelector('td[data-exercise={EXERCISE}]').textContent"
                                   ".includes(' / ')", timeout=600_000)
            room.screenshot(path=str(SHOTS / "serve-room.png"), full_page=True)
            assert room.evaluate("() => window.loadedOnce") == "yes", "the page was reloaded"
            assert room.evaluate("() => window.pwned") is None, "a learner's name ran as HTML"
            assert learner_name in room.locator("tr[data-learner]").first.inner_text()
            assert "healthcheck" in room.locator("#failing").inner_text()
            mine = context.new_page()
            context.clear_cookies()
            _log_in(mine, server.url, learner)
            mine.wait_for_url("**/me")
            mine.wait_for_function("() => document.querySelectorAll('#rows tr').length === 1")
            assert "/" in mine.locator("#rows tr").first.inner_text()
            mine.screenshot(path=str(SHOTS / "serve-learner.png"), full_page=True)
    finally:
        server.stop()
        assert worker.stop() == 0, worker.output()[-2000:]
