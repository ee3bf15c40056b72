"""Assemble the build context: apps/<app> + the learner's Dockerfile + their .dockerignore, as one tar.

The engine never sees the repository: it gets exactly what `docker build` would send from an app folder
holding the learner's two files, with the .dockerignore applied (the docker SDK's own matcher, the same rules
as the CLI). Its size is what `context-size` grades.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import exclude_paths
from docker.utils.fnmatch import translate

from grader.errors import DockerfileError

__all__ = ["DOCKERFILE_NAME", "DOCKERIGNORE_NAME", "BuildContext", "assemble_context", "read_dockerignore"]

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
    sha256: str = ""  # of the tar: what the engine was sent (a cache key part)
    paths: tuple[str, ...] = ()  # the app's files and folders sent, relative ("src/main.ts"): `context-size` reads them


def read_dockerignore(text: str, name: str = DOCKERIGNORE_NAME) -> list[str]:
    """Patterns from a .dockerignore: comments and blank lines dropped, as the CLI does; a pattern the engine
    would reject (`[z-a]`, a trailing backslash) raises DockerfileError naming its line."""
    patterns = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            _check_pattern(line, number, name)
            patterns.append(line)
    return patterns


def _check_pattern(pattern: str, line: int, name: str) -> None:
    body = pattern[1:].strip() if pattern.startswith("!") else pattern
    problem = "it ends with a lone backslash" if re.search(r"(?<!\\)(\\\\)*\\$", body) else None
    if problem is None:
        try:
            with warnings.catch_warnings():  # "possible nested set" for `[[`: Go reads it fine, so do we
                warnings.simplefilter("ignore", FutureWarning)
                re.compile(translate(os.path.normpath(body) if body else body))
        except (re.error, ValueError, RecursionError) as exc:
            problem = str(exc)
    if problem:
        raise DockerfileError(f"{name}, line {line}: the pattern `{pattern[:80]}` is invalid ({problem}). "
                              "Fix or remove that line (patterns use Go's filepath.Match syntax, "
                              "e.g. `node_modules`, `**/*.log`, `!keep.txt`).", step=name, line=line)


def _included(app_dir: Path, patterns: list[str]) -> list[str]:
    """The context's paths after the ignore rules; the SDK walks without following links out of app_dir."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return sorted(exclude_paths(str(app_dir), list(patterns), dockerfile=DOCKERFILE_NAME))
    except (re.error, ValueError, RecursionError) as exc:
        raise DockerfileError(f"{DOCKERIGNORE_NAME}: a pattern could not be applied ({exc}). Simplify the "
                              "patterns (e.g. `node_modules`, `**/*.log`).", step=DOCKERIGNORE_NAME) from None


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_path(tar: tarfile.TarFile, full: str, rel: str) -> None:
    """One entry, taken from lstat (a link stays a link); a regular file is opened with O_NOFOLLOW and its fd
    checked again, so a file swapped for a link meanwhile is never followed."""
    info = tar.gettarinfo(full, arcname=rel)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if not info.isfile():
        tar.addfile(info)
        return
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DockerfileError(f"{full} changed while the context was assembled; grade again.")
        tar.addfile(info, handle)


def _sha256(handle: IO[bytes]) -> str:
    digest = hashlib.sha256()
    handle.seek(0)
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def assemble_context(app_dir: Path, dockerfile_text: str, dockerignore_text: str | None) -> BuildContext:
    """Tar app_dir with the ignore rules applied, then add the learner's Dockerfile and .dockerignore."""
    included = _included(app_dir, read_dockerignore(dockerignore_text or ""))
    spooled = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - the BuildContext returned owns it
    count = 0
    sent: list[str] = []
    with tarfile.open(fileobj=spooled, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel in included:
            if rel in (DOCKERFILE_NAME, DOCKERIGNORE_NAME):
                continue
            _add_path(tar, os.path.join(app_dir, rel), rel)
            sent.append(rel)
            count += 1
        _add_bytes(tar, DOCKERFILE_NAME, dockerfile_text.encode())
        if dockerignore_text is not None:
            _add_bytes(tar, DOCKERIGNORE_NAME, dockerignore_text.encode())
    size = spooled.tell()
    return BuildContext(tar=spooled, size_bytes=size, dockerfile_text=dockerfile_text, file_count=count,
                        sha256=_sha256(spooled), paths=tuple(sent))
