"""Find a Docker engine, or start one on a bare Debian/Ubuntu machine where we are root.

The workshop never kills an engine it did not start: `start_engine` only launches dockerd when nothing answers,
and records the pid it launched so `stop_engine` can tell its own daemon from anyone else's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from grader.errors import EngineUnavailable
from grader.paths import STATE_DIR

__all__ = [
    "BUILDX_PLUGIN",
    "DEFAULT_SOCKET",
    "ENGINE_LOG",
    "ENGINE_PID_FILE",
    "HOW_TO_GET_AN_ENGINE",
    "EngineInfo",
    "EngineUnavailable",
    "Say",
    "buildx_available",
    "connect",
    "engine_answers",
    "engine_info",
    "ensure_dockerd_installed",
    "start_engine",
    "stop_engine",
    "use_ssh_client",
]

ENGINE_LOG = Path("/var/log/docker-diet-workshop-dockerd.log")
ENGINE_PID_FILE = STATE_DIR / "dockerd.pid"
DEFAULT_SOCKET = Path("/var/run/docker.sock")
BUILDX_PLUGIN = Path("/usr/libexec/docker/cli-plugins/docker-buildx")

#: Where progress lines go: print in a terminal, a widget or a log in a notebook.
Say = Callable[[str], object]

HOW_TO_GET_AN_ENGINE = """\
No Docker engine answers, and this user cannot start one. Pick one:
  - Docker Desktop (macOS, Windows, Linux): install it, start it, then run this command again.
  - Docker Engine on Debian/Ubuntu: `sudo apt-get install -y docker.io && sudo systemctl start docker`,
    or run `sudo workshop engine start` to let the workshop start dockerd in the background.
  - A remote or rootless engine: set DOCKER_HOST (unix:///run/user/1000/docker.sock, tcp://HOST:2376 with
    DOCKER_TLS_VERIFY, or ssh://USER@HOST: needs the ssh client or `pip install paramiko`) and run again."""


@dataclass(frozen=True)
class EngineInfo:
    """What `docker version` and `docker info` say about the engine we talk to."""

    version: str
    api_version: str
    storage_driver: str
    docker_root: str
    operating_system: str


def connect(timeout: int = 600) -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST or the default socket; raises EngineUnavailable if none answers."""
    try:
        client = docker.from_env(timeout=timeout, use_ssh_client=use_ssh_client())
        client.ping()
    except DockerException as exc:
        raise EngineUnavailable(f"{HOW_TO_GET_AN_ENGINE}\n(detail: {exc})") from exc
    return client


def use_ssh_client(environ: Mapping[str, str] | None = None) -> bool:
    """For `DOCKER_HOST=ssh://...`: use the machine's `ssh` (as the docker CLI does: ~/.ssh/config, agents and jump
    hosts work), else docker-py's paramiko (`pip install paramiko`). Either way the remote needs the docker CLI."""
    host = (os.environ if environ is None else environ).get("DOCKER_HOST", "")
    return host.startswith("ssh://") and shutil.which("ssh") is not None


def engine_answers() -> bool:
    """True when an engine answers right now, without raising."""
    try:
        connect(timeout=5).close()
    except EngineUnavailable:
        return False
    return True


def engine_info(client: docker.DockerClient) -> EngineInfo:
    """Version, API and storage facts, as `workshop doctor` shows them."""
    version = client.version()
    info = client.info()
    return EngineInfo(
        version=str(version.get("Version", "?")),
        api_version=str(version.get("ApiVersion", "?")),
        storage_driver=str(info.get("Driver", "?")),
        docker_root=str(info.get("DockerRootDir", "/var/lib/docker")),
        operating_system=str(info.get("OperatingSystem", "?")),
    )


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_install(*packages: str) -> None:
    """Install Debian packages; only called as root, and only for packages the workshop needs."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env)


def ensure_dockerd_installed(say: Say = print) -> str:
    """Path of dockerd, installing Debian's docker.io package first when we are root and apt exists."""
    found = shutil.which("dockerd")
    if found:
        return found
    if not (_is_root() and shutil.which("apt-get")):
        raise EngineUnavailable(HOW_TO_GET_AN_ENGINE)
    say("Installing the distribution's Docker engine (docker.io)...")
    _apt_install("docker.io")
    found = shutil.which("dockerd")
    if not found:
        raise EngineUnavailable("docker.io was installed but dockerd is not on PATH. " + HOW_TO_GET_AN_ENGINE)
    return found


def start_engine(wait_seconds: float = 60.0, say: Say = print) -> str:
    """Make sure an engine answers; start dockerd in the background when we may. Returns a one-line status."""
    if engine_answers():
        return "A Docker engine is already running; nothing to start."
    if os.environ.get("DOCKER_HOST"):
        raise EngineUnavailable(
            f"DOCKER_HOST={os.environ['DOCKER_HOST']} does not answer. Start that engine, or unset DOCKER_HOST "
            "to use the local one."
        )
    if not _is_root():
        raise EngineUnavailable(HOW_TO_GET_AN_ENGINE)
    dockerd = ensure_dockerd_installed(say)
    ENGINE_LOG.parent.mkdir(parents=True, exist_ok=True)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with ENGINE_LOG.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [dockerd],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    ENGINE_PID_FILE.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(
                f"dockerd exited with code {process.returncode} at start. Its log is {ENGINE_LOG}; "
                f"the last lines:\n{_tail(ENGINE_LOG)}"
            )
        if DEFAULT_SOCKET.exists() and engine_answers():
            return f"Started dockerd (pid {process.pid}) in the background; it logs to {ENGINE_LOG}."
        time.sleep(0.5)
    raise EngineUnavailable(
        f"dockerd (pid {process.pid}) did not answer on {DEFAULT_SOCKET} within {wait_seconds:.0f} s. "
        f"See {ENGINE_LOG}:\n{_tail(ENGINE_LOG)}"
    )


def stop_engine() -> str:
    """Stop dockerd only if this workshop started it (its pid is on file and still a dockerd)."""
    if not ENGINE_PID_FILE.exists():
        return "The workshop did not start the running engine (if any); leaving it alone."
    pid = int(ENGINE_PID_FILE.read_text().strip() or 0)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if pid <= 0 or not cmdline.exists() or b"dockerd" not in cmdline.read_bytes():
        ENGINE_PID_FILE.unlink(missing_ok=True)
        return "The dockerd the workshop started is no longer running."
    os.kill(pid, 15)
    ENGINE_PID_FILE.unlink(missing_ok=True)
    return f"Stopped the dockerd the workshop started (pid {pid})."


def buildx_available() -> bool:
    """True when the docker CLI has a working buildx plugin (BuildKit back end)."""
    docker_cli = shutil.which("docker")
    if not docker_cli:
        return False
    result = subprocess.run(
        [docker_cli, "buildx", "version"], capture_output=True, text=True, check=False, timeout=30
    )
    return result.returncode == 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
