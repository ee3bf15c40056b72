"""Read the Debian mirror this machine already uses, so stand-in images never name a mirror of their own.

Both formats are understood: deb822 files (/etc/apt/sources.list.d/*.sources) and one-line entries
(/etc/apt/sources.list, *.list). WORKSHOP_DEBIAN_MIRROR overrides the main archive (an offline classroom mirror).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.errors import NoDebianMirror

__all__ = [
    "APT_DIR",
    "DEBIAN_SUITES",
    "AptSource",
    "NoDebianMirror",
    "debian_mirror",
    "debian_security_mirror",
    "machine_sources",
]

APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class AptSource:
    """One `deb` entry: a URI and the suites and components it serves."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]

    @property
    def is_security(self) -> bool:
        return any(suite.endswith("-security") for suite in self.suites) or "security" in self.uri


def _parse_deb822(text: str) -> list[AptSource]:
    sources = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line.startswith((" ", "\t")):
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(
                AptSource(uri.rstrip("/"), tuple(fields.get("suites", "").split()),
                          tuple(fields.get("components", "main").split()))
            )
    return sources


def _parse_one_line(text: str) -> list[AptSource]:
    sources = []
    for line in text.splitlines():
        body = line.split("#", 1)[0].strip()
        if not body.startswith("deb "):
            continue
        body = body[4:].strip()
        if body.startswith("["):  # options such as [signed-by=...]
            body = body.split("]", 1)[1]
        words = body.split()
        if len(words) >= 2:
            sources.append(AptSource(words[0].rstrip("/"), (words[1],), tuple(words[2:]) or ("main",)))
    return sources


def machine_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    """Every enabled `deb` source the machine's apt uses."""
    sources: list[AptSource] = []
    one_line = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file():
            sources += _parse_one_line(path.read_text(errors="replace"))
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        sources += _parse_deb822(path.read_text(errors="replace"))
    return sources


def debian_mirror(apt_dir: Path = APT_DIR) -> str:
    """The main Debian archive URI: WORKSHOP_DEBIAN_MIRROR, else the machine's own bookworm/trixie source."""
    override = os.environ.get("WORKSHOP_DEBIAN_MIRROR")
    if override:
        return override.rstrip("/")
    for source in machine_sources(apt_dir):
        if not source.is_security and any(s.split("-")[0] in DEBIAN_SUITES for s in source.suites):
            return source.uri
    raise NoDebianMirror(
        "This machine's apt sources name no Debian archive (are you on Ubuntu?). Set WORKSHOP_DEBIAN_MIRROR to a "
        "Debian mirror URI (your classroom or company mirror), then run `workshop bases` again."
    )


def debian_security_mirror(apt_dir: Path = APT_DIR) -> str | None:
    """The machine's Debian security archive, when it has one (stand-ins then get security updates too)."""
    for source in machine_sources(apt_dir):
        if source.is_security and any(s.startswith("bookworm") for s in source.suites):
            return source.uri
    return None


DEBIAN_SUITES = ("bookworm", "trixie", "bullseye", "stable", "oldstable", "testing", "sid", "unstable")
