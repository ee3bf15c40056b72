"""Lesson 10, BuildKit and the supply chain: a secret mount against a copied .npmrc, cache and bind mounts, a test
stage, an SBOM made from the grader's one inspection of an image, a container that turns unhealthy, and what
`--platform` can and cannot do here.

The SBOM is pure: `sbom_components` reads ImageFacts (file paths) and the text of dpkg's status file, and
`cyclonedx` writes a CycloneDX 1.5 document as a dict, so both are tested with hand-made facts. The engine
calls live in grader.notebook.buildkit_runs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.exercises import starting_dockerfile
from grader.model import ImageFacts
from grader.notebook.asking import Question
from grader.notebook.buildkit_runs import BuildxRun, buildx_build, layers_holding, read_image_file
from grader.notebook.common import LESSON_STATE
from grader.notebook.image_api import build_image, image_facts, lesson_tag
from grader.paths import APPS_DIR, LESSONS_DIR, SOLUTIONS_DIR

__all__ = [
    "Component",
    "DOCKERFILES",
    "FAKE_TOKEN",
    "MountExperiment",
    "NpmCacheExperiment",
    "QUIZ",
    "SbomSummary",
    "SecretExperiment",
    "bytes_under",
    "cyclonedx",
    "dpkg_components",
    "fastapi_images",
    "healthcheck_image",
    "lesson_npmrc",
    "mount_experiment",
    "native_extensions",
    "npm_cache_experiment",
    "platform_attempt",
    "sbom_components",
    "sbom_summary",
    "secret_experiment",
    "shared_libraries",
    "test_stage_builds",
]

DOCKERFILES = LESSONS_DIR / "dockerfiles"
#: The fake token of the lesson's .npmrc: a string to look for in every layer, not a secret of anyone's.
FAKE_TOKEN = "lesson10-fake-token-not-a-real-secret"
_FAKE_REGISTRY_LINE = f"//npm.invalid/:_authToken={FAKE_TOKEN}\n"


# ---------- secrets ----------
@dataclass(frozen=True)
class SecretExperiment:
    """The same step built twice: with the .npmrc copied (then deleted) and with it mounted as a secret."""

    copied: BuildxRun
    mounted: BuildxRun
    copied_layers: tuple[int, int]  # (layers holding the token, layers in all)
    mounted_layers: tuple[int, int]


def lesson_npmrc() -> Path:
    """The app's own .npmrc plus a fake auth token line, written under the lessons' state folder."""
    folder = LESSON_STATE / "10-secret"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "npmrc"
    path.write_text((APPS_DIR / "node-api" / ".npmrc").read_text() + _FAKE_REGISTRY_LINE)
    return path


def secret_experiment() -> SecretExperiment:
    """Build npmrc-copied and npmrc-secret, then look for the token in every layer of each `docker save`."""
    npmrc = lesson_npmrc()
    copied = buildx_build("10-npmrc-copied", DOCKERFILES / "npmrc-copied.Dockerfile", npmrc.parent)
    mounted = buildx_build("10-npmrc-secret", DOCKERFILES / "npmrc-secret.Dockerfile", npmrc.parent,
                           ("--secret", f"id=npmrc,src={npmrc}"))
    return SecretExperiment(copied, mounted,
                            layers_holding(lesson_tag("10-npmrc-copied"), FAKE_TOKEN) if copied.ok else (0, 0),
                            layers_holding(lesson_tag("10-npmrc-secret"), FAKE_TOKEN) if mounted.ok else (0, 0))


# ---------- cache and bind mounts, and the test stage ----------
def bytes_under(facts: ImageFacts, folder: str) -> int:
    """Bytes of the files under `folder` that the image's merged file system shows."""
    prefix = folder.strip("/") + "/"
    return sum(entry.size for path, entry in facts.merged.items() if path.startswith(prefix))


@dataclass(frozen=True)
class MountExperiment:
    """The fastapi build stage with pip's cache in a layer, and with a cache mount and a bind mount."""

    in_layer: BuildxRun
    mounted: BuildxRun
    cache_in_layer_bytes: int
    cache_mounted_bytes: int
    requirements_copied_in_image: bool  # the COPY variant: requirements.txt is in a layer
    requirements_in_image: bool  # the bind-mount variant


def mount_experiment() -> MountExperiment:
    """Build the `build` stage both ways and measure /root/.cache/pip in each image."""
    app = APPS_DIR / "fastapi"
    in_layer = buildx_build("10-pip-cache-in-layer", DOCKERFILES / "fastapi.pip-cache-in-layer.Dockerfile", app)
    mounted = buildx_build("10-mounts-build", DOCKERFILES / "fastapi.mounts.Dockerfile", app,
                           ("--target", "build"))
    layer_facts = image_facts(lesson_tag("10-pip-cache-in-layer")) if in_layer.ok else None
    mount_facts = image_facts(lesson_tag("10-mounts-build")) if mounted.ok else None
    return MountExperiment(
        in_layer, mounted,
        bytes_under(layer_facts, "/root/.cache/pip") if layer_facts else 0,
        bytes_under(mount_facts, "/root/.cache/pip") if mount_facts else 0,
        bool(layer_facts and "tmp/requirements.txt" in layer_facts.merged),
        bool(mount_facts and "tmp/requirements.txt" in mount_facts.merged))


@dataclass(frozen=True)
class NpmCacheExperiment:
    """node-api's `npm ci` with npm's cache left in the layer, and with a cache mount."""

    in_layer: BuildxRun
    mounted: BuildxRun
    cache_in_layer_bytes: int
    cache_mounted_bytes: int
    node_modules_bytes: int


def npm_cache_experiment() -> NpmCacheExperiment:
    """Build both node-api variants and measure /root/.npm (and node_modules, for scale) in each image."""
    app = APPS_DIR / "node-api"
    in_layer = buildx_build("10-npm-cache-in-layer", DOCKERFILES / "node-api.npm-cache-in-layer.Dockerfile", app)
    mounted = buildx_build("10-npm-cache-mount", DOCKERFILES / "node-api.npm-cache-mount.Dockerfile", app)
    layer_facts = image_facts(lesson_tag("10-npm-cache-in-layer")) if in_layer.ok else None
    mount_facts = image_facts(lesson_tag("10-npm-cache-mount")) if mounted.ok else None
    return NpmCacheExperiment(in_layer, mounted,
                              bytes_under(layer_facts, "/root/.npm") if layer_facts else 0,
                              bytes_under(mount_facts, "/root/.npm") if mount_facts else 0,
                              bytes_under(mount_facts, "/app/node_modules") if mount_facts else 0)


def test_stage_builds() -> tuple[BuildxRun, BuildxRun]:
    """(`--target test`, the default target) of fastapi.mounts.Dockerfile."""
    app, dockerfile = APPS_DIR / "fastapi", DOCKERFILES / "fastapi.mounts.Dockerfile"
    return (buildx_build("10-mounts-test", dockerfile, app, ("--target", "test")),
            buildx_build("10-mounts-final", dockerfile, app))


test_stage_builds.__test__ = False  # type: ignore[attr-defined]  # a lesson function, not a pytest test


# ---------- SBOM ----------
@dataclass(frozen=True)
class Component:
    """One package an SBOM lists: its ecosystem, name, version ("" when the image does not say) and purl."""

    ecosystem: str  # "deb" | "pypi" | "npm"
    name: str
    version: str

    @property
    def purl(self) -> str:
        namespace = "debian/" if self.ecosystem == "deb" else ""
        version = f"@{self.version}" if self.version else ""
        return f"pkg:{self.ecosystem}/{namespace}{self.name}{version}"


def dpkg_components(status: str) -> list[Component]:
    """Installed packages from the text of /var/lib/dpkg/status (name and version of each installed stanza)."""
    found = []
    for stanza in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            found.append(Component("deb", fields["Package"], fields.get("Version", "")))
    return found


_DIST_INFO = re.compile(r"(?:^|/)(?:site|dist)-packages/([A-Za-z0-9_.]+)-([^/-]+)\.dist-info/METADATA$")
_NODE_MODULE = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@.][^/]*)/package\.json$")


def sbom_components(facts: ImageFacts, dpkg_status: str | None) -> list[Component]:
    """Every package a scanner could name in the image: dpkg's database, Python dist-info folders, and
    node_modules package.json files (their names from the paths; npm versions need the files' text)."""
    found = dpkg_components(dpkg_status) if dpkg_status else []
    seen = set()
    for path in sorted(facts.merged):
        if (match := _DIST_INFO.search(path)) and ("pypi", match.group(1).lower()) not in seen:
            seen.add(("pypi", match.group(1).lower()))
            found.append(Component("pypi", match.group(1).lower().replace("_", "-"), match.group(2)))
        elif (match := _NODE_MODULE.search(path)) and ("npm", match.group(1)) not in seen:
            seen.add(("npm", match.group(1)))
            found.append(Component("npm", match.group(1), ""))
    return found


_PACKAGE_FOLDERS = ("site-packages/", "dist-packages/", "node_modules/", "lib-dynload/")


def shared_libraries(facts: ImageFacts) -> list[str]:
    """ELF shared libraries by name (`lib*.so`, `lib*.so.N`): the C libraries that a distribution's packages bring,
    not the extension modules of Python's standard library or of an app's packages."""
    return sorted(path for path in facts.merged if re.search(r"(?:^|/)lib[^/]*\.so(\.\d+)*$", path)
                  and not any(part in path for part in _PACKAGE_FOLDERS))


def native_extensions(facts: ImageFacts) -> list[str]:
    """Compiled addons that came with the app's packages (Python extensions, Node .node files)."""
    return sorted(path for path in facts.merged if (("site-packages/" in path or "dist-packages/" in path)
                                                    and path.endswith(".so")) or path.endswith(".node"))


def cyclonedx(components: Iterable[Component], image: str, serial: str | None = None) -> dict[str, Any]:
    """A CycloneDX 1.5 JSON document (as a dict) for an image and its components."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial or uuid.uuid4()}",
        "version": 1,
        "metadata": {"component": {"type": "container", "name": image},
                     "tools": {"components": [{"type": "application", "name": "docker-diet-workshop grader"}]}},
        "components": [{"type": "library", "name": c.name, **({"version": c.version} if c.version else {}),
                        "purl": c.purl, "bom-ref": c.purl} for c in components],
    }


@dataclass(frozen=True)
class SbomSummary:
    """What an SBOM of one image finds, beside what the image ships."""

    image: str
    size_bytes: int
    has_dpkg_status: bool
    counts: Mapping[str, int]  # ecosystem -> components found
    shared_libraries: int
    document: Mapping[str, Any]

    @property
    def components(self) -> int:
        return sum(self.counts.values())


_SBOM_SOURCES = {
    "naive": (None, None),
    "reference": (SOLUTIONS_DIR / "fastapi" / "Dockerfile", SOLUTIONS_DIR / "fastapi" / ".dockerignore"),
    "stretch": (SOLUTIONS_DIR / "stretch" / "fastapi" / "Dockerfile",
                SOLUTIONS_DIR / "stretch" / "fastapi" / ".dockerignore"),
}


def fastapi_images() -> dict[str, BuildxRun]:
    """The naive (starting), reference and stretch fastapi images, built with BuildKit; label -> the build.

    Each Dockerfile is copied under the lessons' state folder with its ignore file beside it as
    `Dockerfile.dockerignore`, the name BuildKit reads there (the context is apps/fastapi)."""
    builds = {}
    for label, (dockerfile, ignore) in _SBOM_SOURCES.items():
        if dockerfile is not None and not dockerfile.is_file():
            continue
        folder = LESSON_STATE / f"10-sbom-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Dockerfile").write_text(dockerfile.read_text() if dockerfile else starting_dockerfile("fastapi"))
        ignore_copy = folder / "Dockerfile.dockerignore"
        ignore_copy.write_text(ignore.read_text() if ignore is not None and ignore.is_file() else "")
        builds[label] = buildx_build(f"10-sbom-{label}", folder / "Dockerfile", APPS_DIR / "fastapi")
    return builds


def sbom_summary(label: str, image: str) -> SbomSummary:
    """Inspect an image once, read its dpkg status (if any), and make its SBOM."""
    facts = image_facts(image)
    status = read_image_file(image, "/var/lib/dpkg/status")
    components = sbom_components(facts, status.decode("utf-8", "replace") if status else None)
    counts = {ecosystem: sum(c.ecosystem == ecosystem for c in components) for ecosystem in ("deb", "pypi", "npm")}
    return SbomSummary(label, facts.size_bytes, status is not None, counts, len(shared_libraries(facts)),
                       cyclonedx(components, label))


# ---------- healthcheck and platforms ----------
def healthcheck_image() -> str:
    """Build healthcheck-turns-unhealthy.Dockerfile (tiny, cached); returns its tag."""
    text = (DOCKERFILES / "healthcheck-turns-unhealthy.Dockerfile").read_text()
    return build_image("10-healthcheck", text).tag


def platform_attempt(platform: str) -> BuildxRun:
    """Build a two-line Dockerfile on debian:bookworm-slim for another platform: the base must exist for that
    platform (locally or in a registry) and the builder must run its binaries (natively or through QEMU)."""
    folder = LESSON_STATE / "10-platform"
    folder.mkdir(parents=True, exist_ok=True)
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text("FROM debian:bookworm-slim\nRUN uname -m\n")
    return buildx_build(f"10-platform-{platform.replace('/', '-')}", dockerfile, folder,
                        ("--platform", platform), timeout_s=300)


# ---------- the closing quiz (quizzes.LESSONS["10"]) ----------
QUIZ: tuple[Question, ...] = (
    Question("A Dockerfile does `COPY .npmrc .`, `RUN npm ci`, then `RUN rm .npmrc`. Is the token in the image?",
             ("No: it was removed", "Yes: in the COPY's layer", "Only in the build cache"),
             1, ("The rm only hides it in a later layer (you found it with docker save).",
                 "Right: use `RUN --mount=type=secret,id=npmrc,...` and `--secret` instead.",
                 "It is in the image's own layers, which ship with every push.")),
    Question("What does Docker Engine do with a running container that turns unhealthy?",
             ("Restarts it", "Nothing but mark it unhealthy", "Stops it"),
             1, ("Restart policies act on exits, not on health (you watched it run on).",
                 "Right: Swarm replaces unhealthy tasks; Kubernetes uses its own probes instead.",
                 "It kept running in the lesson.")),
    Question("Why does the SBOM of the stretch (scratch) image list no Debian packages?",
             ("It ships none", "It has no dpkg status file", "Scanners cannot read scratch images"),
             1, ("It ships Python and 35 Debian libraries, copied by hand.",
                 "Right: SBOM tools read package metadata; distroless keeps it in /var/lib/dpkg/status.d/.",
                 "They read it like any image; there is just no metadata to find.")),
)
