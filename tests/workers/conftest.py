"""A real Redis per test (Debian's redis-server on a free loopback port, in a temp folder) and real workers.

Redis keeps an append-only file (fsync on every write), so a broker stopped and started again mid-run comes back
with its queues, its unacknowledged jobs and the stored results, as a deployment configured for it does."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from grader.paths import REPO_ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1:<port>, data in `folder`; stop() and start() keep the data."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(program).exists():
            pytest.fail("redis-server is not installed: `python3 grader/bootstrap.py test` installs it (Debian's "
                        "redis-server package).", pytrace=False)
        self.program, self.folder, self.port = program, folder, _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
             "--protected-mode", "yes", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = (self.folder / "redis.log").read_text()
                    raise AssertionError(f"redis-server did not start: {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Worker:
    """`workshop worker` as a process of its own session (so a SIGKILL takes it whole)."""

    def __init__(self, url: str, name: str, log: Path, *, concurrency: int | None = 1,
                 env: dict[str, str] | None = None,
                 cwd: Path = REPO_ROOT, extra: tuple[str, ...] = ()) -> None:
        self.name, self.log = name, log
        width = ("--concurrency", str(concurrency)) if concurrency else ()  # None: the worker's own default
        command = [sys.executable, "-m", "grader.cli", "worker", "--queue", url, "--name", name, *width,
                   "--exercise", "fastapi", *extra]
        self.handle = log.open("wb")
        self.process = subprocess.Popen(command, cwd=cwd, env=env or dict(os.environ), stdout=self.handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, client: redis.Redis, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while client.get(f"ddw:worker:{self.name}") is None:
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"worker {self.name} never beat:\n{self.output()}"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout: float = 300) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.handle.close()


class EngineProxy:
    """A unix socket that forwards to the real engine until cut(): an engine that stops answering mid-build, for
    one worker only (the shared engine itself is never touched)."""

    def __init__(self, path: Path, engine: str = "/var/run/docker.sock") -> None:
        self.path, self.engine = path, engine
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> None:
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            with self.lock:
                self.open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """The engine goes away: no new connection is accepted, every open one is closed."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self.path.unlink(missing_ok=True)
        with self.lock:
            for end in self.open:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                    end.close()
                except OSError:
                    pass
            self.open.clear()
