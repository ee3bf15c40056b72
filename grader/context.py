"""Assemble the build context: apps/<app> + the learner's Dockerfile + their .dockerignore, as one tar.

The engine never sees the repository: it gets exactly what `docker build` would send from an app folder
holding the learner's two files, with the .dockerignore applied (the docker SDK's own matcher, the same rules
as the CLI). Its size is what `context-size` grades.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths

#: Names the learner's files take inside the context.
DOCKERFILE_NAME = "Dockerfile"
DOCKERIGNORE_NAME = ".dockerignore"


@dataclass(frozen=True)
class BuildContext:
    """A tar on disk (spooled), its size, and the Dockerfile text it carries."""

    tar: IO[bytes]
    size_bytes: int
    dockerfile_text: str
    file_count: int


def read_dockerignore(text: str) -> list[str]:
    """Patterns from a .dockerignore: comments and blank lines dropped, as the CLI does."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def assemble_context(app_dir: Path, dockerfile_text: str, dockerignore_text: str | None) -> BuildContext:
    """Tar app_dir with the ignore rules applied, then add the learner's Dockerfile and .dockerignore."""
    patterns = read_dockerignore(dockerignore_text or "")
    spooled = tempfile.SpooledTemporaryFile(max_size=32 << 20)
    count = 0
    with tarfile.open(fileobj=spooled, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel in sorted(exclude_paths(str(app_dir), patterns, dockerfile=DOCKERFILE_NAME)):
            if rel in (DOCKERFILE_NAME, DOCKERIGNORE_NAME):
                continue
            full = os.path.join(app_dir, rel)
            info = tar.gettarinfo(full, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(full, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
            count += 1
        _add_bytes(tar, DOCKERFILE_NAME, dockerfile_text.encode())
        if dockerignore_text is not None:
            _add_bytes(tar, DOCKERIGNORE_NAME, dockerignore_text.encode())
    size = spooled.tell()
    spooled.seek(0)
    return BuildContext(tar=spooled, size_bytes=size, dockerfile_text=dockerfile_text, file_count=count)
