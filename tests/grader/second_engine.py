"""A second, throw-away Docker engine for the remote-engine test, reached as a remote one: over TCP on loopback.

Why this shape: dockerd 20.10 with `--bridge=none` deletes the host's `docker0` at start (it removes the default
bridge it would not use), which broke the shared engine once. So this dockerd runs in a network namespace of its
own (`unshare --net`, loopback only, no iptables or masquerading): its bridge, its containers and whatever it does
to links stay in there, and nothing it does reaches another address. Its API socket is a file, so a small proxy
here listens on 127.0.0.1:<free port> and forwards to it: the grader sees `DOCKER_HOST=tcp://127.0.0.1:PORT`, a
TCP engine whose storage it must not assume (the same engine behind a loopback proxy, as issue 18 allows).

Everything lives in one temporary folder; `stop()` ends the dockerd this module started (by its pid), unmounts
what it left and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import docker

__all__ = ["SecondEngine"]


def _pump(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(1 << 16):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class _LoopbackProxy:
    """127.0.0.1:<free port> -> a unix socket, one pair of threads per connection (the API's hijacked streams
    included)."""

    def __init__(self, unix_path: str) -> None:
        self._unix_path = unix_path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self._unix_path)
                self._open += [client, upstream]
                threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
                threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()


class SecondEngine:
    """A dockerd of our own in its own network namespace, its API proxied to loopback TCP."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dd-engine-", dir="/tmp"))  # short: a socket path is < 108 bytes
        self.socket = self.root / "docker.sock"
        log = (self.root / "dockerd.log").open("wb")
        r = self.root
        command = (f"ip link set lo up && exec dockerd --data-root {r}/data --exec-root {r}/exec --pidfile {r}/pid "
                   f"-H unix://{r}/docker.sock --iptables=false --ip-masq=false --containerd-namespace dd-second "
                   "--containerd-plugins-namespace dd-second-plugins")
        self.process = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", command],  # noqa: S603, S607
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        self.proxy: _LoopbackProxy | None = None
        try:
            self.client = self._wait()
        except BaseException:
            self.stop()
            raise
        self.proxy = _LoopbackProxy(str(self.socket))
        self.url = f"tcp://127.0.0.1:{self.proxy.port}"

    def _wait(self, seconds: float = 90.0) -> docker.DockerClient:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the second dockerd exited: {self.log_tail()}")
            with contextlib.suppress(docker.errors.DockerException, OSError):
                if self.socket.exists():
                    client = docker.DockerClient(base_url=f"unix://{self.socket}", timeout=600)
                    client.ping()
                    return client
            time.sleep(0.5)
        raise RuntimeError(f"the second dockerd did not answer in {seconds:.0f} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-2000:]

    def load_from(self, main: docker.DockerClient, image: str) -> None:
        """`docker save IMAGE | docker -H second load`, streamed."""
        self.client.api.load_image(main.api.get_image(image, chunk_size=1 << 20))

    def stop(self) -> None:
        """End our dockerd (SIGTERM, then SIGKILL after 30 s), unmount what it left, remove its folder."""
        if self.proxy is not None:
            self.proxy.close()
        if hasattr(self, "client"):
            self.client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.root))]
        for mount in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)  # noqa: S603, S607
        shutil.rmtree(self.root)
