"""What one layer holds (`LayerIndex`), and the bounds that keep indexing it inside the grader's own memory.

An image is the learner's: it may hold a 2 GB /etc/passwd, a dpkg database of millions of stanzas, millions of
empty files (they cost no image size), directories nested thousands deep or tar headers of any length. The grader
must not let that choose how much memory it uses, so every reader below stops at a bound that the grader sets:

- a file a check reads (passwd, group, dpkg/apk databases) is read up to CONTENT_MAX_BYTES, and the fact that the
  rest was not read is kept (`LayerIndex.truncated`);
- the paths of an image are indexed up to MAX_ENTRIES paths and MAX_PATH_BYTES of names, for all its layers
  together (`IndexBudget`), and no path longer than MAX_PATH_LENGTH is kept; past a bound, the listing stops and
  says why (`LayerIndex.unindexed`), and the checks that need every path fail with that reason.

Both layer readers (the overlay2 walk and the tar stream) fill a `LayerCollector`, so the bounds and the
bookkeeping live here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.model import FileEntry
from grader.units import human_bytes

__all__ = [
    "CONTENTS_MAX_BYTES",
    "CONTENT_MAX_BYTES",
    "HEADER_MAX_BYTES",
    "JSON_MAX_BYTES",
    "KEY_MAX_BYTES",
    "MAX_ENTRIES",
    "MAX_PATH_BYTES",
    "MAX_PATH_LENGTH",
    "PRIVATE_KEY_MARK",
    "WANTED_CONTENTS",
    "WANTED_DIRS",
    "IndexBudget",
    "LayerCollector",
    "LayerIndex",
    "is_key_candidate",
    "is_wanted",
    "unindexed_layer",
]

WANTED_CONTENTS = frozenset({"etc/passwd", "etc/group", "var/lib/dpkg/status", "lib/apk/db/installed"})
WANTED_DIRS = ("var/lib/dpkg/status.d/",)
_KEY_SUFFIXES = (".pem", ".key", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519")
PRIVATE_KEY_MARK = b"PRIVATE KEY-----"

#: Paths indexed per image, all layers together (a large real image has ~50,000; ~360 bytes of memory each).
MAX_ENTRIES = 400_000
#: Bytes of path names indexed per image.
MAX_PATH_BYTES = 48 << 20
#: One path's length; Linux's PATH_MAX is 4096 with the storage root in front.
MAX_PATH_LENGTH = 3072
#: One file a check reads: /etc/passwd, /etc/group, the dpkg status file, the apk database (real ones: < 1 MB).
CONTENT_MAX_BYTES = 16 << 20
#: All such files of one layer together (dpkg's status.d holds one file per package).
CONTENTS_MAX_BYTES = 32 << 20
#: A file named like a private key is looked into only when smaller than this, and only its head.
KEY_MAX_BYTES = 64_000
#: One tar long-name or PAX header (a path is at most MAX_PATH_LENGTH; PAX also carries xattrs).
HEADER_MAX_BYTES = 1 << 20
#: The image config and manifest JSON (the engine writes them; the learner's Dockerfile is at most 1 MB).
JSON_MAX_BYTES = 16 << 20


def is_wanted(path: str) -> bool:
    """A file whose bytes a check reads."""
    return path in WANTED_CONTENTS or path.startswith(WANTED_DIRS)


def is_key_candidate(name: str) -> bool:
    return name.endswith(_KEY_SUFFIXES)


@dataclass(frozen=True)
class LayerIndex:
    """What one layer holds, independent of the image it is part of (so it is cached by digest).

    `truncated` names the files of `contents` that were cut at CONTENT_MAX_BYTES; `unindexed` says why the listing
    of `files` is incomplete (a bound was reached), or is None when every path was indexed."""

    files: dict[str, FileEntry]
    deleted: frozenset[str]
    opaque: frozenset[str]
    contents: dict[str, bytes]
    private_keys: frozenset[str]
    compression_ratio: float | None = None  # gzip ratio of a sample of the layer's largest files
    truncated: frozenset[str] = frozenset()
    unindexed: str | None = None

    @property
    def size_bytes(self) -> int:
        return sum(entry.size for entry in self.files.values() if entry.kind != "dir")

    @property
    def entry_count(self) -> int:
        return len(self.files) + len(self.deleted) + len(self.opaque)

    @property
    def path_bytes(self) -> int:
        return sum(map(len, self.files)) + sum(map(len, self.deleted)) + sum(map(len, self.opaque))


def unindexed_layer(reason: str) -> LayerIndex:
    """A layer the grader did not index: nothing listed, and the reason why."""
    return LayerIndex({}, frozenset(), frozenset(), {}, frozenset(), unindexed=reason)


class IndexBudget:
    """How many more paths, and bytes of path names, the layers of one image may still add to its index."""

    def __init__(self, entries: int = MAX_ENTRIES, path_bytes: int = MAX_PATH_BYTES) -> None:
        self.entries = entries
        self.path_bytes = path_bytes

    def take(self, path: str) -> bool:
        """Count one path against the budget; False (and nothing counted) when it would not fit."""
        if self.entries <= 0 or self.path_bytes < len(path):
            return False
        self.entries -= 1
        self.path_bytes -= len(path)
        return True

    def charge(self, index: LayerIndex) -> bool:
        """Count a whole layer (one read from the cache); False when it does not fit in what is left."""
        count, size = index.entry_count, index.path_bytes
        if count > self.entries or size > self.path_bytes:
            return False
        self.entries -= count
        self.path_bytes -= size
        return True

    @property
    def exhausted_reason(self) -> str:
        return (f"the image holds more than {MAX_ENTRIES:,} paths or {human_bytes(MAX_PATH_BYTES)} of path names, "
                "the most the grader indexes")


@dataclass
class LayerCollector:
    """The mutable side of indexing one layer; `finish()` freezes it into a LayerIndex."""

    budget: IndexBudget
    files: dict[str, FileEntry] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    contents: dict[str, bytes] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    truncated: set[str] = field(default_factory=set)
    unindexed: str | None = None
    content_bytes: int = 0
    full: bool = False  # the image's budget ran out: nothing more is listed


    def admit(self, path: str) -> bool:
        """Whether a path may be indexed: not too long, and within the image's budget. A refusal is remembered."""
        if len(path) > MAX_PATH_LENGTH:
            self.unindexed = self.unindexed or (f"a path is longer than {MAX_PATH_LENGTH} characters "
                                                f"(/{path[:60]}...), the longest the grader indexes")
            return False
        if not self.budget.take(path):
            self.unindexed = self.unindexed or self.budget.exhausted_reason
            self.full = True
            return False
        return True

    def add(self, path: str, entry: FileEntry) -> None:
        if self.admit(path):
            self.files[path] = entry

    def add_marker(self, into: set[str], path: str) -> None:
        """A whiteout (into `deleted`) or an opaque directory (into `opaque`)."""
        if self.admit(path):
            into.add(path)

    def content_room(self) -> int:
        """How many bytes the next wanted file may bring: its own bound, and what the layer has left."""
        return max(0, min(CONTENT_MAX_BYTES, CONTENTS_MAX_BYTES - self.content_bytes))

    def add_content(self, path: str, data: bytes, size: int) -> None:
        """The bytes read of a wanted file of `size` bytes; fewer than `size` means it was cut at the bound."""
        self.contents[path] = data
        self.content_bytes += len(data)
        if len(data) < size:
            self.truncated.add(path)

    def finish(self, ratio: float | None = None) -> LayerIndex:
        return LayerIndex(self.files, frozenset(self.deleted), frozenset(self.opaque), self.contents,
                          frozenset(self.keys), ratio, frozenset(self.truncated), self.unindexed)
