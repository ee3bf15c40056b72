"""Constants and helpers of the red-team tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

from grader.engine.build import BUILD_ID_LABEL
from grader.engine.limits import Limits
from grader.model import Report

BACKENDS = ("classic", "buildx")
TEST_REPOSITORY = "docker-diet-workshop/security-test"
#: Small limits for attacks: an attack allocates at most twice these.
SMALL = Limits(build_memory_bytes=256 * 2**20, build_pids=256, build_cpus=1.0, image_max_bytes=100_000_000)

Grade = Callable[..., Report]


def new_tag() -> str:
    return f"{TEST_REPOSITORY}:{uuid.uuid4().hex[:12]}"


def remove_tag(api: docker.APIClient, tag: str) -> None:
    try:
        api.remove_image(tag, force=True)
    except docker.errors.APIError:
        pass


def images_of_build_label(api: docker.APIClient, value: str | None = None) -> list[str]:
    """Image ids carrying the grader's build label (with this value when given)."""
    label = f"{BUILD_ID_LABEL}={value}" if value else BUILD_ID_LABEL
    return [str(image["Id"]) for image in api.images(all=True, filters={"label": label})]



def host_processes_with(marker: str) -> list[int]:
    """Pids of host processes whose command line contains `marker` (containers' processes are visible here)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
    return found


class SilentServer:
    """A loopback-only HTTP "server" that accepts connections and does not answer until `release()`, which then
    answers every waiting request with a small file: an ADD <url> from it hangs, then could finish late."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/late.txt"
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                self.accepted.append(self.server.accept()[0])
            except OSError:
                continue

    def release(self) -> None:
        body = b"late\n"
        for connection in self.accepted:
            try:
                connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for connection in self.accepted:
            connection.close()
        self.server.close()
