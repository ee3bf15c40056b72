"""Give each submission its own BuildKit cache mounts.

BuildKit keys a `RUN --mount=type=cache` by its `id` (default: the target path), engine-wide: without this, one
learner's build could plant files in /root/.npm that the next learner's `npm ci` reads. Every buildx build gets
the build argument BUILDKIT_CACHE_MOUNT_NS, a namespace derived from the build's tag, which is unique per
submission (`grade-class`) and stable across regrades of it (so a learner still gets the speed-up lesson 08
teaches). BuildKit's Dockerfile frontend (v0.8 on, `CacheIDNamespace`) then puts every cache id under it:
`<namespace>/<id>`. BuildKit does this itself after it has parsed the mount, so every spelling it accepts (quoted
fields, upper-case keys, an id given twice, an ONBUILD trigger, a base image's own triggers) is covered, and the
Dockerfile is never rewritten. A Dockerfile cannot set a build argument; declaring `ARG
BUILDKIT_CACHE_MOUNT_NS` before FROM is refused (grader/build_args.py) so it cannot read the value either.
"""

from __future__ import annotations

import hashlib

from grader.build_args import CACHE_NAMESPACE_ARG

__all__ = [
    "CACHE_NAMESPACE_ARG",
    "cache_namespace",
]



def cache_namespace(tag: str) -> str:
    """A short, stable namespace per image tag (tags are per submission)."""
    return "ddw-" + hashlib.sha256(tag.encode()).hexdigest()[:16]
