"""The build timeout is a hard deadline on both back ends, whatever a step prints or wherever it hangs, and
nothing is tagged after it."""

from __future__ import annotations

import time
import uuid

import docker
import pytest
from redteam import (
    Grade,
    SilentServer,
    host_processes_with,
    images_of_build_label,
    new_tag,
)

pytestmark = pytest.mark.docker


def _gone_soon(marker: str, wait_s: float = 15.0) -> list[int]:
    """The host processes still carrying `marker` after up to `wait_s` (the engine removes containers async)."""
    deadline = time.monotonic() + wait_s
    while (left := host_processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_run_printing_running_in_and_hanging_is_stopped(grade_text: Grade, backend: str,
                                                        api: docker.APIClient) -> None:
    """The old classic builder killed whatever id a step printed after "Running in": the hang went on."""
    seconds = 600 + uuid.uuid4().int % 300  # a marker: only this test's step sleeps this long
    tag = new_tag()
    text = (f"FROM debian:bookworm-slim\nRUN echo ' ---> Running in 0123456789ab'; "
            f"echo 'Running in 0123456789ab'; sleep {seconds}\n")
    report = grade_text(text, backend, timeout_s=8, tag=tag)
    assert report.error is not None and report.error.kind == "build-timeout" and report.exit_code == 2
    assert "nothing was tagged" in report.error.message and report.score == 0
    assert _gone_soon(f"sleep {seconds}") == [], "the hanging step is still running after the deadline"
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(tag)


def test_hang_in_add_url_is_stopped_and_nothing_is_tagged(grade_text: Grade, backend: str,
                                                          silent_server: SilentServer, api: docker.APIClient) -> None:
    """ADD from a loopback server that accepts and does not answer: no container to kill. After the deadline
    the server answers, so a build that went on would finish now: it must still leave no image behind."""
    tag = new_tag()
    before = set(images_of_build_label(api))
    report = grade_text(f"FROM debian:bookworm-slim\nADD {silent_server.url} /late.txt\nRUN true\n", backend,
                        timeout_s=8, tag=tag)
    assert report.error is not None and report.error.kind == "build-timeout" and report.exit_code == 2
    assert "nothing was tagged" in report.error.message
    assert silent_server.accepted, "the build never reached the server: the test proves nothing"
    silent_server.release()
    time.sleep(10)  # room for a build that went on to finish and tag
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(tag)
    assert set(images_of_build_label(api)) - before == set(), "a late image of the stopped build was kept"
