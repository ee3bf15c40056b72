"""`workshop bases`: make every base image the exercises use present, offline if need be.

For each tag in the catalogue (catalog.py), in dependency order: keep it when present (an official image is never
replaced without `force`), else pull it, else build a local stand-in from distribution packages and tag it with the
official name, so a learner's `FROM node:20` works unchanged in a classroom without a registry. A service image
(postgres:15) that cannot be made does not stop the exercise bases: its outcome says why, and the grader's probe
notes that the database is not available.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, DockerException

from grader.bases import recipes
from grader.bases.build_inputs import (
    DOWNLOADS_DIR,
    NODE_PACKAGE,
    NPM_PACKAGE,
    prepare_debian_rootfs,
    prepare_node_dist,
    write_extra_ca,
)
from grader.bases.catalog import (
    BASES,
    BASES_BY_TAG,
    EXERCISE_IMAGES,
    REQUIRED_BASES,
    SERVICE_IMAGES,
    BaseGroup,
    BaseSpec,
    BaseState,
    BaseStatus,
    base_status,
)
from grader.engine.daemon import Say
from grader.errors import BaseBuildError
from grader.paths import STATE_DIR

__all__ = [
    "BASES",
    "BASES_BY_TAG",
    "DEFAULT_EXTRA_CA_DIR",
    "DOWNLOADS_DIR",
    "EXERCISE_IMAGES",
    "LOG_DIR",
    "NODE_PACKAGE",
    "NPM_PACKAGE",
    "REQUIRED_BASES",
    "SERVICE_IMAGES",
    "BaseBuildError",
    "BaseGroup",
    "BaseOutcome",
    "BaseSpec",
    "BaseState",
    "BaseStatus",
    "base_status",
    "ensure_bases",
    "extra_ca_certificates",
]

LOG_DIR = STATE_DIR / "logs"

#: The machine's extra CA certificates (a TLS-inspecting company proxy); WORKSHOP_EXTRA_CA_DIR overrides,
#: WORKSHOP_EXTRA_CA=off turns the feature off.
DEFAULT_EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")


@dataclass(frozen=True)
class BaseOutcome:
    """What `ensure_bases` did for one tag, for the summary table and the tests."""

    tag: str
    action: str  # "kept", "pulled", "built", "failed" (a service image only)
    seconds: float
    status: BaseStatus
    note: str = ""  # why a service image could not be made


def extra_ca_certificates() -> list[Path]:
    """The extra CA certificates the stand-ins should trust (auto-detected; opt out with WORKSHOP_EXTRA_CA=off)."""
    if os.environ.get("WORKSHOP_EXTRA_CA", "").lower() in ("off", "0", "no", "false"):
        return []
    folder = Path(os.environ.get("WORKSHOP_EXTRA_CA_DIR", DEFAULT_EXTRA_CA_DIR))
    return sorted(p for p in folder.glob("*.crt") if p.is_file()) if folder.is_dir() else []


def ensure_bases(
    client: docker.DockerClient,
    *,
    force: bool = False,
    pull: bool = True,
    say: Say = print,
) -> list[BaseOutcome]:
    """Make every required base present; build what is missing, parents first, independent ones in parallel."""
    statuses = {spec.tag: base_status(client, spec.tag) for spec in BASES}
    to_make = _tags_to_make(statuses, force)
    if not to_make:
        return [BaseOutcome(tag, "kept", 0.0, statuses[tag]) for tag in REQUIRED_BASES]
    certificates = extra_ca_certificates()
    if certificates:
        say(f"Stand-ins will trust {len(certificates)} extra CA certificate(s) from {certificates[0].parent}.")
    outcomes: dict[str, BaseOutcome] = {}
    with _build_inputs(to_make, certificates, say) as inputs, ThreadPoolExecutor(max_workers=3) as pool:
        futures: dict[str, Future[BaseOutcome]] = {}
        for spec in BASES:  # BASES is in dependency order, so a parent's future exists before its children's
            if spec.tag not in to_make:
                continue
            parent_future = futures.get(spec.parent) if spec.parent else None
            futures[spec.tag] = pool.submit(_make_one, client, spec, parent_future, inputs, pull, say)
        for tag, future in futures.items():
            outcomes[tag] = future.result()
    return [outcomes.get(tag) or BaseOutcome(tag, "kept", 0.0, statuses[tag]) for tag in REQUIRED_BASES]


def _tags_to_make(statuses: dict[str, BaseStatus], force: bool) -> set[str]:
    """Required tags that are absent or stale (or all stand-ins when forced), plus the parents they build on."""
    wanted = {
        tag
        for tag in REQUIRED_BASES
        if force or statuses[tag].state in (BaseState.ABSENT, BaseState.STALE_STAND_IN)
    }
    for tag in list(wanted):
        parent = BASES_BY_TAG[tag].parent
        while parent:
            if force or not statuses[parent].present or statuses[parent].state is BaseState.STALE_STAND_IN:
                wanted.add(parent)
            parent = BASES_BY_TAG[parent].parent
    return wanted


@dataclass(frozen=True)
class _BuildInputs:
    """Files every stand-in build context may need, prepared once per run."""

    workdir: Path
    certificates: tuple[Path, ...]
    node_dist: Path | None
    rootfs_tar: Path | None


@contextmanager
def _build_inputs(to_make: set[str], certificates: list[Path], say: Say) -> Iterator[_BuildInputs]:
    workdir = Path(tempfile.mkdtemp(prefix="workshop-bases-", dir="/var/tmp"))
    try:
        needs_node = any(tag.startswith("node:") for tag in to_make)
        node_dist = prepare_node_dist(workdir, say) if needs_node else None
        needs_rootfs = "debian:bookworm-slim" in to_make
        rootfs_tar = prepare_debian_rootfs(workdir, certificates, say) if needs_rootfs else None
        yield _BuildInputs(workdir, tuple(certificates), node_dist, rootfs_tar)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _make_one(
    client: docker.DockerClient,
    spec: BaseSpec,
    parent: Future[BaseOutcome] | None,
    inputs: _BuildInputs,
    pull: bool,
    say: Say,
) -> BaseOutcome:
    started = time.monotonic()
    try:
        return _pull_or_build(client, spec, parent, inputs, pull, say, started)
    except BaseBuildError as exc:
        if spec.group is not BaseGroup.SERVICE:
            raise
        say(f"  could not make {spec.tag}: {str(exc).splitlines()[0]}")
        return BaseOutcome(spec.tag, "failed", time.monotonic() - started, base_status(client, spec.tag), str(exc))


def _pull_or_build(
    client: docker.DockerClient,
    spec: BaseSpec,
    parent: Future[BaseOutcome] | None,
    inputs: _BuildInputs,
    pull: bool,
    say: Say,
    started: float,
) -> BaseOutcome:
    if parent is not None:
        parent.result()  # re-raises the parent's failure, so children are not built on nothing
    if pull and _try_pull(client, spec.tag):
        say(f"  pulled {spec.tag}")
        return BaseOutcome(spec.tag, "pulled", time.monotonic() - started, base_status(client, spec.tag))
    say(f"  building a local stand-in for {spec.tag} ...")
    _build_stand_in(client, spec, inputs)
    status = base_status(client, spec.tag)
    seconds = time.monotonic() - started
    say(f"  built {spec.tag}: {status.size_bytes / 1e6:.0f} MB (official ~{spec.official_mb} MB) in {seconds:.0f} s")
    return BaseOutcome(spec.tag, "built", seconds, status)


def _try_pull(client: docker.DockerClient, tag: str) -> bool:
    repository, _, version = tag.partition(":")
    try:
        client.images.pull(repository, tag=version)
    except DockerException:
        return False
    return True


def _recipe(spec: BaseSpec, has_extra_ca: bool) -> str:
    match spec.tag:
        case "debian:bookworm-slim":
            return recipes.debian_slim()
        case "buildpack-deps:bookworm":
            return recipes.buildpack_deps(has_extra_ca)
        case "node:20" | "node:20-slim":
            return recipes.node(spec.tag, spec.parent or "", has_extra_ca)
        case "python:3.11" | "python:3.11-slim":
            return recipes.python(spec.tag, spec.parent or "", spec.tag == "python:3.11", has_extra_ca)
        case "postgres:15":
            return recipes.postgres(spec.tag, spec.parent or "", has_extra_ca)
    raise ValueError(f"no recipe for {spec.tag}")


def _build_stand_in(client: docker.DockerClient, spec: BaseSpec, inputs: _BuildInputs) -> None:
    """Build one stand-in from its recipe in a context holding only what that recipe copies."""
    context = inputs.workdir / ("context-" + spec.tag.replace(":", "-"))
    context.mkdir()
    (context / "Dockerfile").write_text(_recipe(spec, bool(inputs.certificates)))
    if inputs.certificates:
        write_extra_ca(context / "extra-ca", inputs.certificates)
    if spec.tag.startswith("node:") and inputs.node_dist:
        # hard links: two node images share one unpacked tree without copying 150 MB
        ignore = _other_os_openssl_configs if spec.tag.endswith("-slim") else None
        shutil.copytree(inputs.node_dist, context / "node-dist", symlinks=True, copy_function=os.link, ignore=ignore)
    if spec.tag.startswith("postgres:"):
        shutil.copy(recipes.POSTGRES_ENTRYPOINT, context / "docker-entrypoint.sh")  # keeps its mode (0755)
    if spec.tag == "debian:bookworm-slim" and inputs.rootfs_tar:
        os.link(inputs.rootfs_tar, context / "rootfs.tar")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"base-{spec.tag.replace(':', '-')}.log"
    tail: list[str] = []
    with log_path.open("w") as log:
        try:
            for chunk in client.api.build(path=str(context), tag=spec.tag, rm=True, forcerm=True, decode=True):
                text = chunk.get("stream") or chunk.get("status") or ""
                if "error" in chunk:
                    text = chunk["error"]
                if text:
                    log.write(text if text.endswith("\n") else text + "\n")
                    tail = (tail + text.rstrip().splitlines())[-20:]
                if "error" in chunk:
                    raise BaseBuildError(
                        f"Building the stand-in for {spec.tag} failed: {chunk['error'].strip()}\n"
                        f"Full log: {log_path}\nLast lines:\n" + "\n".join(tail)
                    )
        except APIError as exc:
            raise BaseBuildError(f"The engine refused to build {spec.tag}: {exc}. Full log: {log_path}") from exc


def _other_os_openssl_configs(folder: str, names: list[str]) -> set[str]:
    """Slim keeps OpenSSL's Linux configurations only (node-gyp reads the host's): 50 MB of BSD, macOS,
    Windows, AIX and Solaris headers that no Linux container compiles against."""
    if not folder.endswith("include/node/openssl/archs"):
        return set()
    return {name for name in names if not name.startswith("linux")}
