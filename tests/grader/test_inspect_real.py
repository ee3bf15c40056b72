"""inspect_image on a real image: the overlay2 walk and the streamed `docker save` agree; caches are reused."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from grader.engine.inspect import clear_caches, inspect_image

pytestmark = pytest.mark.docker

DOCKERFILE = b"""FROM debian:bookworm-slim
RUN mkdir -p /app/cache && echo one > /app/a.txt && echo x > /app/cache/x && echo gone > /app/gone.txt
RUN rm /app/gone.txt && rm -rf /app/cache && mkdir /app/cache && echo y > /app/cache/y
RUN useradd --uid 4321 learner
USER learner
"""


@pytest.fixture(scope="module")
def image_id(docker_client: docker.DockerClient) -> Iterator[str]:
    import io

    image, _ = docker_client.images.build(fileobj=io.BytesIO(DOCKERFILE), tag="docker-diet-workshop/test-inspect:t",
                                          labels={"io.docker-diet-workshop": "grader"}, rm=True, forcerm=True)
    yield str(image.id)
    docker_client.images.remove(str(image.id), force=True)


def test_overlay_walk_and_saved_image_agree(docker_client: docker.DockerClient, image_id: str) -> None:
    clear_caches()
    walked = inspect_image(docker_client.api, image_id, base_image="debian:bookworm-slim", source="overlay2",
                           use_disk_cache=False)
    clear_caches()
    saved = inspect_image(docker_client.api, image_id, base_image="debian:bookworm-slim", source="save",
                          use_disk_cache=False)
    assert walked.inspect_source == "overlay2" and saved.inspect_source == "save"
    assert set(walked.merged) == set(saved.merged)
    assert {p: (e.size, e.kind) for p, e in walked.merged.items() if e.kind == "file"} == \
        {p: (e.size, e.kind) for p, e in saved.merged.items() if e.kind == "file"}
    for facts in (walked, saved):
        assert "app/gone.txt" not in facts.merged and "app/cache/x" not in facts.merged
        assert "app/cache/y" in facts.merged and facts.users["learner"] == 4321
        assert "libc6" in facts.dpkg_packages and facts.base_layer_count == 1 and facts.user == "learner"
        assert [layer.instruction.split()[0] for layer in facts.layers[1:]] == ["RUN", "RUN", "RUN"]


def test_a_second_inspection_is_served_from_the_cache(docker_client: docker.DockerClient, image_id: str) -> None:
    """The same object comes back: no layer is read again (how fast that is belongs in tests/benchmarks)."""
    clear_caches()
    first = inspect_image(docker_client.api, image_id, base_image="debian:bookworm-slim")
    assert inspect_image(docker_client.api, image_id, base_image="debian:bookworm-slim") is first
    clear_caches()
    assert inspect_image(docker_client.api, image_id, base_image="debian:bookworm-slim") is not first


def test_layers_cached_on_disk_are_reused_by_a_new_process(docker_client: docker.DockerClient, image_id: str) -> None:
    inspect_image(docker_client.api, image_id)  # fills the disk cache
    clear_caches()  # memory only: what a new `workshop grade` process starts with
    facts = inspect_image(docker_client.api, image_id)
    assert "app/a.txt" in facts.merged
