"""Red team for the app probe: an app whose answers are built to attack the grader (2 MB bodies, terminal escapes,
an answer that trickles one byte at a time, JSON nested 100,000 deep) only fails app-works. The probe stays within
its bounds, the report quotes a short printable excerpt, and no container of the probe is left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import docker
import pytest

from grader.api import GradeConfig, grade
from grader.engine.app_probe import BUDGET_S
from grader.engine.probe_script import BODY_MAX
from grader.model import Status
from grader.paths import APPS_DIR, PROJECT_LABEL

pytestmark = pytest.mark.docker

TAG = "docker-diet-workshop/security-test:app-probe-hostile"
HOSTILE_SERVER = r'''
import http.server, time
ESCAPES = b"\x1b[2J\x1b]0;pwned\x07\xe2\x80\xae"
class Handler(http.server.BaseHTTPRequestHandler):
    def _head(self, status, length=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
    def do_GET(self):
        if self.path == "/health":
            body = b'{"status":"ok"}'
        else:
            body = b"[" * 100_000
        self._head(200, len(body)); self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/login":
            self._head(200)
            for _ in range(60):
                self.wfile.write(b" "); self.wfile.flush(); time.sleep(0.5)
            return
        body = ESCAPES + b"A" * 2_000_000
        self._head(201, len(body)); self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 3000), Handler).serve_forever()
'''
_CHECK = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/health', timeout=2)"
DOCKERFILE = f"""FROM python:3.11-slim
COPY hostile.py /srv/hostile.py
USER nobody
HEALTHCHECK --interval=5s CMD ["python", "-c", "{_CHECK}"]
CMD ["python", "/srv/hostile.py"]
"""


def test_hostile_answers_only_fail_app_works(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    app = tmp_path / "node-api"
    shutil.copytree(APPS_DIR / "node-api", app, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (app / "hostile.py").write_text(HOSTILE_SERVER)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".dockerignore").write_text("*\n!hostile.py\n")
    try:
        report = grade("node-api", tmp_path / "Dockerfile", tmp_path / ".dockerignore",
                       config=GradeConfig(tag=TAG, baseline=False, rerun=True, app_dir=app))
    finally:
        try:
            docker_client.api.remove_image(TAG, force=True)
        except docker.errors.APIError:
            pass
    assert report.error is None, report.error
    assert report.check("healthcheck").status is Status.PASS
    check = report.check("app-works")
    assert check.status is Status.FAIL and report.check("size").points == 0
    shown = check.message + (check.hint or "")
    assert "\x1b" not in shown and "\u202e" not in shown and len(shown) < 800
    probe = report.run.app_probe  # type: ignore[union-attr]
    assert probe is not None and probe.status == "probed"
    assert all(len(e.body) <= BODY_MAX for e in probe.exchanges)
    login = probe.exchanges[1]
    assert login.name == "log in with the right password" and login.status == 200 and len(login.body) < 30
    assert probe.seconds < BUDGET_S  # each trickling answer is cut after REQUEST_TIMEOUT_S
    left = docker_client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}.role=app-probe"})
    assert left == []
