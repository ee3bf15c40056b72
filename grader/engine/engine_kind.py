"""Which kind of engine the grader talks to, so the inspection reads the image the way that engine allows.

Learners bring Docker Desktop (the engine runs in a VM: its storage is not this machine's files), a new engine with
the containerd image store (the default on new installs since Engine 29: no overlay2 folders, `docker save` writes
an OCI layout with compressed layer blobs, and image sizes mean something else), a rootless engine (its storage
belongs to another user) or a remote one (`DOCKER_HOST=tcp://...` or `ssh://...`). The grader reads the engine's
files only when the engine is reached through a local socket and those files are readable; everything
else goes through the API (one streamed `docker save`).

What the engine reports is read once per client (`docker info` costs a round trip, and over ssh a lot more).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import docker

__all__ = ["CLASSIC", "CONTAINERD", "EngineKind", "StoreSizes", "engine_kind", "engine_transport", "kind_from",
           "store_sizes"]

CLASSIC = "classic"
CONTAINERD = "containerd"
_SNAPSHOTTER = "io.containerd.snapshotter.v1"


@dataclass(frozen=True)
class EngineKind:
    """`transport`: unix, npipe, tcp or ssh. `local`: the engine may share this machine's files (a unix socket or a
    named pipe; TCP, even to 127.0.0.1, may be a tunnel); only then may the grader look for its storage folders or
    make cgroups for its builds. `image_store`: classic (graph drivers such
    as overlay2) or containerd (snapshotters)."""

    transport: str
    local: bool
    image_store: str
    storage_driver: str


def engine_transport(base_url: str) -> tuple[str, bool]:
    """('unix', True) for docker-py's base URL of a socket, ('tcp', False) for tcp://10.0.0.5:2376, and so on."""
    if base_url.startswith(("http+unix://", "unix://", "http+docker://")):
        return "unix", True
    if base_url.startswith("npipe://"):
        return "npipe", True
    parsed = urlparse(base_url)
    if parsed.scheme == "ssh":
        return "ssh", False
    return "tcp", False  # even 127.0.0.1 may be a tunnel (`ssh -L`) to another machine


def kind_from(base_url: str, info: Mapping[str, Any]) -> EngineKind:
    """The engine's kind from the client's base URL and `docker info` (pure: tests give both)."""
    transport, local = engine_transport(base_url)
    status = {str(pair[0]).lower(): str(pair[1]) for pair in info.get("DriverStatus") or () if len(pair) == 2}
    containerd = status.get("driver-type", "") == _SNAPSHOTTER
    return EngineKind(transport=transport, local=local, image_store=CONTAINERD if containerd else CLASSIC,
                      storage_driver=str(info.get("Driver", "?")))


_KINDS: dict[tuple[str, int], EngineKind] = {}
_LOCK = threading.Lock()


def engine_kind(api: docker.APIClient) -> EngineKind:
    """The kind of the engine `api` talks to, read once per client."""
    key = (str(api.base_url), id(api))
    with _LOCK:
        if key not in _KINDS:
            _KINDS[key] = kind_from(str(api.base_url), api.info())
        return _KINDS[key]


@dataclass(frozen=True)
class StoreSizes:
    """An image's sizes as the containerd image store reports them (`docker image inspect --manifests`,
    `docker images` on Engine 29): `unpacked` is what its layers take once unpacked (the classic store's `Size`,
    which the budgets are set against), `content` what its compressed blobs take (what a registry stores and a
    node pulls). The API's own `Size` is neither: packed-only on some engines, packed plus unpacked on newer ones."""

    unpacked: int
    content: int


def store_sizes(inspected: Mapping[str, Any]) -> StoreSizes | None:
    """The sizes of the available image manifests of an inspection made with `manifests=1`, or None when the
    engine gave none (the classic store, or an API older than 1.48)."""
    unpacked = content = 0
    for manifest in inspected.get("Manifests") or ():
        data = manifest.get("ImageData") if manifest.get("Available") else None
        if not data:
            continue  # an attestation, or a platform that was not pulled
        unpacked += int((data.get("Size") or {}).get("Unpacked") or 0)
        content += int((manifest.get("Size") or {}).get("Content") or 0)
    return StoreSizes(unpacked, content) if unpacked else None
