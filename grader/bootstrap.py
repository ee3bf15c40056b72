#!/usr/bin/env python3
"""The README's two commands: set everything up on a fresh machine, then open the lab or run the tests.

    python3 grader/bootstrap.py lab     # install, start the engine, make the base images, open JupyterLab
    python3 grader/bootstrap.py test    # install, start the engine, make the base images, run pytest

Standard library only, and run by path (not `-m grader`), because on a fresh machine none of the workshop's
dependencies are installed yet. Everything goes into .venv/ at the repository root, so a Debian system Python
(PEP 668) is never touched. As root on Debian/Ubuntu it also installs the OS packages the workshop needs;
otherwise it expects a running engine (Docker Desktop, or one started by an administrator).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = REPO_ROOT / ".venv"

#: OS packages, by the command that shows they are present: the engine, the rootfs builder, npm for Node.
OS_PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap", "npm": "npm"}
EXTRAS = {"lab": "lab", "test": "lab,test"}


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(command, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(f"Step failed (exit {result.returncode}): {' '.join(command)}")


def install_os_packages() -> None:
    """As root with apt, install what is missing; elsewhere say what the workshop expects instead."""
    missing = [package for command, package in OS_PACKAGES.items() if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        say(f"Not installing {', '.join(missing)} (needs root and apt); a running Docker engine is enough.")
        return
    say(f"Installing OS packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)


def venv_python() -> Path:
    """The virtual environment's interpreter, made on first use and kept."""
    python = VENV_DIR / "bin" / "python"
    if not python.exists():
        say(f"Creating {VENV_DIR}")
        try:
            venv.create(VENV_DIR, with_pip=True)
        except Exception as exc:  # noqa: BLE001 - Debian without python3-venv fails in several ways
            sys.exit(f"Could not create {VENV_DIR} ({exc}). On Debian/Ubuntu: `sudo apt-get install -y python3-venv`.")
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    mode, rest = argv[0], argv[1:]
    install_os_packages()
    python = venv_python()
    say(f"Installing the workshop into {VENV_DIR} (extras: {EXTRAS[mode]})")
    run([str(python), "-m", "pip", "install", "-q", "-e", f"{REPO_ROOT}[{EXTRAS[mode]}]"])
    workshop = str(VENV_DIR / "bin" / "workshop")
    say("Starting the Docker engine if none answers")
    run([workshop, "engine", "start"])
    say("Making the base images present (pull, or build local stand-ins)")
    run([workshop, "bases"])
    if mode == "lab":
        return subprocess.call([workshop, "lab", *rest])
    say("Running the test suite")
    return subprocess.call([str(python), "-m", "pytest", *rest], cwd=REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
