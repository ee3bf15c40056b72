"""Real images of the three apps, built once per session: the naive starting points and the reference solutions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest

from grader.context import assemble_context
from grader.exercises import ignore_file_for
from grader.paths import APPS_DIR, EXERCISES_DIR, PROJECT_LABEL, SOLUTIONS_DIR


@dataclass(frozen=True)
class BuiltImage:
    app: str
    kind: str  # "naive" or "solution"
    tag: str
    size_bytes: int
    seconds: float


def build_app_image(client: docker.DockerClient, app: str, kind: str) -> BuiltImage:
    """Build exercises/<app> (naive) or solutions/<app> against apps/<app>, as the grader assembles contexts."""
    folder = (EXERCISES_DIR if kind == "naive" else SOLUTIONS_DIR) / app
    ignore = ignore_file_for(folder / "Dockerfile")
    context = assemble_context(
        APPS_DIR / app,
        (folder / "Dockerfile").read_text(),
        ignore.read_text() if ignore else None,
    )
    tag = f"workshop-test/{app}:{kind}"
    started = time.monotonic()
    log: list[str] = []
    for chunk in client.api.build(
        fileobj=context.tar, custom_context=True, tag=tag, rm=True, forcerm=True, decode=True,
        labels={PROJECT_LABEL: "test"}, pull=False,
    ):
        log.append(chunk.get("stream") or chunk.get("error") or "")
        if "error" in chunk:
            pytest.fail(f"{folder / 'Dockerfile'} did not build: {chunk['error']}\n{''.join(log[-30:])}")
    seconds = time.monotonic() - started
    size = int(client.images.get(tag).attrs["Size"])
    return BuiltImage(app, kind, tag, size, seconds)


@pytest.fixture(scope="session")
def app_images(docker_client: docker.DockerClient) -> Iterator[dict[tuple[str, str], BuiltImage]]:
    """A lazy cache: each image is built the first time a test asks for it, then removed at the end."""
    cache: dict[tuple[str, str], BuiltImage] = {}

    class Lazy(dict[tuple[str, str], BuiltImage]):
        def __missing__(self, key: tuple[str, str]) -> BuiltImage:
            cache[key] = self[key] = build_app_image(docker_client, *key)
            return cache[key]

    yield Lazy()
    for built in cache.values():
        try:
            docker_client.images.remove(built.tag, force=True)
        except docker.errors.APIError:
            pass
