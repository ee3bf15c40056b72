"""`workshop serve` as the tests run it: a real server process on a free loopback port, over a real Redis."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from grader.paths import REPO_ROOT

__all__ = ["QUICK_DOCKERFILE", "Server", "free_port", "issue_token"]

#: Builds in a second from a local base and is graded in seconds: no HEALTHCHECK, so the run waits briefly.
QUICK_DOCKERFILE = 'FROM python:3.11-slim\nUSER 1000\nCMD ["python", "-c", "import time; time.sleep(600)"]\n'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def issue_token(database: str, name: str, *, instructor: bool = False) -> str:
    command = [sys.executable, "-m", "grader.cli", "serve", "tokens", "add", name, "--db", database]
    result = subprocess.run([*command, *(["--instructor"] if instructor else [])], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class Server:
    """`workshop serve --queue URL` on 127.0.0.1:<free port>, its output in `log`."""

    def __init__(self, queue_url: str, database: str, log: Path, *extra: str) -> None:
        self.port, self.log = free_port(), log
        self.url = f"http://127.0.0.1:{self.port}"
        self.handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "serve", "--queue", queue_url, "--port", str(self.port),
             "--db", database, "--no-baseline", *extra],
            cwd=REPO_ROOT, env=dict(os.environ), stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/", timeout=2)
                return
            except httpx.TransportError:
                assert self.process.poll() is None, self.output()
                assert time.monotonic() < deadline, self.output()
                time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        self.handle.close()
