"""Regrade on save, shared by `workshop watch` (grader/cli/watch.py) and the grade panel's Watch toggle: which
files to watch, their state (content, not mtimes: an editor that rewrites a file unchanged does not regrade), and
the checks that changed between two grades.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.model import Report
from grader.project import CONTRACT_PLACES, SETTINGS_FILES

__all__ = ["Change", "FileState", "changes", "snapshot", "watched_files"]

#: One file's state: (path, size, sha256 of its content), or (path, -1, "") while it is missing.
FileState = tuple[str, int, str]


def watched_files(dockerfile: Path, dockerignore: Path | None, context: Path | None) -> tuple[Path, ...]:
    """The Dockerfile, every ignore file the grader could read, and a project's probe.toml and workshop.toml."""
    paths = [dockerfile, dockerfile.parent / f"{dockerfile.name}.dockerignore", dockerfile.parent / ".dockerignore"]
    if dockerignore is not None:
        paths.append(dockerignore)
    if context is not None:
        paths += [context / ".dockerignore", *(context / name for name in (*CONTRACT_PLACES, *SETTINGS_FILES))]
    return tuple(dict.fromkeys(paths))


def snapshot(paths: Sequence[Path]) -> tuple[FileState, ...]:
    states = []
    for path in paths:
        try:
            data = path.read_bytes() if path.is_file() else None
        except OSError:
            data = None
        states.append((str(path), -1, "") if data is None else
                      (str(path), len(data), hashlib.sha256(data).hexdigest()))
    return tuple(states)


@dataclass(frozen=True)
class Change:
    """One check whose status or points moved between two grades."""

    check_id: str
    before: str
    after: str


def _verdict(status: str, points: float, max_points: float) -> str:
    return f"{status} {points:g}/{max_points:g}"


def changes(before: Report, after: Report) -> list[Change]:
    """Checks whose status or points differ (new or gone checks too), in the new report's order."""
    old = {c.id: _verdict(c.status.value, c.points, c.max_points) for c in before.checks}
    new = {c.id: _verdict(c.status.value, c.points, c.max_points) for c in after.checks}
    found = [Change(cid, old.get(cid, "absent"), verdict) for cid, verdict in new.items() if old.get(cid) != verdict]
    return found + [Change(cid, verdict, "absent") for cid, verdict in old.items() if cid not in new]
