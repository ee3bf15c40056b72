"""The naive baseline: the exercise's starting Dockerfile, built once and cached, for `reduction`.

The learner edits exercises/<app>/Dockerfile in place, so the starting point is the pristine copy in
grader/starters (the one `workshop reset` restores). The result is remembered in STATE_DIR/baseline/<app>.json,
keyed by the Dockerfile, the app folder's files (names, sizes, mtimes), the base images' ids and the grader's
version, and reused while its image is still on the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import docker

from grader.context import assemble_context
from grader.dockerfile import parse_dockerfile
from grader.engine.build import Builder, BuildRequest
from grader.engine.cache_files import load_json, store_json
from grader.errors import GradeError
from grader.exercises import starting_dockerfile
from grader.model import BaselineFacts, ProgressCallback
from grader.paths import APPS_DIR, PROJECT_LABEL, STATE_DIR

__all__ = [
    "BASELINE_DIR",
    "baseline_tag",
    "cached_baseline",
    "context_fingerprint",
    "ensure_baseline",
]

BASELINE_DIR = STATE_DIR / "baseline"


def baseline_tag(exercise: str) -> str:
    return f"docker-diet-workshop/{exercise}:naive"


def context_fingerprint(app_dir: Path) -> str:
    """Names, sizes and mtimes of the app folder's files: the naive build sends all of it (node_modules
    included, if present), so the baseline is rebuilt when any of it changes."""
    digest = hashlib.sha256()
    count = 0
    for root, dirs, files in os.walk(app_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            digest.update(f"{os.path.relpath(full, app_dir)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
            count += 1
    return f"{count}:{digest.hexdigest()[:24]}"


def _key(api: docker.APIClient, text: str, app_dir: Path) -> dict[str, str]:
    """Everything the naive image depends on (grader.cache_keys): Dockerfile, app files, base ids, grader."""
    from grader.cache_keys import grader_version
    from grader.image_policy import external_images

    bases = {}
    for use in external_images(parse_dockerfile(text)):
        try:
            bases[use.name] = str(api.inspect_image(use.name)["Id"])  # type: ignore[no-untyped-call]
        except docker.errors.APIError:
            bases[use.name] = "<missing>"
    return {"dockerfile_sha256": hashlib.sha256(text.encode()).hexdigest(), "context": context_fingerprint(app_dir),
            "bases": json.dumps(bases, sort_keys=True), "grader": grader_version()}


def _cache_file(exercise: str) -> Path:
    return BASELINE_DIR / f"{exercise}.json"


def cached_baseline(api: docker.APIClient, exercise: str, text: str | None = None,
                    app_dir: Path | None = None) -> BaselineFacts | None:
    """The remembered baseline when its Dockerfile and app are unchanged and its image still exists."""
    try:
        data = load_json(_cache_file(exercise))  # a cut-short file is a miss (grader/engine/cache_files.py)
        if data is None:
            return None
        text = text if text is not None else starting_dockerfile(exercise)
        key = _key(api, text, app_dir or APPS_DIR / exercise.split("-custom-")[0])
        if any(data.get(name) != value for name, value in key.items()):
            return None
        api.inspect_image(data["image_id"])  # type: ignore[no-untyped-call]
        return BaselineFacts(data["image_id"], int(data["size_bytes"]), float(data["build_seconds"]))
    except (OSError, ValueError, KeyError, TypeError, docker.errors.APIError, GradeError):
        return None


def ensure_baseline(api: docker.APIClient, exercise: str, builder: Builder, *, timeout_s: float = 1800,
                    progress: ProgressCallback | None = None, dockerfile: Path | None = None,
                    app_dir: Path | None = None) -> BaselineFacts:
    """Build the naive image once (minutes on a cold machine) and remember it.

    `dockerfile` and `app_dir` replace the exercise's starting Dockerfile and app (tests, instructors)."""
    text = dockerfile.read_text() if dockerfile else starting_dockerfile(exercise)
    if dockerfile is not None:  # a custom baseline never replaces the exercise's own
        exercise = f"{exercise}-custom-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    app_dir = app_dir or APPS_DIR / exercise.split("-custom-")[0]
    cached = cached_baseline(api, exercise, text, app_dir)
    if cached is not None:
        return cached
    info = parse_dockerfile(text)
    key = _key(api, text, app_dir)
    context = assemble_context(app_dir, text, None)
    labels = {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "naive", f"{PROJECT_LABEL}.exercise": exercise}
    build = builder.build(BuildRequest(context, info, baseline_tag(exercise), labels, timeout_s=timeout_s,
                                       progress=progress))
    size = int(api.inspect_image(build.image_id)["Size"])  # type: ignore[no-untyped-call]
    facts = BaselineFacts(build.image_id, size, build.seconds)
    store_json(_cache_file(exercise), {
        **key, "image_id": facts.image_id, "size_bytes": facts.size_bytes, "build_seconds": facts.build_seconds,
    })
    return facts
