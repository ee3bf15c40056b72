"""Supply chain: the buildx plugin is trusted only through Debian's signature; a bundle tags only what it lists
and rolls back a partial load; requires-python covers what the code uses.

The InRelease test downloads the real signed file from the machine's Debian mirror (a registry the guide says is
reachable) and checks it with gpgv and Debian's keyring; the bundle tests use tiny images of their own, under a
test tag, so the shared engine's bases are never touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import re
import subprocess
import tarfile
import tomllib
import urllib.request
from pathlib import Path

import docker
import pytest

from grader.bases import bundle
from grader.bases.buildx import SOURCE_SUITE, BuildxInstallError, checked_index, release_entry, verified_release
from grader.bases.mirror import debian_mirror
from grader.paths import PROJECT_LABEL, REPO_ROOT

TEST_TAG = "docker-diet-workshop-test/bundle-base:rollback"
MADE: list[str] = []  # image ids these tests built, removed after each


@pytest.fixture(scope="module")
def inrelease() -> bytes:
    with urllib.request.urlopen(f"{debian_mirror()}/dists/{SOURCE_SUITE}/InRelease", timeout=120) as response:  # noqa: S310
        return bytes(response.read())


def test_the_real_inrelease_verifies_and_lists_the_package_index(inrelease: bytes) -> None:
    release = verified_release(inrelease)
    sha256, size = release_entry(release, "main/binary-amd64/Packages.xz")
    assert re.fullmatch(r"[0-9a-f]{64}", sha256) and size > 1_000_000


def test_a_tampered_inrelease_is_refused(inrelease: bytes) -> None:
    tampered = re.sub(rb"(SHA256:\n [0-9a-f])", lambda m: m.group(1)[:-1] + (b"0" if m.group(1)[-1:] != b"0" else b"1"),
                      inrelease, count=1)
    assert tampered != inrelease
    with pytest.raises(BuildxInstallError, match="not validly signed"):
        verified_release(tampered)


def test_an_unsigned_release_is_refused(inrelease: bytes) -> None:
    body = inrelease.split(b"\n\n", 1)[1].split(b"-----BEGIN PGP SIGNATURE-----")[0]
    with pytest.raises(BuildxInstallError, match="not validly signed"):
        verified_release(body)


def test_a_package_index_that_does_not_match_the_signed_hash_is_refused() -> None:
    index = lzma.compress(b"Package: docker-buildx\nFilename: pool/x.deb\nSHA256: " + b"0" * 64 + b"\n")
    release = (f"Origin: Debian\nSHA256:\n {hashlib.sha256(index).hexdigest()} {len(index)} main/binary-amd64/"
               "Packages.xz\n")
    assert "docker-buildx" in checked_index(index, release, "main/binary-amd64/Packages.xz")
    with pytest.raises(BuildxInstallError, match="nothing installed"):
        checked_index(index + b"\0", release, "main/binary-amd64/Packages.xz")


# ---------------------------------------------------------------- bundle load


def _tiny_image(client: docker.DockerClient, note: str) -> str:
    """A one-file image (a layer, so `docker save` can export it), built from a context of its own."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY note /note\n"), ("note", note.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    image, _ = client.images.build(fileobj=context, custom_context=True, rm=True,
                                   labels={PROJECT_LABEL: "test", f"{PROJECT_LABEL}.role": "bundle-test"})
    MADE.append(str(image.id))
    return str(image.id)


def _bundle(tmp_path: Path, images_tar: Path, tag: str, image_id: str) -> Path:
    manifest = bundle.BundleManifest(format=bundle.BUNDLE_FORMAT, created="now",
                                     images=(bundle.BundleImage(tag, image_id, 1, "official"),),
                                     images_sha256=bundle._sha256(images_tar),
                                     images_bytes=images_tar.stat().st_size)
    (tmp_path / bundle.MANIFEST).write_text(manifest.to_json())
    target = tmp_path / "bundle.tar"
    with tarfile.open(target, "w") as archive:
        archive.add(tmp_path / bundle.MANIFEST, arcname=bundle.MANIFEST)
        archive.add(images_tar, arcname=bundle.IMAGES)
    return target


def _retag_in_archive(images_tar: Path, extra_tag: str) -> None:
    """Add a RepoTag to the archive's manifest.json (what a forged bundle would do)."""
    with tarfile.open(images_tar) as archive:
        members = [(m, archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()]
    with tarfile.open(images_tar, "w") as archive:
        for member, original in members:
            data = original
            if member.name == "manifest.json" and original is not None:
                entries = json.loads(original)
                entries[0]["RepoTags"].append(extra_tag)
                data = json.dumps(entries).encode()
                member.size = len(data)
            archive.addfile(member, io.BytesIO(data) if data is not None else None)


@pytest.fixture
def test_base(docker_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """TEST_TAG on a tiny image of its own, counted as a workshop base for these tests only."""
    monkeypatch.setattr(bundle, "REQUIRED_BASES", (TEST_TAG,))
    original = _tiny_image(docker_client, "original")
    docker_client.api.tag(original, *TEST_TAG.rsplit(":", 1), force=True)
    yield original
    made_here = [i.id for i in docker_client.images.list(filters={"label": f"{PROJECT_LABEL}.role=bundle-test"})]
    for name in (TEST_TAG, "docker-diet-workshop-test/bundle-base:smuggled", *MADE, *made_here):
        try:
            docker_client.images.remove(name, force=True)
        except docker.errors.ImageNotFound:
            pass
    MADE.clear()


def _save(tag: str, path: Path) -> Path:
    subprocess.run(["docker", "save", "-o", str(path), tag], check=True, timeout=120)
    return path


def test_a_bundle_that_tags_more_than_its_manifest_lists_loads_nothing(
        docker_client: docker.DockerClient, test_base: str, tmp_path: Path) -> None:
    images_tar = _save(TEST_TAG, tmp_path / "images.tar")
    smuggled = "docker-diet-workshop-test/bundle-base:smuggled"
    _retag_in_archive(images_tar, smuggled)
    source = _bundle(tmp_path, images_tar, TEST_TAG, test_base)
    with pytest.raises(bundle.BundleError, match="smuggled"):
        bundle.load_bundle(docker_client, source)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(smuggled)


def test_a_load_that_gives_a_tag_another_id_is_rolled_back(
        docker_client: docker.DockerClient, test_base: str, tmp_path: Path) -> None:
    other = _tiny_image(docker_client, "other")
    docker_client.api.tag(other, *TEST_TAG.rsplit(":", 1), force=True)
    images_tar = _save(TEST_TAG, tmp_path / "images.tar")  # holds `other` under the tag
    docker_client.api.tag(test_base, *TEST_TAG.rsplit(":", 1), force=True)
    source = _bundle(tmp_path, images_tar, TEST_TAG, test_base)  # but the manifest claims the original's id
    with pytest.raises(bundle.BundleError, match="put back"):
        bundle.load_bundle(docker_client, source)
    assert docker_client.images.get(TEST_TAG).id == test_base


def test_requires_python_covers_the_tarfile_filters_the_code_uses() -> None:
    spec = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    uses_filters = any("filter=" in p.read_text() for p in (REPO_ROOT / "grader").rglob("*.py"))
    assert uses_filters and spec == ">=3.11.4", "tarfile's extraction filters arrived in 3.11.4 (and 3.12)"
