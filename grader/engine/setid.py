"""Which setuid-root and setgid-root files the final image holds, found by the grader's own `find`.

A setuid-root executable lets a process that runs as USER 1000 regain root at any time, so `non-root` needs them.
The layer index does not keep file modes (and reading them there would touch every layer reader), so the grader
runs its static busybox's `find` as root, as the only process of a short-lived container of the image beside the
main run: no shell or tool of the image is needed, the container has no network, and its output is capped by the
engine's log limit and by MAX_FILES here. `non-root` then keeps only
the paths a learner's layer provides (ImageFacts.merged knows which layer that is); the base image's own (su,
passwd, mount) are not the learner's doing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import docker

from grader.engine.toolbox import Toolbox, ToolboxMissing, put_toolbox
from grader.model import ImageFacts

if TYPE_CHECKING:
    from grader.engine.run import RunLimits

__all__ = ["FIND_ARGS", "MAX_FILES", "SetidScan", "parse_find_output", "scan_setid_root"]

#: Regular files that are setuid and owned by root, or setgid and grouped root; one file system, no /proc.
FIND_ARGS = ("/", "-xdev", "-type", "f", "(", "(", "-perm", "-4000", "-user", "0", ")", "-o",
             "(", "-perm", "-2000", "-group", "0", ")", ")", "-print")
MAX_FILES = 200
_SCAN_TIMEOUT_S = 30.0
Remove = Callable[[docker.APIClient, str | None], None]


def parse_find_output(raw: bytes) -> tuple[str, ...]:
    """`find -print` lines as paths relative to the root (like ImageFacts.merged), at most MAX_FILES."""
    paths = []
    for line in raw.decode("utf-8", "replace").splitlines():
        path = line.strip().lstrip("/")
        if path and len(path) < 4096:
            paths.append(path)
        if len(paths) >= MAX_FILES:
            break
    return tuple(sorted(set(paths)))


def scan_setid_root(api: docker.APIClient, facts: ImageFacts, create: Callable[..., str], remove: Remove,
                    limits: RunLimits) -> tuple[str, ...] | None:
    """The image's setuid/setgid-root files; None when the grader could not look (no busybox, engine refused)."""
    container_id: str | None = None
    try:
        toolbox = Toolbox()
        container_id = create(api, facts.image_id, "setid-scan", limits, user="0",
                              entrypoint=list(toolbox.command("find", *FIND_ARGS)), command=[],
                              healthcheck={"test": ["NONE"]})
        put_toolbox(api, container_id, toolbox)
        api.start(container_id)
        deadline = time.monotonic() + _SCAN_TIMEOUT_S
        while api.inspect_container(container_id)["State"].get("Running"):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)
        return parse_find_output(api.logs(container_id, stdout=True, stderr=False))
    except (ToolboxMissing, docker.errors.APIError):
        return None
    finally:
        remove(api, container_id)


class SetidScan:
    """scan_setid_root in a thread from the start of the run. Its own container, with no HEALTHCHECK and `find` as
    the only process, so nothing of the image runs beside the scan and can hide a file from it first (a probe
    container would run the image's healthcheck). `result()` waits for it, bounded."""

    def __init__(self, api: docker.APIClient, facts: ImageFacts, limits: RunLimits, create: Callable[..., str],
                 remove: Remove) -> None:
        self._result: list[tuple[str, ...] | None] = []
        self._thread = threading.Thread(
            target=lambda: self._result.append(scan_setid_root(api, facts, create, remove, limits)), daemon=True)
        self._thread.start()

    def result(self) -> tuple[str, ...] | None:
        """The scan's answer (None: it could not look); waits for it, bounded, so its container is gone after."""
        self._thread.join(timeout=_SCAN_TIMEOUT_S + 15)
        return self._result[0] if self._result else None
