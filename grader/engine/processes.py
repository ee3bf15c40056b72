"""Who ran in the graded container, sampled from the engine for the whole run: every process, not only PID 1.

USER says who PID 1 starts as; a setuid-root program started later runs with effective uid 0 whatever USER says.
A background thread asks the engine for `docker top` (the host's ps, so the image needs no ps, shell or /proc
reader) with the effective uid of every process, from the start until just before the container is removed, and
keeps every distinct (euid, command) it saw, up to MAX_SEEN. A process that starts and ends between two samples
can be missed: the sampling is a floor, not a proof (docs/security.md says so). The runtime's own `runc:[...]`
helpers (an exec or healthcheck being set up, root for a few milliseconds) count only when the same pid is still
there one sample later, so a long-lived process cannot hide behind that name.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import docker

from grader.model import ProcessSeen

__all__ = ["MAX_SEEN", "PS_ARGS", "SAMPLE_S", "ProcessSampler", "parse_top"]

#: ps columns: the engine needs PID to match processes to the container; euid is the one that decides.
PS_ARGS = "-o pid,euid,comm"
SAMPLE_S = 0.2
MAX_SEEN = 64
_COMMAND_MAX = 40
_ROOT_EXTRA = 8
_RUNTIME_HELPER = "runc:["


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:_COMMAND_MAX]


def parse_top(top: Mapping[str, Any]) -> list[tuple[str, ProcessSeen]]:
    """The (pid, (euid, command)) rows of one `docker top` answer; rows that do not parse are left out."""
    titles = [str(title).upper() for title in top.get("Titles") or []]
    if "EUID" not in titles or "PID" not in titles:
        return []
    euid_at, pid_at = titles.index("EUID"), titles.index("PID")
    command_at = next((i for i, title in enumerate(titles) if title in ("COMMAND", "COMM", "CMD")), None)
    seen = []
    for row in top.get("Processes") or []:
        cells = [str(cell) for cell in row]
        if len(cells) <= max(euid_at, pid_at) or not cells[euid_at].strip().isdigit():
            continue
        command = cells[command_at] if command_at is not None and command_at < len(cells) else "?"
        seen.append((cells[pid_at].strip(), ProcessSeen(int(cells[euid_at]), _printable(command.strip()))))
    return seen


class ProcessSampler:
    """`start(container_id)` samples in a thread; `stop()` ends it and returns what was seen (idempotent)."""

    def __init__(self, api: docker.APIClient) -> None:
        self._api = api
        self._seen: dict[ProcessSeen, None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._runtime_helpers: set[tuple[str, ProcessSeen]] = set()  # runc:[...] rows of the previous sample

    def start(self, container_id: str) -> None:
        self._thread = threading.Thread(target=self._sample, args=(container_id,), daemon=True)
        self._thread.start()

    def sample_once(self, container_id: str) -> None:
        try:
            rows = parse_top(dict(self._api.top(container_id, ps_args=PS_ARGS)))
        except docker.errors.APIError:  # not running (yet, or any more): nothing to see
            return
        helpers = {(pid, row) for pid, row in rows if row.command.startswith(_RUNTIME_HELPER)}
        lasting = helpers & self._runtime_helpers
        self._runtime_helpers = helpers
        with self._lock:
            for pid, row in rows:
                if (pid, row) in helpers and (pid, row) not in lasting:
                    continue
                roots = sum(1 for seen in self._seen if seen.euid == 0)
                # Bounded; a root process still gets in when the table is full of others (a few of them).
                if len(self._seen) < MAX_SEEN or (row.euid == 0 and roots < _ROOT_EXTRA):
                    self._seen.setdefault(row)

    def _sample(self, container_id: str) -> None:
        while True:
            self.sample_once(container_id)
            if self._stop.wait(SAMPLE_S):
                return

    def stop(self) -> tuple[ProcessSeen, ...]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            return tuple(self._seen)
