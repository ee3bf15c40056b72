"""`workshop bundle save|load`: every base image in one checked archive, for a classroom without a registry.

"Every base" is every image `workshop bases` makes (catalog.REQUIRED_BASES): the exercise bases and the service
images the grader runs (postgres:15). A bundle saved before postgres:15 joined the list still loads.

An instructor saves the bundle once on a machine that has the bases (pulled, or local stand-ins) and hands it out
on a USB stick or a file share; each laptop loads it and has every base again, with no network at all.

The archive is a plain tar of two members: `manifest.json` (format, tags, image ids, sizes, SHA-256 and size of
the images) and `images.tar` (one `docker save` of all tags, so shared layers are stored once). Loading checks the
whole archive before the engine sees a byte of it: a truncated or corrupt bundle loads nothing. A bundle is a
file handed around, so it is not trusted further than that: `images.tar` may tag only the images the manifest
lists, and only the workshop's base tags (a bundle cannot retag a learner's image, or anything else); and if the
load fails or leaves a tag on another id than the manifest's, every tag goes back to what it was before.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

from grader.bases.catalog import REQUIRED_BASES, base_status
from grader.errors import BundleError

__all__ = [
    "BUNDLE_FORMAT",
    "IMAGES",
    "MANIFEST",
    "BundleError",
    "BundleImage",
    "BundleManifest",
    "archive_tags",
    "check_tags",
    "load_bundle",
    "save_bundle",
    "verify_bundle",
]

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
IMAGES = "images.tar"


@dataclass(frozen=True)
class BundleImage:
    tag: str
    image_id: str
    size_bytes: int
    state: str  # "official" or "local stand-in"


@dataclass(frozen=True)
class BundleManifest:
    format: int
    created: str
    images: tuple[BundleImage, ...]
    images_sha256: str
    images_bytes: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "created": self.created,
                "images": [vars(image) for image in self.images],
                "images_sha256": self.images_sha256,
                "images_bytes": self.images_bytes,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> BundleManifest:
        data = json.loads(text)
        return cls(
            format=int(data["format"]),
            created=str(data["created"]),
            images=tuple(BundleImage(**image) for image in data["images"]),
            images_sha256=str(data["images_sha256"]),
            images_bytes=int(data["images_bytes"]),
        )


def _docker_cli(*args: str) -> None:
    docker_cli = shutil.which("docker")
    if docker_cli is None:
        raise BundleError("The docker command line is needed for bundles (docker save/load); install it.")
    result = subprocess.run([docker_cli, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundleError(f"`docker {args[0]}` failed: {result.stderr.strip()[-1000:]}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save_bundle(client: docker.DockerClient, target: Path) -> BundleManifest:
    """Write every required base into `target`; all must be present first (run `workshop bases`)."""
    statuses = [base_status(client, tag) for tag in REQUIRED_BASES]
    missing = [status.tag for status in statuses if not status.present]
    if missing:
        raise BundleError(f"Missing base images {', '.join(missing)}: run `workshop bases` first, then save again.")
    target = target.resolve()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        images_tar = Path(tmp) / IMAGES
        _docker_cli("save", "-o", str(images_tar), *REQUIRED_BASES)
        manifest = BundleManifest(
            format=BUNDLE_FORMAT,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            images=tuple(BundleImage(s.tag, s.image_id, s.size_bytes, s.state.value) for s in statuses),
            images_sha256=_sha256(images_tar),
            images_bytes=images_tar.stat().st_size,
        )
        (Path(tmp) / MANIFEST).write_text(manifest.to_json())
        partial = Path(tmp) / "bundle.partial"
        with tarfile.open(partial, "w") as archive:
            archive.add(Path(tmp) / MANIFEST, arcname=MANIFEST)
            archive.add(images_tar, arcname=IMAGES)
        partial.replace(target)  # never leave a half-written bundle under the real name
    return manifest


def verify_bundle(source: Path, workdir: Path) -> tuple[BundleManifest, Path]:
    """Unpack into workdir and check format, members, size and checksum; raise BundleError on any doubt."""
    refuse = f"Refusing {source}: "
    fix = " Copy the bundle again from the instructor's machine (or re-run `workshop bundle save`)."
    if not source.is_file():
        raise BundleError(f"No bundle at {source}.")
    try:
        with tarfile.open(source, "r:") as archive:
            names = archive.getnames()
            if sorted(names) != sorted([MANIFEST, IMAGES]):
                raise BundleError(refuse + f"it holds {names}, not a workshop bundle." + fix)
            archive.extractall(workdir, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleError(refuse + f"the archive is truncated or corrupt ({exc})." + fix) from exc
    try:
        manifest = BundleManifest.from_json((workdir / MANIFEST).read_text())
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(refuse + f"its manifest is unreadable ({exc})." + fix) from exc
    if manifest.format != BUNDLE_FORMAT:
        raise BundleError(refuse + f"bundle format {manifest.format}; this workshop reads format {BUNDLE_FORMAT}.")
    images_tar = workdir / IMAGES
    if images_tar.stat().st_size != manifest.images_bytes or _sha256(images_tar) != manifest.images_sha256:
        raise BundleError(refuse + "its images do not match the manifest's size and SHA-256 checksum." + fix)
    return manifest, images_tar


def _normal_tag(tag: str) -> str:
    name, _, version = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    for prefix in ("docker.io/", "library/"):
        name = name.removeprefix(prefix)
    return f"{name}:{version}"


def archive_tags(images_tar: Path) -> set[str]:
    """Every tag `docker load` would apply: RepoTags of manifest.json and the legacy `repositories` file."""
    tags: set[str] = set()
    try:
        with tarfile.open(images_tar, "r:") as archive:
            for member_name, read in (("manifest.json", _repo_tags), ("repositories", _legacy_tags)):
                try:
                    member = archive.extractfile(member_name)
                except KeyError:
                    continue
                if member is not None:
                    tags |= read(json.loads(member.read(10 << 20)))
    except (tarfile.TarError, ValueError, TypeError, AttributeError, OSError) as exc:
        raise BundleError(f"The bundle's images.tar cannot be read ({exc}). Save the bundle again.") from exc
    return {_normal_tag(tag) for tag in tags}


def _repo_tags(data: object) -> set[str]:
    return {str(tag) for entry in data for tag in (entry.get("RepoTags") or [])}  # type: ignore[attr-defined]


def _legacy_tags(data: object) -> set[str]:
    return {f"{repo}:{tag}" for repo, tags in data.items() for tag in tags}  # type: ignore[attr-defined]


def check_tags(manifest: BundleManifest, images_tar: Path) -> None:
    """Refuse a bundle whose images.tar would apply a tag the manifest does not list, or a non-base tag."""
    listed = {_normal_tag(image.tag) for image in manifest.images}
    foreign = sorted(archive_tags(images_tar) - listed) + sorted(listed - {_normal_tag(t) for t in REQUIRED_BASES})
    if foreign:
        raise BundleError(f"Refusing the bundle: it would tag {', '.join(foreign)}, which "
                          f"{'its manifest does not list' if foreign[0] not in listed else 'is not a workshop base'}. "
                          "Nothing was loaded. Use a bundle written by `workshop bundle save`.")


def _current_ids(client: docker.DockerClient, tags: list[str]) -> dict[str, str | None]:
    return {tag: base_status(client, tag).image_id or None for tag in tags}


def _roll_back(client: docker.DockerClient, before: dict[str, str | None]) -> None:
    """Put every tag back on the image it named before the load (or remove a tag that did not exist)."""
    for tag, image_id in before.items():
        repository, _, version = tag.rpartition(":")
        try:
            if image_id is not None:
                client.api.tag(image_id, repository, version, force=True)
            elif base_status(client, tag).image_id:
                client.api.remove_image(tag, noprune=False)
        except docker.errors.APIError:
            continue


def load_bundle(client: docker.DockerClient, source: Path) -> BundleManifest:
    """Check the whole bundle and its tags, then load it; afterwards every tag in it points at the image id it was
    saved with, or (on any failure) at what it pointed to before."""
    with tempfile.TemporaryDirectory(prefix="workshop-bundle-", dir="/var/tmp") as tmp:
        manifest, images_tar = verify_bundle(source, Path(tmp))
        check_tags(manifest, images_tar)
        before = _current_ids(client, [image.tag for image in manifest.images])
        try:
            _docker_cli("load", "-i", str(images_tar))
        except BundleError:
            _roll_back(client, before)
            raise
    wrong = [image.tag for image in manifest.images if base_status(client, image.tag).image_id != image.image_id]
    if wrong:
        _roll_back(client, before)
        raise BundleError(f"Loaded {source}, but {', '.join(wrong)} did not get the saved image ids; every tag was "
                          "put back as it was. Save the bundle again.")
    return manifest
