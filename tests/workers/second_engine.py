"""A second Docker engine on this machine, for two workers on separate engines (issue 16) without a second host.

It must not disturb the shared engine or the host's network. It runs in its own network namespace (`unshare
--net`): dockerd 20.10 with `--bridge=none` DELETES whatever link is named `docker0` in its namespace, which in
the host's is the shared engine's bridge (that happened once). It has its own data root, exec root, pidfile,
config file and socket under a temp folder, no TCP listener, `--bridge=none`, no iptables/ip6tables rules, no
masquerading, no ip_forward, and its own supervised containerd under its exec root with namespaces of its own.
Containers on it have no network at all, so only Dockerfiles that build offline work;
the base images are copied in with `docker save | docker load`, which keeps their ids (the workers' fingerprints
include the base images' ids). Needs root (dockerd does)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import docker

__all__ = ["BASES", "SecondEngine", "docker0_state", "offline_class"]

NAMESPACE = "ddw-second-engine"
#: Every base the fastapi exercise allows: the workers' fingerprints include their ids, so all are copied.
BASES = ("python:3.11", "python:3.11-slim", "debian:bookworm-slim")
#: A fastapi submission with no RUN: it builds on an engine without network (the app will not answer: no deps).
OFFLINE = """FROM python:3.11-slim
WORKDIR /app
COPY app ./app
LABEL learner="{name}"
USER 1000
CMD ["python", "-m", "http.server", "8000"]
"""


def offline_class(root: Path, count: int, exercise: str = "fastapi") -> Path:
    """`count` learners, each with the offline Dockerfile and a label of their own."""
    for i in range(count):
        folder = root / f"learner{i:03d}" / exercise
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(OFFLINE.format(name=f"learner{i}"))
        (folder / ".dockerignore").write_text("docs\ntests\n*.md\n.env*\n")
    return root


def docker0_state() -> str:
    """docker0's interface index, or why there is none: the same before and after the second engine (its MAC and
    flags follow the shared engine's containers, so they are not compared)."""
    result = subprocess.run(["ip", "-o", "link", "show", "docker0"], capture_output=True, text=True, check=False)
    return result.stdout.split(":")[0] if result.returncode == 0 else result.stderr.strip()


class SecondEngine:
    """`with SecondEngine() as engine:` starts dockerd on `engine.url`; leaving stops it and removes its folder."""

    def __init__(self, storage_driver: str = "overlay2") -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="ddw-e2-", dir="/tmp"))  # short: a unix socket path <= 107
        self.storage_driver = storage_driver
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.folder / "dockerd.log"

    @property
    def url(self) -> str:
        return f"unix://{self.folder / 'docker.sock'}"

    def command(self) -> list[str]:
        (self.folder / "daemon.json").write_text("{}\n")  # never /etc/docker/daemon.json
        # Its own network namespace: dockerd 20.10 given --bridge=none DELETES the link named docker0 in its
        # namespace (daemon_unix.go removeDefaultBridgeInterface), which took the shared engine's bridge away.
        return ["unshare", "--net", "--", "dockerd", "--config-file", str(self.folder / "daemon.json"),
                "--data-root", str(self.folder / "data"), "--exec-root", str(self.folder / "exec"),
                "--pidfile", str(self.folder / "docker.pid"), "-H", self.url,
                "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false",
                "--userland-proxy=false", "--containerd-namespace", NAMESPACE,
                "--containerd-plugins-namespace", f"{NAMESPACE}-plugins",
                "--storage-driver", self.storage_driver, "--log-level", "warn"]

    def start(self, timeout: float = 60) -> None:
        self.docker0 = docker0_state()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        client = docker.DockerClient(base_url=self.url, version="1.41", timeout=10)  # no version probe yet
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    client.ping()
                    break
                except Exception:  # noqa: BLE001 - the socket is not there yet, or not answering yet
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        log = self.log.read_text()[-3000:]
                        raise AssertionError(f"the second dockerd did not start:\n{log}") from None
                    time.sleep(0.2)
        finally:
            client.close()
        if docker0_state() != self.docker0:
            raise AssertionError(f"the shared engine's docker0 changed: {self.docker0!r} -> {docker0_state()!r}")

    def load(self, images: tuple[str, ...]) -> None:
        """Copy images from the shared engine (ids kept), one `docker save | docker load` for all of them."""
        save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
        loaded = subprocess.run(["docker", "-H", self.url, "load", "-q"], stdin=save.stdout, capture_output=True,
                                text=True, check=False)
        assert save.stdout is not None
        save.stdout.close()
        if save.wait() != 0 or loaded.returncode != 0:
            raise AssertionError(f"could not copy {images} to the second engine: {loaded.stderr[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # dockerd stops its containers and its containerd
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.process = None
        self._unmount()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _unmount(self) -> None:
        """Anything still mounted under the folder (overlay layers, the exec root's netns) is lazily unmounted."""
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(self.folder))]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)

    def __enter__(self) -> SecondEngine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
