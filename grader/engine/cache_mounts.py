"""Give each submission its own BuildKit cache mounts.

BuildKit keys a `RUN --mount=type=cache` by its `id` (default: the target path), engine-wide: without this, one
learner's build could plant files in /root/.npm that the next learner's `npm ci` reads. Before a buildx build,
every cache mount's id is prefixed with a namespace derived from the build's tag, which is unique per submission
(`grade-class`) and stable across regrades of it (so a learner still gets the speed-up lesson 08 teaches).
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "cache_namespace",
    "scope_cache_mounts",
]

_MOUNT = re.compile(r"(?<![^\s\\])--mount=(\"[^\"]*\"|'[^']*'|\S+)")


def cache_namespace(tag: str) -> str:
    """A short, stable namespace per image tag (tags are per submission)."""
    return "ddw-" + hashlib.sha256(tag.encode()).hexdigest()[:16]


def _scope(spec: str, namespace: str) -> str:
    quote = spec[0] if spec[:1] in "\"'" and spec[-1:] == spec[:1] and len(spec) > 1 else ""
    body = spec[1:-1] if quote else spec
    fields = [field for field in body.split(",") if field]
    pairs = [field.partition("=") for field in fields]
    if not any(key.strip().lower() == "type" and value.strip().lower() == "cache" for key, _, value in pairs):
        return spec
    target = next((value for key, _, value in pairs if key.strip().lower() in ("target", "dst", "destination")), "")
    given = next((value for key, _, value in pairs if key.strip().lower() == "id"), target)
    kept = [field for (key, _, _), field in zip(pairs, fields, strict=True) if key.strip().lower() != "id"]
    scoped = ",".join([*kept, f"id={namespace}/{given.lstrip('/')}"])
    return f"{quote}{scoped}{quote}"


def scope_cache_mounts(dockerfile_text: str, namespace: str) -> str:
    """The Dockerfile with every `--mount=type=cache` id put under `namespace`; other text unchanged, so line
    numbers in build errors stay the learner's."""
    return _MOUNT.sub(lambda m: "--mount=" + _scope(m.group(1), namespace), dockerfile_text)
