"""Index layers from a tar stream: `docker save` where the engine's storage is not readable (Docker Desktop,
a remote DOCKER_HOST), with a minimal tar reader (tarfile's stream mode re-copies its buffer on each of ~50,000
headers).

Nothing here holds more than a bounded piece of the stream: member data is skipped in 1 MB reads, a wanted file is
read only up to its bound, long-name and PAX headers only up to HEADER_MAX_BYTES, the image's JSON only up to
JSON_MAX_BYTES, and the read-ahead thread keeps at most 16 MB in flight. A stream that ends early (the engine
restarted mid-save) raises SaveStreamError: an index cut short is never returned, so it is never cached.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

import docker

from grader.engine.layer_index import (
    HEADER_MAX_BYTES,
    JSON_MAX_BYTES,
    KEY_MAX_BYTES,
    PRIVATE_KEY_MARK,
    IndexBudget,
    LayerCollector,
    LayerIndex,
    is_key_candidate,
    is_wanted,
)
from grader.engine.save_stream import ByteStream, Member, saved_image_stream
from grader.model import FileEntry

__all__ = ["ZSTD_MAGIC", "ZSTD_MISSING", "SaveStreamError", "TarMember", "index_layer_tar", "index_saved_image",
           "index_saved_stream", "iter_tar"]

_BLOCK = 512
_ZERO_BLOCK = b"\0" * _BLOCK
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: What a grade says when the image holds a zstd layer and the decoder is missing.
ZSTD_MISSING = ("a layer of the saved image is zstd-compressed (the containerd image store keeps layers as they were "
                "pulled or built), and reading it needs the `zstandard` package, which `python3 grader/bootstrap.py` "
                "installs; or rebuild the image with gzip layers (`--output type=docker,compression=gzip`)")
_REFUSED = b"!"  # the type of a pseudo-member: a header over HEADER_MAX_BYTES, skipped unread


class SaveStreamError(docker.errors.DockerException):
    """The image's tar stream ended early or is not a tar: the engine failed under us, not the learner."""


def _read_exactly(stream: IO[bytes], count: int) -> bytes:
    data = stream.read(count)
    if len(data) < count:
        raise SaveStreamError(f"the image's tar stream ended early ({len(data)} of {count} bytes)")
    return data


def _skip(stream: IO[bytes] | ByteStream | Member, count: int) -> None:
    if isinstance(stream, ByteStream | Member):  # drops the bytes without copying them
        if stream.skip(count) < count:
            raise SaveStreamError("the image's tar stream ended early")
        return
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise SaveStreamError("the image's tar stream ended early")
        count -= len(chunk)


def _pax_records(data: bytes) -> dict[str, str]:
    """'27 path=some/long/name\n' records of a PAX extended header; a malformed record ends the list."""
    records: dict[str, str] = {}
    while data:
        length_text, _, rest = data.partition(b" ")
        if not length_text.isdigit() or int(length_text) <= len(length_text) + 1:
            break
        length = int(length_text)
        key, _, value = rest[: length - len(length_text) - 2].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        data = data[length:]
    return records


def _header_size(header: bytes) -> int:
    field = header[124:136]
    if field[0] & 0x80:
        return int.from_bytes(field[1:], "big")
    try:
        return int(field.split(b"\0", 1)[0].strip() or b"0", 8)
    except ValueError:
        raise SaveStreamError("a tar header has no valid size: the stream is not a tar") from None


def _padded(size: int) -> int:
    return (size + _BLOCK - 1) // _BLOCK * _BLOCK


TarMember = tuple[str, bytes, int, str, bytes | None]  # name, type flag, size, link name, data if wanted
#: (name, size) -> how many of its first bytes to read, or None to skip the member's data.
WantedBytes = Callable[[str, int], int | None]


def _member_name(header: bytes, long_name: str | None, pax: dict[str, str]) -> str:
    name_bytes = header[0:100].split(b"\0", 1)[0]
    if header[257:263] == b"ustar\x00" and header[345] != 0:
        name_bytes = header[345:500].split(b"\0", 1)[0] + b"/" + name_bytes
    return long_name or pax.get("path") or name_bytes.decode("utf-8", "surrogateescape")


def iter_tar(stream: IO[bytes], wanted: WantedBytes) -> Iterator[TarMember]:
    """A minimal streaming tar reader: (name, type, size, linkname, data-if-wanted) for each member.

    GNU long names and PAX path/linkpath/size records are honoured; one over HEADER_MAX_BYTES is skipped and
    reported as a member of type "!" so the caller knows the next name may be wrong. `wanted` says how many
    bytes of a regular file to read (at most); the rest is skipped."""
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    while True:
        header = stream.read(_BLOCK)
        if header == _ZERO_BLOCK:
            return
        if len(header) < _BLOCK:
            raise SaveStreamError("the image's tar stream ended before its end-of-archive blocks")
        size = _header_size(header)
        kind = header[156:157]
        if kind in (b"L", b"K", b"x", b"g"):
            if size > HEADER_MAX_BYTES:
                _skip(stream, _padded(size))
                yield "", _REFUSED, size, "", None
                continue
            text = _read_exactly(stream, _padded(size))[:size]
            if kind == b"L":
                long_name = text.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif kind == b"K":
                long_link = text.rstrip(b"\0").decode("utf-8", "surrogateescape")
            elif kind == b"x":
                pax = _pax_records(text)
            continue
        name = _member_name(header, long_name, pax)
        link = long_link or pax.get("linkpath") or header[157:257].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        if pax.get("size", "").isdigit():
            size = int(pax["size"])
        long_name = long_link = None
        pax = {}
        limit = wanted(name, size) if kind in (b"0", b"\0", b"7") else None
        data = _read_exactly(stream, min(size, limit)) if limit is not None else None
        _skip(stream, _padded(size) - (len(data) if data is not None else 0))
        yield name, kind, size, link, data


def _clean(name: str) -> str:
    name = name[2:] if name.startswith("./") else name
    return name.lstrip("/").rstrip("/")


def _tar_entry(kind: bytes, size: int, link: str, files: dict[str, FileEntry]) -> FileEntry:
    """The entry one tar member makes; a hard link has its target's bytes (as the overlay2 walk sees them)."""
    if kind == b"5":
        return FileEntry(0, "dir")
    if kind in (b"0", b"\0", b"7"):
        return FileEntry(size, "file")
    if kind == b"2":
        return FileEntry(len(link), "symlink")
    if kind == b"1":
        target = files.get(_clean(link))
        return FileEntry(target.size if target else size, "file")
    return FileEntry(0, "other")


def index_layer_tar(stream: IO[bytes], budget: IndexBudget | None = None) -> LayerIndex:
    """Index one layer tar as `docker save` writes it: `.wh.name` deletes, `.wh..wh..opq` makes a dir opaque."""
    collector = LayerCollector(budget or IndexBudget())

    def wanted(name: str, size: int) -> int | None:
        rel = _clean(name)
        if is_wanted(rel):
            return collector.content_room()
        return 8192 if is_key_candidate(rel.rpartition("/")[2]) and size < KEY_MAX_BYTES else None

    for name, kind, size, link, data in iter_tar(stream, wanted):
        rel = _clean(name)
        if kind == _REFUSED:
            collector.unindexed = collector.unindexed or f"a tar header of {size:,} bytes was not read"
        if not rel or rel == ".":
            continue
        head, _, base = rel.rpartition("/")
        if base == ".wh..wh..opq":
            collector.add_marker(collector.opaque, head)
        elif base.startswith(".wh."):
            collector.add_marker(collector.deleted, (head + "/" if head else "") + base[4:])
        elif collector.admit(rel):
            collector.files[rel] = _tar_entry(kind, size, link, collector.files)
            if data is not None and is_wanted(rel):
                collector.add_content(rel, data, size)
            elif data is not None and PRIVATE_KEY_MARK in data:
                collector.keys.add(rel)
    return collector.finish()


def _saved_member(member: Member, size: int, budget: IndexBudget) -> LayerIndex | Any:
    """One member of the saved image: a layer (tar or gzip blob) as its index, a small JSON document parsed, or
    None (anything else is skipped unread)."""
    head = member.peek(_BLOCK)[:_BLOCK]
    if len(head) == _BLOCK and head[257:262] == b"ustar":
        return index_layer_tar(cast(IO[bytes], member), budget)
    if head[:2] == b"\x1f\x8b":  # a gzip layer blob, as the containerd image store saves them
        try:
            return index_layer_tar(gzip.GzipFile(fileobj=cast(IO[bytes], member)), budget)  # type: ignore[arg-type]
        except (EOFError, OSError, zlib.error) as exc:
            raise SaveStreamError(f"a gzip layer of the saved image is cut short or corrupt ({exc})") from None
    if head[:4] == ZSTD_MAGIC:  # a zstd layer blob (`compression=zstd` builds, some pulled images)
        return _index_zstd(member, budget)
    if size > JSON_MAX_BYTES or head[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(member.read(size))
    except ValueError:
        return None


def _index_zstd(member: Member, budget: IndexBudget) -> LayerIndex:
    """A zstd layer blob, decompressed as it streams (at most one zstd window, 8 MiB for layers, in memory)."""
    try:
        import zstandard
    except ImportError:
        raise SaveStreamError(ZSTD_MISSING) from None
    reader = zstandard.ZstdDecompressor().stream_reader(cast(IO[bytes], member), read_size=1 << 20, closefd=False)
    try:
        return index_layer_tar(io.BufferedReader(reader, 1 << 20), budget)
    except zstandard.ZstdError as exc:
        raise SaveStreamError(f"a zstd layer of the saved image is cut short or corrupt ({exc})") from None


def _blob_path(descriptor: Any) -> str:
    digest = str(descriptor.get("digest", "")) if isinstance(descriptor, dict) else ""
    return "blobs/" + digest.replace(":", "/", 1)


def _layer_paths(docs: dict[str, Any]) -> list[str]:
    """The layers' paths in the archive, bottom first: from Docker's manifest.json, or else from the OCI layout's
    index.json through its (first) image manifest, as a containerd image store's `docker save` may write it."""
    manifest = docs.get("manifest.json")
    if isinstance(manifest, list) and manifest and isinstance(manifest[0], dict):
        return [str(path) for path in manifest[0].get("Layers", [])]
    node = docs.get("index.json")
    for _ in range(3):  # index -> (nested index ->) image manifest
        if not isinstance(node, dict):
            return []
        if "layers" in node:
            return [_blob_path(layer) for layer in node["layers"]]
        node = docs.get(_blob_path((node.get("manifests") or [None])[0]))
    return []


def index_saved_stream(source: IO[bytes] | ByteStream,
                       budget: IndexBudget | None = None) -> tuple[dict[str, LayerIndex], dict[str, Any]]:
    """Read a saved image (`docker save`: Docker's layout or OCI's) from a stream, once: every layer indexed and
    keyed by its diff id, plus the image config.

    Layers are keyed by their path in the archive while streaming; the manifest (at the end) and the config's
    rootfs list then give each its diff id, so nothing is hashed and nothing is written to disk. The layers share
    one IndexBudget (the image's)."""
    reader = source if isinstance(source, ByteStream) else ByteStream(iter(lambda: source.read(1 << 20), b""))
    budget = budget or IndexBudget()
    by_path: dict[str, LayerIndex] = {}
    config: dict[str, Any] = {}
    docs: dict[str, Any] = {}
    while (header := reader.read(_BLOCK)) != _ZERO_BLOCK:
        if len(header) < _BLOCK:
            raise SaveStreamError("the saved image ended before its end-of-archive blocks")
        name = _clean(header[0:100].split(b"\0", 1)[0].decode("utf-8", "replace"))
        size = _header_size(header)
        if header[156:157] not in (b"0", b"\0") or size == 0:
            _skip(reader, _padded(size))
            continue
        member = Member(reader, size)
        found = _saved_member(member, size, budget)
        if isinstance(found, LayerIndex):
            by_path[name] = found
        elif isinstance(found, dict) and "rootfs" in found:
            config = found
        elif name in ("manifest.json", "index.json") or isinstance(found, dict) and "layers" in found:
            docs[name] = found
        _skip(member, member.remaining)
        _skip(reader, _padded(size) - size)
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    return {diff_id: by_path[path] for diff_id, path in zip(diff_ids, _layer_paths(docs), strict=False)
            if path in by_path}, config


def index_saved_image(api: docker.APIClient, image_id: str,
                      budget: IndexBudget | None = None) -> tuple[dict[str, LayerIndex], dict[str, Any]]:
    """Stream `docker save` once (one request, read ahead by a thread, never on disk) into `index_saved_stream`."""
    return index_saved_stream(saved_image_stream(api, image_id), budget)
