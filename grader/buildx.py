"""Install the docker CLI's buildx plugin (BuildKit) where the distribution does not package it.

Debian 12 has no docker-buildx package, but Debian 13's holds a static plugin binary that works with Debian 12's
engine. We take that .deb from the machine's own Debian mirror, check it against the archive's SHA-256, and unpack
only the plugin into the CLI plugins folder. Nothing else of Debian 13 touches the machine.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from grader.apt_sources import NoDebianMirror, debian_mirror
from grader.engine import BUILDX_PLUGIN, buildx_available

SOURCE_SUITE = "trixie"
ARCHITECTURE = {"x86_64": "amd64", "aarch64": "arm64"}


class BuildxInstallError(RuntimeError):
    """The plugin could not be installed; the message says why and what to do instead."""


def install_buildx(plugin_path: Path = BUILDX_PLUGIN) -> str:
    """Install the plugin unless a working one is there already. Returns a one-line status."""
    if buildx_available():
        return "docker buildx is already available."
    if os.geteuid() != 0:
        raise BuildxInstallError("Installing the buildx plugin needs root: run `sudo workshop engine install-buildx`.")
    try:
        mirror = debian_mirror()
    except NoDebianMirror as exc:
        raise BuildxInstallError(str(exc)) from exc
    arch = ARCHITECTURE.get(os.uname().machine)
    if arch is None:
        raise BuildxInstallError(f"No buildx package is known for {os.uname().machine}.")
    filename, sha256 = _find_package(mirror, arch)
    with tempfile.TemporaryDirectory() as tmp:
        deb = Path(tmp) / "docker-buildx.deb"
        _download(f"{mirror}/{filename}", deb)
        digest = hashlib.sha256(deb.read_bytes()).hexdigest()
        if digest != sha256:
            raise BuildxInstallError(f"{filename} has SHA-256 {digest}, the archive says {sha256}: not installed.")
        unpacked = Path(tmp) / "unpacked"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        binary = unpacked / "usr/libexec/docker/cli-plugins/docker-buildx"
        plugin_path.parent.mkdir(parents=True, exist_ok=True)
        plugin_path.write_bytes(binary.read_bytes())
        plugin_path.chmod(0o755)
    if not buildx_available():
        raise BuildxInstallError(f"Installed {plugin_path}, but `docker buildx version` still fails.")
    return f"Installed the buildx plugin from Debian {SOURCE_SUITE}'s docker-buildx package at {plugin_path}."


def _find_package(mirror: str, arch: str) -> tuple[str, str]:
    """The pool path and SHA-256 of docker-buildx in the suite's package index."""
    index_url = f"{mirror}/dists/{SOURCE_SUITE}/main/binary-{arch}/Packages.xz"
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "Packages.xz"
        _download(index_url, index)
        text = lzma.decompress(index.read_bytes()).decode("utf-8", errors="replace")
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if fields.get("Package") == "docker-buildx":
            return fields["Filename"], fields["SHA256"]
    raise BuildxInstallError(f"Debian {SOURCE_SUITE} on {mirror} lists no docker-buildx package.")


def _download(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=120) as response, target.open("wb") as out:  # noqa: S310
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except OSError as exc:
        raise BuildxInstallError(f"Could not download {url}: {exc}") from exc
