"""Build output is data: what a RUN step prints never decides which image is removed or tagged."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest
from redteam import Grade, new_tag, remove_tag

from grader.engine.build import BUILD_ID_LABEL, remove_own_image

pytestmark = pytest.mark.docker

BASE = "debian:bookworm-slim"


def _image(api: docker.APIClient, ref: str) -> dict[str, object]:
    return dict(api.inspect_image(ref))


def test_run_printing_a_base_image_id_then_failing_leaves_the_base(grade_text: Grade, backend: str,
                                                                   api: docker.APIClient) -> None:
    before = _image(api, BASE)
    short = str(before["Id"]).removeprefix("sha256:")[:12]
    text = (f"FROM {BASE}\nRUN echo ' ---> Running in {short}' && echo ' ---> {short}' && "
            f"printf ' ---> {short}\\n' && exit 1\n")
    report = grade_text(text, backend)
    assert report.error is not None and report.error.kind == "build-failed" and report.exit_code == 2
    after = _image(api, BASE)
    assert after["Id"] == before["Id"] and after["RepoTags"] == before["RepoTags"]


def test_the_graded_image_id_is_the_engines_not_the_printed_one(grade_text: Grade, backend: str,
                                                                api: docker.APIClient) -> None:
    """A step prints another image's id as if it were the result; the build's id still comes from the engine."""
    base_id = str(_image(api, BASE)["Id"]).removeprefix("sha256:")[:12]
    tag = new_tag()
    text = f"FROM {BASE}\nRUN echo ' ---> {base_id}'; echo 'Successfully built {base_id}'\n"
    report = grade_text(text, backend, tag=tag)
    assert report.build is not None
    assert report.build.image_id == api.inspect_image(tag)["Id"]
    assert not report.build.image_id.removeprefix("sha256:").startswith(base_id)
    assert api.inspect_image(tag)["Config"]["Labels"][BUILD_ID_LABEL]


def _build_untagged(api: docker.APIClient, folder: Path, build_id: str) -> str:
    image_id = ""
    for chunk in api.build(path=str(folder), labels={BUILD_ID_LABEL: build_id}, rm=True, decode=True):
        if isinstance(chunk.get("aux"), dict) and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
    assert image_id
    return image_id


def test_only_the_graders_own_untagged_images_are_ever_removed(api: docker.APIClient, tmp_path: Path) -> None:
    """remove_own_image refuses a base (no build label), an image of another build, and the grader's image while
    a tag names it; it removes the grader's own image once no tag does."""
    base_id = str(_image(api, BASE)["Id"])
    assert remove_own_image(api, base_id) is False
    assert remove_own_image(api, base_id, mark="x") is False
    assert _image(api, BASE)["Id"] == base_id
    build_id = uuid.uuid4().hex[:20]
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo {build_id} > /id\n")
    image_id = _build_untagged(api, tmp_path, build_id)
    tag = new_tag()
    repository, _, name = tag.partition(":")
    api.tag(image_id, repository, name)
    try:
        assert remove_own_image(api, image_id, mark=build_id) is False, "a tag still names it"
        assert remove_own_image(api, image_id, mark="another-build") is False
        assert _image(api, tag)["Id"] == image_id
    finally:
        remove_tag(api, tag)
    image_id = _build_untagged(api, tmp_path, build_id)  # removing the only tag deleted it: build it again
    assert remove_own_image(api, image_id, mark="another-build") is False
    assert remove_own_image(api, image_id, mark=build_id) is True
    with pytest.raises(docker.errors.ImageNotFound):
        api.inspect_image(image_id)
