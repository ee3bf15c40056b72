"""Property: the image references the grader parses are the ones the builder uses, on both back ends.

Hypothesis writes Dockerfiles of many cases each (reference_cases.py: `COPY --from=` and `RUN --mount=...from=`
spelled every way the builder's grammar allows, naming stages by name or number, or tiny marker images). The
grader reads each case's reference; the real engine builds the Dockerfile with the grader's own back end, and the
marker file each case copied shows which image the builder really used. They must be the same for every case.
Bounded: EXAMPLES Dockerfiles per back end, one build each, no shrinking (marker images FROM scratch, built once).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from redteam import BACKENDS, remove_tag
from reference_cases import (
    HEADER,
    MARKERS,
    Case,
    build_markers,
    builder_reading,
    copy_case,
    dockerfile,
    from_case,
    grader_reading,
    mount_case,
)

from grader.api import _image_labels
from grader.context import assemble_context
from grader.dockerfile import parse_dockerfile
from grader.engine.build import BuildRequest, choose_builder
from grader.errors import BuildFailed
from grader.image_policy import check_not_grader_made, image_uses
from grader.paths import PROJECT_LABEL

pytestmark = pytest.mark.docker

EXAMPLES = 8  # Dockerfiles per back end, so 16 builds in all
COUNT: dict[str, int] = {"builds": 0, "cases": 0, "agreements": 0}


@pytest.fixture(scope="module")
def markers(docker_client: docker.DockerClient) -> Iterator[None]:
    build_markers(docker_client)
    yield
    for tag in MARKERS.values():
        remove_tag(docker_client.api, tag)
    print(f"\nreference agreement: {COUNT['builds']} builds, {COUNT['cases']} generated cases, "
          f"{COUNT['agreements']} agreements with the engine")


@pytest.fixture(scope="module")
def empty_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("reference-app")
    (app / "README").write_text("empty\n")
    return app


def _built_by_engine(api: docker.APIClient, backend: str, app: Path, text: str) -> dict[str, str]:
    tag = f"docker-diet-workshop/flags-agreement:{uuid.uuid4().hex[:10]}"
    labels = {PROJECT_LABEL: "test", f"{PROJECT_LABEL}.role": "flags-agreement-test"}
    request = BuildRequest(assemble_context(app, text, None), parse_dockerfile(text), tag, labels, nocache=True,
                           timeout_s=300)  # no cache: another test's removal cannot pull a cached parent away
    try:
        choose_builder(api, backend).build(request)
        COUNT["builds"] += 1
        return builder_reading(api, tag)
    finally:
        remove_tag(api, tag)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_grader_reads_the_references_the_builder_uses(backend: str, markers: None, empty_app: Path,
                                                         docker_client: docker.DockerClient) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.explicit, Phase.generate))  # no shrinking: each step is a build; the text is shown
    @given(st.lists(st.one_of(copy_case(), mount_case(), from_case()), min_size=4, max_size=10))
    def agree(cases: list[Case]) -> None:
        text = dockerfile(cases, buildkit=backend == "buildx")
        expected = grader_reading(text)
        used = _built_by_engine(docker_client.api, backend, empty_app, text)
        assert used == expected, f"{backend} used {used}, the grader read {expected}, for:\n{text}"
        COUNT["cases"] += len(expected)
        COUNT["agreements"] += sum(used[key] == value for key, value in expected.items())

    agree()


def _built_or_refused(api: docker.APIClient, backend: str, app: Path, text: str) -> dict[str, str] | None:
    try:
        return _built_by_engine(api, backend, app, text)
    except BuildFailed:
        return None


@pytest.mark.parametrize("backend", BACKENDS)
def test_onbuild_triggers_run_where_the_grader_reads_them(backend: str, markers: None, empty_app: Path,
                                                          docker_client: docker.DockerClient) -> None:
    """A trigger in the learner's own stage runs when a later stage is FROM it, and a base image's trigger runs in
    the learner's build. The classic builder copies marker c from both; BuildKit v0.8 never loads an image first
    named in a trigger, so its build fails: either way the builder uses no image but the one the grader named."""
    api = docker_client.api
    own = (f"{HEADER}FROM scratch AS base\nONBUILD COPY --from={MARKERS['c']} /marker /seen/0\nFROM base\n")
    assert [u.name for u in image_uses(parse_dockerfile(own)) if u.where.startswith("ONBUILD")] == [MARKERS["c"]]
    copied = _built_or_refused(api, backend, empty_app, own)
    assert copied == {"/seen/0": "c"} if backend == "classic" else copied in ({"/seen/0": "c"}, None)
    base = f"docker-diet-workshop/flags-agreement:onbuild-{uuid.uuid4().hex[:8]}"
    docker_client.images.build(fileobj=io.BytesIO(
        f"FROM {MARKERS['a']}\nONBUILD COPY --from={MARKERS['c']} /marker /seen/1\n".encode()), tag=base, rm=True)
    try:
        learner = f"FROM {base}\n"
        read = check_not_grader_made(parse_dockerfile(learner), _image_labels(api))
        assert MARKERS["c"] in read, f"the grader did not read the base's trigger: {read}"
        copied = _built_or_refused(api, backend, empty_app, learner)
        assert copied == {"/seen/1": "c"} if backend == "classic" else copied in ({"/seen/1": "c"}, None)
    finally:
        remove_tag(api, base)


@pytest.mark.parametrize("backend", BACKENDS)
def test_flag_escapes_ignore_the_escape_directive_as_the_engine_does(backend: str, markers: None, empty_app: Path,
                                                                     docker_client: docker.DockerClient) -> None:
    """BuildKit v0.8 (and so both back ends) reads a backslash in a flag as an escape even under `# escape=``,
    where the newer parser binding would keep it: `fl\\ags` is `flags` to the builder, and to the grader."""
    escaped = MARKERS["c"].replace("flags", "fl\\ags")
    text = f"# escape=`\n{HEADER}FROM scratch\nCOPY --from={escaped} /marker /seen/0\n"
    assert grader_reading(text) == {"/seen/0": "c"}
    assert _built_by_engine(docker_client.api, backend, empty_app, text) == {"/seen/0": "c"}
