"""A real PostgreSQL for the app probe, so that psycopg2 in the learner's image talks to a real server.

The server runs in a container of the grader's own that joins the app container's network namespace and listens
on its loopback only (`listen_addresses=127.0.0.1`): the app keeps `network_mode="none"` and no traffic crosses a
bridge. The code follows the official `postgres` image's contract (POSTGRES_USER/PASSWORD/DB, default CMD
`postgres`, `pg_isready` on PATH, PGDATA=/var/lib/postgresql/data), which the workshop's local stand-in honours too.
PGDATA is a tmpfs and syncing is off: the data lives for one probe. The server runs as `postgres` with no
capabilities (the app shares its loopback and knows the password). The server starts in the background while the
app turns healthy; when the image is missing or the server does not come up, the probe still runs and the report
carries a "database not available" note instead.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import docker
from docker.types import LogConfig

from grader.app_contract import DatabaseSpec
from grader.paths import PROJECT_LABEL

__all__ = [
    "DB_NAME",
    "DB_PORT",
    "DB_USER",
    "READY_TIMEOUT_S",
    "Database",
]

#: The image's own superuser and database: the entrypoint then skips CREATE DATABASE (seconds on a loaded machine).
DB_USER = "postgres"
DB_NAME = "postgres"
DB_PORT = 5432
READY_TIMEOUT_S = 30.0  # generous: a cold initdb on a loaded 2-core machine took up to 16 s
_PGDATA = "/var/lib/postgresql/data"
_FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
_FIX = "`workshop bases` makes it"


@dataclass
class Database:
    """One PostgreSQL for one probe: `url` goes into the app's environment before the app is created; `start`
    joins the app's namespace once it runs; `wait` says whether it is ready (None) or why not; `remove` always."""

    api: docker.APIClient
    spec: DatabaseSpec
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    container_id: str | None = None
    problem: str | None = None
    ready_s: float | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{DB_USER}:{self.password}@127.0.0.1:{DB_PORT}/{DB_NAME}"

    def start(self, app_container_id: str) -> None:
        """Start the server beside the app, in the background (it initialises while the app turns healthy)."""
        self._thread = threading.Thread(target=self._start, args=(app_container_id,), daemon=True)
        self._thread.start()

    def wait(self) -> str | None:
        """None once the server answers pg_isready; else the reason, as the report's note."""
        if self._thread is None:
            return f"database not available: it was never started; {_FIX}"
        self._thread.join(READY_TIMEOUT_S + 15)
        if self._thread.is_alive():
            return f"database not available: it did not start within {READY_TIMEOUT_S:g} s; {_FIX}"
        return None if self.problem is None else f"database not available: {self.problem}; {_FIX}"

    def remove(self) -> None:
        if self._thread is not None:
            self._thread.join(READY_TIMEOUT_S + 15)
        if self.container_id:
            try:
                self.api.remove_container(self.container_id, force=True, v=True)
            except docker.errors.APIError:
                pass  # already gone

    def _start(self, app_container_id: str) -> None:
        started = time.monotonic()
        try:
            self.api.inspect_image(self.spec.image_name)  # type: ignore[no-untyped-call]
        except docker.errors.ImageNotFound:
            self.problem = f"the image {self.spec.image_name} is not on this machine"
            return
        except docker.errors.APIError as exc:
            self.problem = f"the image {self.spec.image_name} cannot be used ({exc.explanation or exc})"
            return
        try:
            self.container_id = self._create(app_container_id)
            self.api.start(self.container_id)
            self.problem = self._until_ready(started)
        except docker.errors.APIError as exc:
            self.problem = f"PostgreSQL could not start ({str(exc.explanation or exc)[:200]})"
        if self.problem is None:
            self.ready_s = round(time.monotonic() - started, 2)

    def _create(self, app_container_id: str) -> str:
        # The app shares this loopback and holds the password: the server runs as `postgres` (uid 999 in the official
        # image and the stand-in) with no capabilities, on tmpfs it owns, so nothing needs root or chown.
        owned = "uid=999,gid=999,mode=0700"
        host_config = self.api.create_host_config(
            network_mode=f"container:{app_container_id}", mem_limit=256 * 1024 * 1024,
            memswap_limit=256 * 1024 * 1024, pids_limit=128, nano_cpus=1_000_000_000, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], shm_size=64 * 1024 * 1024,
            tmpfs={_PGDATA: f"size=256m,{owned}", "/var/run/postgresql": "size=1m,uid=999,gid=999"},
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        )
        environment = {"POSTGRES_USER": DB_USER, "POSTGRES_PASSWORD": self.password, "POSTGRES_DB": DB_NAME,
                       "POSTGRES_INITDB_ARGS": "--no-sync", "PGDATA": _PGDATA}
        labels = {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "app-probe-database"}
        command = ["postgres", "-c", "listen_addresses=127.0.0.1", "-c", f"port={DB_PORT}", *_FAST]
        container = self.api.create_container(self.spec.image_name, command=command, environment=environment,
                                              user="postgres", labels=labels, host_config=host_config, detach=True)
        return str(container["Id"])

    def _until_ready(self, started: float) -> str | None:
        """Poll `pg_isready` over TCP (the official image's first, socket-only server does not count)."""
        assert self.container_id is not None
        check = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(DB_PORT), "-U", DB_USER, "-d", DB_NAME]
        while time.monotonic() - started < READY_TIMEOUT_S:
            state: dict[str, Any] = self.api.inspect_container(self.container_id)["State"]
            if not state.get("Running"):
                return f"PostgreSQL exited with code {state.get('ExitCode')}{self._log_tail()}"
            exec_id = self.api.exec_create(self.container_id, check)["Id"]
            self.api.exec_start(exec_id)
            if self.api.exec_inspect(exec_id).get("ExitCode") == 0:
                return None
            time.sleep(0.2)
        return f"PostgreSQL was not ready within {READY_TIMEOUT_S:g} s{self._log_tail()}"

    def _log_tail(self) -> str:
        if self.container_id is None:
            return ""
        try:
            raw = self.api.logs(self.container_id, tail=2)[-600:].decode("utf-8", "replace").strip()
        except docker.errors.APIError:
            return ""
        return f" (last log: {' | '.join(raw.splitlines())[:300]})" if raw else ""
