"""`workshop bundle`: save every base, refuse damaged archives whole, and load onto an engine that lost its bases."""

from __future__ import annotations

import tarfile
from pathlib import Path

import docker
import pytest

from grader.api import GradeConfig, grade
from grader.bases.bundle import BundleError, load_bundle, save_bundle
from grader.bases.stand_ins import REQUIRED_BASES, base_status
from grader.paths import SOLUTIONS_DIR

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def saved_bundle(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bundle") / "bases.tar"
    manifest = save_bundle(docker_client, target)
    assert [image.tag for image in manifest.images] == list(REQUIRED_BASES)
    return target


def test_truncated_bundle_is_refused_and_loads_nothing(docker_client, saved_bundle: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.tar"
    with saved_bundle.open("rb") as source:
        truncated.write_bytes(source.read(saved_bundle.stat().st_size // 2))
    kept = docker_client.images.get("node:20-slim")
    docker_client.images.remove("node:20-slim")  # so that a partial load would be visible
    try:
        with pytest.raises(BundleError, match="truncated or corrupt"):
            load_bundle(docker_client, truncated)
        assert not base_status(docker_client, "node:20-slim").present
    finally:
        kept.tag("node", "20-slim")


def test_bundle_with_a_flipped_byte_fails_its_checksum(docker_client, saved_bundle: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.tar"
    with tarfile.open(saved_bundle) as original, tarfile.open(corrupt, "w") as copy:
        for member in original.getmembers():
            data = original.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "images.tar":
                data = data[:4096] + bytes([data[4096] ^ 0xFF]) + data[4097:]
            member.size = len(data)
            copy.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(BundleError, match="SHA-256"):
        load_bundle(docker_client, corrupt)


def test_a_tar_that_is_not_a_bundle_is_refused(docker_client, tmp_path: Path) -> None:
    other = tmp_path / "other.tar"
    (tmp_path / "notes.txt").write_text("not images")
    with tarfile.open(other, "w") as archive:
        archive.add(tmp_path / "notes.txt", arcname="notes.txt")
    with pytest.raises(BundleError, match="not a workshop bundle"):
        load_bundle(docker_client, other)


def test_load_brings_back_every_base_and_a_solution_grades_on_them(docker_client, saved_bundle: Path) -> None:
    ids = {tag: base_status(docker_client, tag).image_id for tag in REQUIRED_BASES}
    try:
        for tag in REQUIRED_BASES:
            docker_client.images.remove(tag)  # untag: the layers stay for other images, the name is gone
        assert not any(base_status(docker_client, tag).present for tag in REQUIRED_BASES)
        load_bundle(docker_client, saved_bundle)
    finally:
        for tag, image_id in ids.items():  # whatever happened, leave the engine as the suite found it
            if not base_status(docker_client, tag).present:
                repository, _, version = tag.partition(":")
                docker_client.images.get(image_id).tag(repository, version)
    assert {tag: base_status(docker_client, tag).image_id for tag in REQUIRED_BASES} == ids
    solution = SOLUTIONS_DIR / "fastapi"
    report = grade("fastapi", solution / "Dockerfile", solution / "Dockerfile.dockerignore",
                   config=GradeConfig(backend="classic", build_timeout_s=1800))
    assert report.error is None and report.percent == 100.0, (report.error, report.percent)
