#!/usr/bin/env python3
"""The README's two commands: set everything up on a fresh machine, then open the lab or run the tests.

    python3 grader/bootstrap.py lab  [--no-browser] [--port N]   # set up, then JupyterLab (Ctrl-C stops it)
    python3 grader/bootstrap.py test [PYTEST ARGS]               # set up, then the whole test suite

Standard library only, and run by path (not `-m grader`), because on a fresh machine none of the workshop's
dependencies are installed yet. This file is the one source of set-up: `.ci/run` only calls it, so CI proves what
a new user types. Everything Python goes into .venv/ at the repository root (a Debian system Python, PEP 668, is
never touched). As root on Debian/Ubuntu it also installs the OS packages its mode needs and the buildx plugin;
elsewhere it expects a running engine (Docker Desktop, or one started by an administrator).

A second run with everything present does no installing: each step checks first and says what it skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from types import FrameType

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv"
VENV_BIN = VENV_DIR / "bin"
#: Records what the venv was installed from, so an unchanged pyproject.toml skips pip on the next run.
INSTALL_STAMP = VENV_DIR / ".workshop-installed"

#: The OS's own program folders: the suite sees these and the venv's bin, nothing a user added by hand.
OS_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

#: OS packages per mode, each with the file that shows it is present.
#:   docker.io: the engine; debootstrap + xz-utils: the base-image stand-ins; npm: Node for the node stand-ins;
#:   gpgv + debian-archive-keyring: checking the buildx package's signed index; chromium: the browser tests;
#:   busybox-static: the grader's own static tools, copied into its probe containers (never the graded one).
#:   redis-server: the broker the queue tests (grade-class --queue, workshop worker) start on a free port;
#:   postgresql: the live view's results "by URL" (`workshop serve --db postgresql://...`), started by its test.
COMMON_PACKAGES = {
    "docker.io": "/usr/sbin/dockerd",
    "debootstrap": "/usr/sbin/debootstrap",
    "xz-utils": "/usr/bin/xz",
    "gpgv": "/usr/bin/gpgv",
    "debian-archive-keyring": "/usr/share/keyrings/debian-archive-keyring.gpg",
    "busybox-static": "/bin/busybox",
}
MODE_PACKAGES = {"lab": {}, "test": {"chromium": "/usr/bin/chromium", "redis-server": "/usr/bin/redis-server",
                                      "postgresql": "/usr/bin/pg_ctlcluster"}}
EXTRAS = {"lab": "lab", "test": "lab,queue,serve,test,dev"}

#: How long a stopped lab's kernels get to end with their server before whatever is left is killed.
LAB_STOP_GRACE_S = 15.0
#: An environment variable that every process of one `bootstrap.py lab` inherits, so none can be left behind.
LAB_MARKER = "WORKSHOP_LAB_SESSION"


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(command, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(f"Step failed (exit {result.returncode}): {' '.join(command)}")


def missing_os_packages(mode: str) -> list[str]:
    wanted = {**COMMON_PACKAGES, **MODE_PACKAGES[mode]}
    if shutil.which("npm") is None:
        wanted["npm"] = "/usr/bin/npm"
    return [package for package, marker in wanted.items() if not Path(marker).exists()]


def install_os_packages(mode: str) -> None:
    """As root with apt, install what is missing; elsewhere say what the workshop expects instead."""
    missing = missing_os_packages(mode)
    if not missing:
        say("OS packages: all present")
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        say(f"Not installing {', '.join(missing)} (needs root and apt); a running Docker engine is enough "
            "for the lab, and the tests say which program they miss.")
        return
    say(f"Installing OS packages: {' '.join(missing)}")
    started = time.monotonic()
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, stdout=subprocess.DEVNULL)
    say(f"OS packages installed in {time.monotonic() - started:.0f} s")


def venv_python() -> Path:
    """The virtual environment's interpreter, made on first use and kept."""
    python = VENV_BIN / "python"
    if not python.exists():
        say(f"Creating {VENV_DIR}")
        try:
            venv.create(VENV_DIR, with_pip=True)
        except Exception as exc:  # noqa: BLE001 - Debian without python3-venv fails in several ways
            sys.exit(f"Could not create {VENV_DIR} ({exc}). On Debian/Ubuntu: `sudo apt-get install -y python3-venv`.")
    return python


def install_workshop(python: Path, extras: str) -> None:
    """pip install the workshop with its extras, unless this pyproject.toml was installed with them already.

    The stamp holds the pyproject's hash and the extras installed with it: after `test` (lab,test,dev), `lab` skips."""
    digest = hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes()).hexdigest()
    wanted = set(extras.split(","))
    installed = INSTALL_STAMP.read_text().split() if INSTALL_STAMP.exists() else []
    if installed[:1] == [digest] and wanted <= set(installed[1:]) and (VENV_BIN / "workshop").exists():
        say(f"Python packages: up to date in {VENV_DIR} (extras: {','.join(installed[1:])})")
        return
    if installed[:1] == [digest]:
        wanted |= set(installed[1:])  # never drop an extra that an earlier run installed
    extras = ",".join(sorted(wanted))
    say(f"Installing the workshop into {VENV_DIR} (extras: {extras})")
    run([str(python), "-m", "pip", "install", "-qq", "--disable-pip-version-check", "-e", f"{REPO_ROOT}[{extras}]"])
    INSTALL_STAMP.write_text(" ".join([digest, *sorted(wanted)]) + "\n")


def set_up(mode: str) -> Path:
    """Every step both modes share; returns the venv's interpreter."""
    started = time.monotonic()
    install_os_packages(mode)
    python = venv_python()
    install_workshop(python, EXTRAS[mode])
    workshop = str(VENV_BIN / "workshop")
    say("Docker engine: starting one if none answers")
    run([workshop, "engine", "start"])
    if os.geteuid() == 0:
        say("BuildKit: the buildx plugin (installed if missing)")
        if subprocess.call([workshop, "engine", "install-buildx"]) != 0:
            say("Going on without buildx: grading uses the classic builder, and the tests of the BuildKit back end "
                "will fail and say so.")
    say("Base images and the postgres:15 service image: present, pulled, or built as local stand-ins")
    run([workshop, "bases"])
    say(f"Set-up done in {time.monotonic() - started:.1f} s")
    return python


def bare_environment(home: Path) -> dict[str, str]:
    """The suite's environment: PATH is the venv's bin and the OS's folders, HOME a folder of its own.

    A tool installed globally by hand (an `alembic` in ~/.local/bin, a buildx plugin in ~/.docker) cannot then
    hide a dependency the README's commands forgot."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join((str(VENV_BIN), *OS_PATH))
    env["HOME"] = str(home)
    return env


def run_tests(python: Path, pytest_args: list[str]) -> int:
    say("Running the test suite (PATH: the venv's bin and the OS's; HOME: a fresh folder)")
    with tempfile.TemporaryDirectory(prefix="workshop-test-home-") as home:
        return subprocess.call([str(python), "-m", "pytest", *pytest_args], cwd=REPO_ROOT,
                               env=bare_environment(Path(home)))


def run_lab(lab_args: list[str]) -> int:
    """`workshop lab` in a session of its own; SIGINT, SIGTERM or SIGHUP here stops it and its kernels.

    JupyterLab shuts its kernels down on SIGTERM; any process of this lab still running LAB_STOP_GRACE_S after it
    exits is killed, so stopping this command never leaves a server or a kernel behind."""
    marker = f"{os.getpid()}-{time.time_ns()}"
    lab = subprocess.Popen([str(VENV_BIN / "workshop"), "lab", *lab_args], start_new_session=True,
                           env=dict(os.environ, **{LAB_MARKER: marker}))

    def stop(signum: int, frame: FrameType | None) -> None:
        if lab.poll() is None:
            say("Stopping JupyterLab and its kernels")
            lab.terminate()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    say(f"JupyterLab runs as pid {lab.pid}; stop it with Ctrl-C here or `kill {os.getpid()}`")
    code = lab.wait()
    _reap(marker)
    return 0 if code in (0, -signal.SIGTERM) else code


def processes_marked(marker: str, variable: str = LAB_MARKER) -> list[int]:
    """Pids whose environment carries `variable=marker`: for a lab, JupyterLab, its kernels and their children."""
    needle = f"{variable}={marker}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue  # gone, or not ours to read
    return found


def _reap(marker: str) -> None:
    """Give kernels the grace time to end with their server, then kill whatever of this lab is left."""
    deadline = time.monotonic() + LAB_STOP_GRACE_S
    while (left := processes_marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    mode, rest = argv[0], argv[1:]
    python = set_up(mode)
    if mode == "lab":
        return run_lab(rest)
    return run_tests(python, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
