"""One submission's BuildKit cache mounts are not visible to another's (BuildKit keys them engine-wide)."""

from __future__ import annotations

import uuid

import pytest
from redteam import Grade, new_tag

from grader.engine.cache_mounts import cache_namespace, scope_cache_mounts

pytestmark = pytest.mark.docker


def _plant(mount: str, secret: str) -> str:
    return f"FROM debian:bookworm-slim\nRUN --mount={mount} echo {secret} > /cache/planted\n"


def _look(mount: str, secret: str) -> str:
    return (f"FROM debian:bookworm-slim\nRUN --mount={mount} echo looking-for-{secret}; "
            "if [ -e /cache/planted ]; then echo FOUND; cat /cache/planted; exit 7; fi\n")


@pytest.mark.parametrize("mount", ["type=cache,target=/cache", "type=cache,id=npm,target=/cache,sharing=shared"])
def test_cache_mount_planted_by_one_submission_is_not_seen_by_another(grade_text: Grade, mount: str) -> None:
    secret = uuid.uuid4().hex
    alice, bob = new_tag(), new_tag()
    planted = grade_text(_plant(mount, secret), "buildx", tag=alice)
    assert planted.build is not None, planted.error and planted.error.message
    looked = grade_text(_look(mount, secret), "buildx", tag=bob)
    assert looked.build is not None, \
        f"another submission read the planted cache: {looked.error and looked.error.message}"
    # The same submission still gets its own cache back (lesson 08's speed-up), so the probe above can fail.
    again = grade_text(_look(mount, secret), "buildx", tag=alice)
    assert again.error is not None and again.error.kind == "build-failed" and "FOUND" in "\n".join(
        again.error.log_tail)


def test_cache_mount_ids_are_scoped_without_moving_lines() -> None:
    text = ("FROM node:20-slim\nRUN --mount=type=cache,target=/root/.npm \\\n  npm ci\n"
            "RUN --mount=type=cache,id=pip,target=/root/.cache/pip,sharing=locked pip install x\n"
            "RUN --mount=type=bind,source=a,target=/b true\n")
    scoped = scope_cache_mounts(text, "ddw-1")
    assert scoped.count("\n") == text.count("\n")
    assert "--mount=type=cache,target=/root/.npm,id=ddw-1/root/.npm \\" in scoped
    assert "id=ddw-1/pip" in scoped and "id=pip," not in scoped
    assert "--mount=type=bind,source=a,target=/b true" in scoped
    assert cache_namespace("docker-diet-workshop/fastapi:class-bob") != cache_namespace(
        "docker-diet-workshop/fastapi:class-bob-cd9fb1")
