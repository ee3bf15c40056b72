"""The grader's own tools inside its probe containers: a static busybox, never a program the image provides.

An image can hide, rename or remove anything it ships (a shell, `sleep`, node, PATH itself), so a probe that
borrows the image's programs can be made to give up. The grader brings a statically linked busybox (Debian's
`busybox-static`, installed by `grader/bootstrap.py`) and copies it, with the Docker API's put_archive, into a
probe container that is created but not yet started, under a directory whose name is new for every grade (an image
cannot plant something there in advance). put_archive goes through the engine, so it works with a remote engine
too. The graded app container is never touched.
"""

from __future__ import annotations

import functools
import io
import os
import secrets
import struct
import tarfile
from pathlib import Path

import docker

__all__ = [
    "BUSYBOX_CANDIDATES",
    "BUSYBOX_FIX",
    "Toolbox",
    "ToolboxMissing",
    "find_busybox",
    "is_static_elf",
    "put_toolbox",
]

#: Where Debian's busybox-static puts its binary (WORKSHOP_BUSYBOX, when set, is tried first).
BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
BUSYBOX_FIX = ("install Debian's busybox-static package (`python3 grader/bootstrap.py lab` as root does it, or "
               "`sudo apt-get install busybox-static`), then `workshop doctor`")
_PT_INTERP = 3


class ToolboxMissing(Exception):
    """The grader has no static busybox to bring; the message names what was looked at and the fix."""


def is_static_elf(path: Path) -> bool:
    """An ELF executable with no program interpreter, so it runs in an image without a libc (FROM scratch)."""
    try:
        with path.open("rb") as handle:
            header = handle.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit only
                return False
            order = "<" if header[5] == 1 else ">"
            phoff, = struct.unpack_from(order + "Q", header, 32)
            phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
            handle.seek(phoff)
            table = handle.read(phentsize * min(phnum, 256))
    except OSError:
        return False
    types = [struct.unpack_from(order + "I", table, i * phentsize)[0] for i in range(len(table) // max(phentsize, 1))]
    return bool(types) and _PT_INTERP not in types


def find_busybox() -> Path:
    """The first static busybox among WORKSHOP_BUSYBOX and BUSYBOX_CANDIDATES; ToolboxMissing names the fix."""
    override = os.environ.get("WORKSHOP_BUSYBOX")
    candidates = ((override,) if override else ()) + BUSYBOX_CANDIDATES
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and is_static_elf(path):
            return path
    raise ToolboxMissing(f"the grader's static busybox is missing (looked at {', '.join(candidates)}; a "
                         f"dynamically linked one cannot run in an image without a libc): {BUSYBOX_FIX}")


@functools.lru_cache(maxsize=2)
def _archive(path: Path, directory: str, mtime_ns: int) -> bytes:
    """A tar with `directory/` and `directory/busybox` (root-owned, 0755), made once per binary and directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(directory)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        data = path.read_bytes()
        member = tarfile.TarInfo(f"{directory}/busybox")
        member.size, member.mode = len(data), 0o755
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class Toolbox:
    """The grader's busybox at a fresh path: `command("sleep", "1")` is the argv that runs its applet."""

    def __init__(self, busybox: Path | None = None) -> None:
        self.busybox = busybox or find_busybox()
        self.directory = f".workshop-{secrets.token_hex(6)}"

    @property
    def path(self) -> str:
        return f"/{self.directory}/busybox"

    def command(self, applet: str, *args: str) -> tuple[str, ...]:
        return (self.path, applet, *args)

    def archive(self) -> bytes:
        return _archive(self.busybox, self.directory, self.busybox.stat().st_mtime_ns)


def put_toolbox(api: docker.APIClient, container_id: str, toolbox: Toolbox) -> None:
    """Copy the busybox into a created (not yet started) probe container; APIError when the engine refuses."""
    if not api.put_archive(container_id, "/", toolbox.archive()):
        raise docker.errors.APIError(f"the engine refused to copy the grader's busybox to {toolbox.path}")
