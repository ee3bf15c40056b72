"""Red team: image references spelled every way the builder reads them are checked as the builder reads them.

Each bypass class below got past the grader before it read flags with the builder's grammar (quoted or upper-case
mount fields, a later `from=` overriding an earlier one, ONBUILD triggers, ARGs in FROM, `# escape=`). In class
mode each is refused before any build, naming the line; in every mode, pointed at an image the grader built, each
is refused as one. A base image's own ONBUILD triggers are checked too. Builds nothing but two tiny images.
"""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docker
import pytest
from redteam import new_tag, remove_tag

from grader.api import GradeConfig, grade
from grader.model import Report
from grader.paths import PROJECT_LABEL
from grader.settings import load_settings

pytestmark = pytest.mark.docker

EXERCISE = "fastapi"
#: bypass class -> (Dockerfile with {evil} for the image, the line the refusal must name)
BYPASSES = {
    "mount-quoted-field": ('FROM python:3.11-slim\nRUN --mount=type=bind,"from={evil}",target=/x true\n', 2),
    "mount-quoted-value": ('FROM python:3.11-slim\nRUN --mount="type=cache,from={evil},target=/x" true\n', 2),
    "mount-upper-case-keys": ("FROM python:3.11-slim\nRUN --mount=FROM={evil},TARGET=/x true\n", 2),
    "mount-last-from-wins": ("FROM python:3.11-slim\nRUN --mount=type=bind,from=python:3.11-slim,from={evil},"
                             "target=/x true\n", 2),
    "mount-second-of-two": ("FROM python:3.11-slim\nRUN --mount=type=tmpfs,target=/t "
                            "--mount=type=bind,from={evil},target=/x true\n", 2),
    "copy-from-quoted": ('FROM python:3.11-slim\nCOPY --from="{evil}" /etc/hostname /x\n', 2),
    "copy-flag-name-quoted": ('FROM python:3.11-slim\nCOPY --"from"={evil} /etc/hostname /x\n', 2),
    "onbuild-copy-from": ("FROM python:3.11-slim AS base\nONBUILD COPY --from={evil} /etc/hostname /x\n"
                          "FROM base\n", 2),
    "onbuild-run-mount": ("FROM python:3.11-slim AS base\nONBUILD RUN --mount=from={evil},target=/x true\n"
                          "FROM base\n", 2),
    "from-arg-default": ("ARG IMG={evil}\nFROM ${{IMG}}\n", 2),
    "from-arg-fallback": ("ARG IMG\nFROM ${{IMG:-{evil}}}\n", 2),
    "from-arg-chain": ('ARG A={evil}\nARG B="$A"\nFROM $B\n', 3),
    "escape-directive": ("# escape=`\nFROM python:3.11-slim\nCOPY --from={evil_escaped} /etc/hostname /x\n", 3),
}
#: Spellings the builder refuses; the grader refuses them in every mode with the line and the reason.
REFUSED = {
    "flag-name-upper-case": ("FROM python:3.11-slim\nCOPY --FROM=python:3.11-slim /etc/hostname /x\n", 2,
                             "names are lower-case"),
    "flag-value-as-next-word": ("FROM python:3.11-slim\nCOPY --from python:3.11-slim /etc/hostname /x\n", 2,
                                "written with `=`"),
    "flag-twice": ("FROM python:3.11-slim AS a\nCOPY --from=a --from=python:3.11-slim /etc/hostname /x\n", 2,
                   "given twice"),
    "copy-from-arg": ("FROM python:3.11-slim\nARG X=python:3.11-slim\nCOPY --from=$X /etc/hostname /x\n", 3,
                      "does not expand build arguments"),
    "mount-from-arg": ("FROM python:3.11-slim\nARG X=a\nRUN --mount=from=${X},target=/x true\n", 3,
                       "does not expand build arguments"),
    "mount-bare-quote": ('FROM python:3.11-slim\nRUN --mount=type=bind,from=a\\"b,target=/x true\n', 2,
                         "quote"),
    "mount-unknown-key": ("FROM python:3.11-slim\nRUN --mount=type=bind,form=x,target=/x true\n", 2,
                          "unexpected key"),
    "reserved-arg": ("ARG BUILDKIT_CACHE_MOUNT_NS=x\nFROM python:3.11-slim\n", 1, "reserved"),
    "unset-check": ("ARG X\nFROM ${X?}\n", 2, "cannot be resolved"),
    "stage-arg-in-from": ("FROM python:3.11-slim\nARG X=python:3.11-slim\nFROM $X\n", 3, "names no image"),
}


def _image(client: docker.DockerClient, dockerfile: str, labels: dict[str, str]) -> str:
    """A tiny image FROM scratch with one file, under a tag of this test's own."""
    tag = f"docker-diet-workshop/flags-redteam:{uuid.uuid4().hex[:12]}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, body in (("Dockerfile", dockerfile.encode()), ("marker", b"victim\n")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    buffer.seek(0)
    client.images.build(fileobj=buffer, custom_context=True, tag=tag, labels=labels, rm=True)
    return tag


@pytest.fixture(scope="module")
def victim(docker_client: docker.DockerClient) -> Iterator[str]:
    """An image the grader could have built from another learner's Dockerfile (it carries the grader's label)."""
    tag = _image(docker_client, "FROM scratch\nCOPY marker /marker\n",
                 {PROJECT_LABEL: "grader", f"{PROJECT_LABEL}.role": "graded"})
    yield tag
    remove_tag(docker_client.api, tag)


def _grade(tmp_path: Path, text: str, class_mode: bool, extra_bases: tuple[str, ...] = ()) -> Report:
    """Grade `text`; should the grader let it through, the build goes under a tag of this test's own."""
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    settings = replace(load_settings(EXERCISE), extra_bases=extra_bases)
    tag = new_tag()
    try:
        return grade(EXERCISE, path, config=GradeConfig(baseline=False, lint=False, class_mode=class_mode,
                                                        settings=settings, tag=tag))
    finally:
        remove_tag(docker.from_env().api, tag)


def _text(template: str, evil: str) -> str:
    return template.format(evil=evil, evil_escaped=f"{evil[:2]}\\{evil[2:]}")  # `\\b` is `b` to the builder


def _refused(report: Report, line: int) -> str:
    assert report.exit_code == 2 and report.error is not None, "the grader let it through"
    assert report.build is None and report.score == 0, "refused before any build"
    assert f"Line {line}" in report.error.message, report.error.message
    return report.error.message


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_class_mode_refuses_every_spelling_of_an_outside_image(name: str, tmp_path: Path) -> None:
    template, line = BYPASSES[name]
    message = _refused(_grade(tmp_path, _text(template, "node:20-slim"), class_mode=True), line)
    assert "node:20-slim" in message and "is not allowed in this class" in message


@pytest.mark.parametrize("class_mode", [False, True], ids=["self-paced", "class"])
@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_every_spelling_of_a_grader_built_image_is_refused_in_every_mode(name: str, class_mode: bool,
                                                                         victim: str, tmp_path: Path) -> None:
    template, line = BYPASSES[name]
    message = _refused(_grade(tmp_path, _text(template, victim), class_mode), line)
    assert victim in message
    assert ("is not allowed in this class" if class_mode else "is an image the grader built") in message


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_the_builder_refuses_is_refused_with_the_line_and_reason(name: str, tmp_path: Path) -> None:
    text, line, reason = REFUSED[name]
    for class_mode in (False, True):
        report = _grade(tmp_path, text, class_mode)
        assert reason in _refused(report, line) and report.error is not None and report.error.kind == "dockerfile"


@pytest.fixture(scope="module")
def trapped_base(docker_client: docker.DockerClient, victim: str) -> Iterator[str]:
    """A base that is not the grader's, whose ONBUILD trigger copies from a grader-built image."""
    tag = _image(docker_client, f"FROM scratch\nCOPY marker /marker\nONBUILD COPY --from={victim} /marker /x\n",
                 {"io.docker-diet-workshop-test.role": "onbuild-base"})
    yield tag
    remove_tag(docker_client.api, tag)


@pytest.mark.parametrize("class_mode", [False, True], ids=["self-paced", "class"])
def test_a_bases_onbuild_trigger_is_checked_like_the_dockerfile(class_mode: bool, trapped_base: str,
                                                               victim: str, tmp_path: Path) -> None:
    report = _grade(tmp_path, f"FROM {trapped_base}\nUSER 1000\n", class_mode, extra_bases=(trapped_base,))
    message = _refused(report, 1)
    assert victim in message and "ONBUILD" in message
    assert ("is not allowed in this class" if class_mode else "is an image the grader built") in message
