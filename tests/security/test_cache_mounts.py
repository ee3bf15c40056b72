"""One submission's BuildKit cache mounts are not visible to another's (BuildKit keys them engine-wide).

The namespace is BuildKit's own (BUILDKIT_CACHE_MOUNT_NS, applied after BuildKit has parsed the mount), so every
spelling BuildKit accepts is covered: quoted CSV fields, upper-case keys, an id given twice, a cache mount in an
ONBUILD trigger that a later stage runs.
"""

from __future__ import annotations

import uuid

import pytest
from redteam import Grade, new_tag

from grader.engine.buildkit import _buildx_command
from grader.engine.cache_mounts import CACHE_NAMESPACE_ARG, cache_namespace

pytestmark = pytest.mark.docker

#: (mount spelling, how the Dockerfile wraps the RUN: plain, or in an ONBUILD trigger of a stage the last one is FROM)
SPELLINGS = [
    ("type=cache,target=/cache", "plain"),
    ("type=cache,id=npm,target=/cache,sharing=shared", "plain"),
    ('"type=cache,id=npm,target=/cache"', "plain"),  # the whole value quoted
    ('TYPE=cache,"ID=npm",Target=/cache,id=npm', "plain"),  # upper-case keys, a quoted field, the id twice
    ("'\"type=cache\"',id=npm,target=/cache", "plain"),  # a CSV-quoted type (the old text rewrite missed it)
    ("type=cache,id=npm,target=/cache", "onbuild"),
]


def _dockerfile(mount: str, command: str, wrap: str) -> str:
    run = f"RUN --mount={mount} {command}"
    if wrap == "onbuild":
        return f"FROM debian:bookworm-slim AS base\nONBUILD {run}\nFROM base\n"
    return f"FROM debian:bookworm-slim\n{run}\n"


def _plant(mount: str, wrap: str, secret: str) -> str:
    return _dockerfile(mount, f"echo {secret} > /cache/planted", wrap)


def _look(mount: str, wrap: str, secret: str) -> str:
    return _dockerfile(mount, f"echo looking-for-{secret}; if [ -e /cache/planted ]; then echo FOUND; "
                              "cat /cache/planted; exit 7; fi", wrap)


@pytest.mark.parametrize("mount, wrap", SPELLINGS)
def test_cache_mount_planted_by_one_submission_is_not_seen_by_another(grade_text: Grade, mount: str,
                                                                      wrap: str) -> None:
    secret = uuid.uuid4().hex
    alice, bob = new_tag(), new_tag()
    planted = grade_text(_plant(mount, wrap, secret), "buildx", tag=alice)
    assert planted.build is not None, planted.error and planted.error.message
    looked = grade_text(_look(mount, wrap, secret), "buildx", tag=bob)
    assert looked.build is not None, \
        f"another submission read the planted cache: {looked.error and looked.error.message}"
    # The same submission still gets its own cache back (lesson 08's speed-up), so the probe above can fail.
    again = grade_text(_look(mount, wrap, secret), "buildx", tag=alice)
    assert again.error is not None and again.error.kind == "build-failed" and "FOUND" in "\n".join(
        again.error.log_tail)


def test_every_buildx_build_carries_its_submissions_namespace() -> None:
    from types import SimpleNamespace

    request = SimpleNamespace(tag="docker-diet-workshop/fastapi:class-bob", build_args={}, nocache=False)
    state = SimpleNamespace(labels=lambda _request: {})
    command = _buildx_command(request, state, "/tmp/iid")  # type: ignore[arg-type]
    assert f"{CACHE_NAMESPACE_ARG}={cache_namespace(request.tag)}" in command
    assert cache_namespace("docker-diet-workshop/fastapi:class-bob") != cache_namespace(
        "docker-diet-workshop/fastapi:class-bob-cd9fb1")
