"""The few files of an image that checks read (/etc/passwd, /etc/group, the dpkg and apk databases), parsed line
by line within bounds.

Each file arrives already cut at CONTENT_MAX_BYTES (grader/engine/layer_index.py); here a cut last line is dropped
rather than misread, at most MAX_NAMES names are kept, and every file that was not read whole is named in the
facts' `truncated_files`, so that a check can say it could not see everything instead of trusting half a file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain

from grader.engine.layer_index import CONTENT_MAX_BYTES, WANTED_DIRS, LayerIndex
from grader.model import MergedEntry
from grader.units import human_bytes

__all__ = ["MAX_NAMES", "PackageFacts", "apk_installed", "dpkg_installed", "ids", "read_package_facts"]

#: Names kept from /etc/passwd or /etc/group, and packages from the databases (real images: a few hundred).
MAX_NAMES = 100_000
_LINE_MAX = 64 * 1024


def _lines(text: bytes | None, truncated: bool = False) -> Iterator[str]:
    """The whole lines of `text`, lazily (no list of a million lines); a line cut by the bound is dropped, and so
    is any line over 64 kB (no real passwd or dpkg line is that long)."""
    if not text:
        return
    if truncated:
        text = text[: text.rfind(b"\n") + 1]
    for raw in io.BytesIO(text):
        if len(raw) <= _LINE_MAX:
            yield raw.rstrip(b"\r\n").decode("utf-8", "replace")


def ids(text: bytes | None, truncated: bool = False) -> dict[str, int]:
    """name -> id from /etc/passwd or /etc/group (the first entry of a name wins, as libc's lookup does)."""
    result: dict[str, int] = {}
    for line in _lines(text, truncated):
        parts = line.split(":", 3)
        if len(parts) >= 3 and parts[2].isdigit() and len(parts[2]) <= 10:
            result.setdefault(parts[0], int(parts[2]))
            if len(result) >= MAX_NAMES:
                break
    return result


def dpkg_installed(texts: Iterable[bytes], truncated: bool = False) -> frozenset[str]:
    """Installed package names from dpkg status files ("Status: install ok installed")."""
    names: set[str] = set()
    for text in texts:
        package: str | None = None
        status = "install ok installed"
        for line in chain(_lines(text, truncated), [""]):
            if not line.strip():
                if package and status.endswith(" installed") and len(names) < MAX_NAMES:
                    names.add(package)
                package, status = None, "install ok installed"
            elif line.startswith("Package: "):
                package = line[len("Package: "):].strip()
            elif line.startswith("Status: "):
                status = line[len("Status: "):].strip()
    return frozenset(names)


def apk_installed(text: bytes | None, truncated: bool = False) -> frozenset[str]:
    names = (line[2:].strip() for line in _lines(text, truncated) if line.startswith("P:"))
    return frozenset(name for _, name in zip(range(MAX_NAMES), names, strict=False))


@dataclass(frozen=True)
class PackageFacts:
    """Users, groups and installed packages, and which of their files were read only in part."""

    users: Mapping[str, int]
    groups: Mapping[str, int]
    dpkg: frozenset[str]
    apk: frozenset[str]
    truncated: tuple[str, ...]


def _file(layers: list[LayerIndex], merged: Mapping[str, MergedEntry], path: str) -> tuple[bytes | None, bool]:
    """The bytes read of one path of the final file system, and whether they were cut at the bound."""
    entry = merged.get(path)
    if entry is None:
        return None, False
    layer = layers[entry.layer]
    return layer.contents.get(path), path in layer.truncated


def read_package_facts(layers: list[LayerIndex], merged: Mapping[str, MergedEntry]) -> PackageFacts:
    """Parse the final file system's passwd, group and package databases, each within its bound."""
    cut: list[str] = []

    def read(path: str) -> tuple[bytes | None, bool]:
        text, truncated = _file(layers, merged, path)
        if truncated:
            cut.append(f"/{path} (read {human_bytes(len(text or b''))} of {human_bytes(merged[path].size)}; the "
                       f"grader reads at most {human_bytes(CONTENT_MAX_BYTES)} of a file)")
        return text, truncated

    passwd, group = read("etc/passwd"), read("etc/group")
    dpkg_files = sorted(p for p in merged if p == "var/lib/dpkg/status" or p.startswith(WANTED_DIRS))
    status = [read(path) for path in dpkg_files]
    apk = read("lib/apk/db/installed")
    dpkg_cut = any(truncated for _, truncated in status)
    return PackageFacts(users=ids(*passwd), groups=ids(*group),
                        dpkg=dpkg_installed((text for text, _ in status if text is not None), dpkg_cut),
                        apk=apk_installed(*apk), truncated=tuple(cut))
