"""A throwaway PostgreSQL server for the live view's "PostgreSQL by URL" (Debian's postgresql package).

It listens on 127.0.0.1 only, at a free port, with its data and socket in a temporary folder; as root it runs as
the package's `postgres` user (PostgreSQL refuses to run as root), and it is stopped and removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .serving import free_port

__all__ = ["PostgresServer"]


def _program(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("PostgreSQL is not installed: `python3 grader/bootstrap.py test` installs Debian's postgresql.",
                    pytrace=False)
    return found[-1]


class PostgresServer:
    """`postgres -D <tmp> -c listen_addresses=127.0.0.1 -p <port>`; `url` names a database `serve` on it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="workshop-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://workshop@127.0.0.1:{self.port}/serve"

    def _command(self, *words: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *words] if self.as_root else list(words)

    def start(self) -> None:
        data = self.folder / "data"
        subprocess.run(self._command(_program("initdb"), "-D", str(data), "-U", "workshop", "--auth=trust",
                                     "-E", "UTF8"), check=True, capture_output=True, timeout=120)
        self.process = subprocess.Popen(
            self._command(_program("postgres"), "-D", str(data), "-p", str(self.port),
                          "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while subprocess.run([_program("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            assert self.process.poll() is None and time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.2)
        subprocess.run([_program("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "workshop", "serve"],
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
