"""`workshop submit APP --to URL`: send the learner's Dockerfile and ignore files to a live view, follow the grade.

Only the learner's own files travel (the Dockerfile, `.dockerignore`, `Dockerfile.dockerignore`); the workers
grade them against their own copy of the app. The grade panel in the notebooks calls `submit_files` too.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.paths import EXERCISES_DIR
from grader.submission_files import present, read_text

__all__ = ["SubmitError", "follow", "learner_files", "submit_files"]


class SubmitError(Exception):
    """The server refused or could not be reached; the message says what to do."""


def learner_files(exercise: str, dockerfile: Path | None = None, dockerignore: Path | None = None) -> dict[str, str]:
    """The files a submission carries, read as the grader reads them (no links, size-limited)."""
    path = dockerfile or EXERCISES_DIR / exercise / "Dockerfile"
    if not present(path):
        raise SubmitError(f"No Dockerfile at {path}.")
    files = {"Dockerfile": read_text(path)}
    candidates = [(".dockerignore", dockerignore)] if dockerignore else [
        ("Dockerfile.dockerignore", path.parent / f"{path.name}.dockerignore"),
        (".dockerignore", path.parent / ".dockerignore")]
    for name, candidate in candidates:
        if candidate is not None and present(candidate):
            files[name] = read_text(candidate)
    return files


def _call(url: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"},
                                     method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the instructor's URL
            return dict(json.loads(response.read(4 * 1024 * 1024)))
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        try:
            detail = str(json.loads(detail).get("detail", detail))
        except ValueError:
            pass
        raise SubmitError(f"The server answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SubmitError(f"No live view answers at {url} ({exc}). Check the URL your instructor gave you.") from exc


def submit_files(base_url: str, token: str, exercise: str, files: dict[str, str]) -> dict[str, Any]:
    """Queue one submission; returns its row (id, state, position)."""
    return _call(base_url.rstrip("/") + "/api/submissions", token, {"exercise": exercise, "files": files})


def follow(base_url: str, token: str, number: int, *, timeout_s: float = 1800.0,
           on_change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Poll one submission until it is graded (or superseded); returns its row with the report."""
    deadline, seen = time.monotonic() + timeout_s, None
    while True:
        row = _call(f"{base_url.rstrip('/')}/api/submissions/{number}", token)
        key = (row["state"], row.get("position"), row.get("message"))
        if key != seen and on_change is not None:
            on_change(row)
        seen = key
        if row["state"] in ("graded", "superseded", "could-not-grade") or time.monotonic() > deadline:
            return row
        time.sleep(1.0)
