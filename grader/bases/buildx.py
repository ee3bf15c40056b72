"""Install the docker CLI's buildx plugin (BuildKit) where the distribution does not package it.

Debian 12 has no docker-buildx package, but Debian 13's holds a static plugin binary that works with Debian 12's
engine. We take that .deb from the machine's own Debian mirror and trust it only through Debian's signature,
the way apt does:

    InRelease  --gpgv + Debian's archive keyring-->  signed Release text
    Packages.xz  --SHA-256 and size listed in the signed Release-->  package index
    docker-buildx_*.deb  --SHA-256 listed in the index-->  the plugin

The mirror (often plain HTTP) is not trusted; anything that fails a step is refused before it is unpacked. Only
the plugin binary is unpacked into the CLI plugins folder; nothing else of Debian 13 touches the machine.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from grader.bases.mirror import debian_mirror
from grader.engine.daemon import BUILDX_PLUGIN, buildx_available
from grader.errors import BuildxInstallError, NoDebianMirror

__all__ = [
    "ARCHITECTURE",
    "ARCHIVE_KEYRING",
    "SOURCE_SUITE",
    "BuildxInstallError",
    "NoDebianMirror",
    "checked_index",
    "install_buildx",
    "release_entry",
    "verified_release",
]

SOURCE_SUITE = "trixie"
#: Debian's archive keys (package debian-archive-keyring), as apt uses them.
ARCHIVE_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_REFUSED_STATUS = ("[GNUPG:] BADSIG", "[GNUPG:] EXPKEYSIG", "[GNUPG:] REVKEYSIG", "[GNUPG:] EXPSIG")
ARCHITECTURE = {"x86_64": "amd64", "aarch64": "arm64"}


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


def verified_release(inrelease: bytes, keyring: Path = ARCHIVE_KEYRING) -> str:
    """The Release text inside a clear-signed InRelease, only if gpgv finds a valid signature by a key in
    Debian's archive keyring and no bad one. Only the signed text is returned (never the bytes around it)."""
    gpgv = shutil.which("gpgv")
    if gpgv is None or not keyring.is_file():
        raise BuildxInstallError(f"Checking Debian's signature needs gpgv and {keyring}: "
                                 "`apt-get install gpgv debian-archive-keyring`, then run this again.")
    with tempfile.TemporaryDirectory() as tmp:
        signed, text = Path(tmp) / "InRelease", Path(tmp) / "Release"
        signed.write_bytes(inrelease)
        result = subprocess.run([gpgv, "--status-fd", "1", "--keyring", str(keyring), "--output", str(text),
                                 str(signed)], capture_output=True, text=True, timeout=120, check=False)
        status = result.stdout
        if result.returncode != 0 or "[GNUPG:] VALIDSIG" not in status or any(s in status for s in _REFUSED_STATUS):
            detail = (result.stderr.strip().splitlines() or ["no valid signature"])[-1]
            raise BuildxInstallError(f"The mirror's InRelease for {SOURCE_SUITE} is not validly signed by Debian "
                                     f"({detail}): nothing installed. Check the mirror (WORKSHOP_DEBIAN_MIRROR).")
        return text.read_text(encoding="utf-8", errors="replace")


def release_entry(release: str, path: str) -> tuple[str, int]:
    """(SHA-256, size) that the signed Release lists for `path` (e.g. main/binary-amd64/Packages.xz)."""
    in_sha256 = False
    for line in release.splitlines():
        if not line.startswith(" "):
            in_sha256 = line.strip() == "SHA256:"
            continue
        parts = line.split()
        if in_sha256 and len(parts) == 3 and parts[2] == path and parts[1].isdigit():
            return parts[0].lower(), int(parts[1])
    raise BuildxInstallError(f"The signed Release lists no SHA-256 for {path}: nothing installed.")


def checked_index(data: bytes, release: str, path: str) -> str:
    """The decompressed package index, only if its bytes match the signed Release's SHA-256 and size."""
    sha256, size = release_entry(release, path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256 or len(data) != size:
        raise BuildxInstallError(f"{path} has SHA-256 {digest} ({len(data)} bytes); the signed Release says "
                                 f"{sha256} ({size} bytes): nothing installed.")
    return lzma.decompress(data).decode("utf-8", errors="replace")


def _find_package(mirror: str, arch: str) -> tuple[str, str]:
    """The pool path and SHA-256 of docker-buildx in the suite's signed package index."""
    index_path = f"main/binary-{arch}/Packages.xz"
    with tempfile.TemporaryDirectory() as tmp:
        inrelease, index = Path(tmp) / "InRelease", Path(tmp) / "Packages.xz"
        _download(f"{mirror}/dists/{SOURCE_SUITE}/InRelease", inrelease)
        release = verified_release(inrelease.read_bytes())
        _download(f"{mirror}/dists/{SOURCE_SUITE}/{index_path}", index)
        text = checked_index(index.read_bytes(), release, index_path)
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
