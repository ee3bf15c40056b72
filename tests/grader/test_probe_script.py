"""The probe script (grader/engine/probe_script.py) against a small app on this machine's loopback: placeholders,
saved values, the page's assets and the bounds, without Docker (the real-engine runs are in test_app_works_real)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from grader.app_contract import load_contract
from grader.engine.app_probe import parse_probe_output, probe_plan
from grader.engine.probe_script import BODY_MAX, run_plan
from grader.paths import APPS_DIR

PAGE = b'<html><head><link rel="stylesheet" href="/assets/a.css"><script src="assets/a.js"></script>' \
       b'<script src="https://cdn.example.test/x.js"></script></head><body><div id="root"></div></body></html>'


class _Taskboard(BaseHTTPRequestHandler):
    """Enough of the combined app: the page, two assets, the tasks API; the rest answers with the page."""

    tasks: list[dict[str, object]] = []

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the handler's API
        if self.path == "/api/tasks":
            self._send(200, "application/json", json.dumps(self.tasks).encode())
        elif self.path == "/assets/a.js":
            self._send(200, "application/javascript", b"console.log(1)")
        elif self.path == "/assets/a.css":
            self._send(200, "text/css", b"body{}")
        elif self.path == "/big":
            self._send(200, "text/plain", b"x" * 100_000)
        else:
            self._send(200, "text/html", PAGE)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else {}
        if self.path == "/api/tasks":
            task = {"id": len(self.tasks) + 1, "title": body["title"], "done": False}
            self.tasks.append(task)
            self._send(201, "application/json", json.dumps(task).encode())
        else:  # /api/tasks/<id>/toggle
            task = self.tasks[int(self.path.split("/")[3]) - 1]
            task["done"] = not task["done"]
            self._send(200, "application/json", json.dumps(task).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Taskboard)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def test_the_probe_sends_the_contract_and_fetches_the_pages_assets(port: int) -> None:
    contract = load_contract(APPS_DIR / "combined")
    assert contract is not None
    plan = {**probe_plan(contract, "feed"), "port": port}
    output = json.dumps(run_plan(plan)).encode()
    exchanges, saved = parse_probe_output(output, len(contract.requests))
    page, add, _, toggle = exchanges
    assert [a.path for a in page.assets] == ["/assets/a.css", "/assets/a.js", "https://cdn.example.test/x.js"]
    assert page.assets[2].error and page.assets[2].status is None  # never fetched: another host
    assert add.status == 201 and "Probe task feed" in add.body and saved == {"task_id": 1}
    assert toggle.path == "/api/tasks/1/toggle" and toggle.status == 200


def test_the_probe_keeps_a_bounded_body_and_reports_a_refused_connection(port: int) -> None:
    plan = {"port": port, "budget_s": 5, "timeout_s": 2, "wait_s": 0, "values": {}, "requests": [
        {"name": "big", "method": "GET", "path": "/big", "json": None, "save": [], "assets": False}]}
    assert len(run_plan(plan)["exchanges"][0]["body"]) == BODY_MAX
    closed = run_plan({**plan, "port": 1})["exchanges"][0]
    assert closed["status"] is None and "ConnectionRefused" in closed["error"]
