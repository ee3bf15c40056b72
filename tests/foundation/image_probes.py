"""What the image tests read off a real image: its exported file system, and its health as the engine reports it."""

from __future__ import annotations

import tarfile
import time
from collections.abc import Iterable, Iterator

import docker

from grader.paths import PROJECT_LABEL


def exported_members(client: docker.DockerClient, image: str) -> list[tarfile.TarInfo]:
    """Every entry of the image's exported file system, read as a tar stream (so the image needs no shell)."""
    container = client.containers.create(image, labels={PROJECT_LABEL: "test"})
    try:
        with tarfile.open(fileobj=_ChunkReader(container.export(chunk_size=1 << 20)), mode="r|") as archive:
            return list(archive)
    finally:
        container.remove(force=True)


def wait_healthy(container: docker.models.containers.Container, within_s: float) -> str:
    """The container's health once it is decided (healthy, unhealthy, none) or it exited, or when time runs out."""
    deadline = time.monotonic() + within_s
    status = "starting"
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            return "exited"
        status = container.attrs["State"].get("Health", {}).get("Status", "none")
        if status in ("healthy", "unhealthy", "none"):
            return status
        time.sleep(1)
    return status


class _ChunkReader:
    """A file-like view of the engine's chunked export stream, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
