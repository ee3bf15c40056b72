"""The layer-index cache: each layer's index, keyed by its content digest (diff id), in memory and on disk.

Base layers are shared by every image a class builds, so a regrade reads only the layers the learner changed.
On disk, an index is stored in columns (paths, sizes, kinds) through grader/engine/cache_files.py: written
atomically, sealed with its SHA-256, checked field by field when read. A file cut short, changed, or written by
another format version is a miss. Only complete indexes are stored: one cut at a bound (`unindexed`) depends on
the rest of its image, and is indexed again next time.
"""

from __future__ import annotations

import array
from collections import OrderedDict
from pathlib import Path
from typing import Any

from grader.engine.cache_files import load_sealed, store_sealed
from grader.engine.layer_index import MAX_ENTRIES, LayerIndex
from grader.model import FileEntry
from grader.paths import STATE_DIR

__all__ = ["LAYER_CACHE_DIR", "cached_layer", "clear_layer_cache", "store_layer"]

LAYER_CACHE_DIR = STATE_DIR / "layers"
_CACHE_VERSION = 4
_KINDS = ("file", "dir", "symlink", "other")
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}
#: Indexes kept in memory, least recently used first; at most MAX_ENTRIES paths together (grade-class grades
#: many images in one process: the cache must not grow with the class).
_LAYERS: OrderedDict[str, LayerIndex] = OrderedDict()


def _remember(digest: str, index: LayerIndex) -> None:
    _LAYERS[digest] = index
    _LAYERS.move_to_end(digest)
    total = sum(layer.entry_count for layer in _LAYERS.values())
    while total > MAX_ENTRIES and len(_LAYERS) > 1:
        total -= _LAYERS.popitem(last=False)[1].entry_count


def clear_layer_cache(disk: bool = False) -> None:
    """Forget indexed layers (and their files on disk when `disk`): the benchmark's cold start."""
    _LAYERS.clear()
    if disk and LAYER_CACHE_DIR.exists():
        for path in LAYER_CACHE_DIR.glob("*.pickle"):
            path.unlink(missing_ok=True)


def _cache_path(digest: str) -> Path:
    return LAYER_CACHE_DIR / f"{digest.removeprefix('sha256:')}.pickle"


def _columns(index: LayerIndex) -> tuple[Any, ...]:
    sizes = array.array("q", (entry.size for entry in index.files.values()))
    kinds = bytes(_KIND_CODES.get(entry.kind, 3) for entry in index.files.values())
    return (_CACHE_VERSION, list(index.files), sizes.tobytes(), kinds, sorted(index.deleted), sorted(index.opaque),
            index.contents, sorted(index.private_keys), index.compression_ratio, sorted(index.truncated))


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _from_columns(value: tuple[Any, ...]) -> LayerIndex | None:
    """The index stored by `_columns`, or None when any field is not what `_columns` writes."""
    if len(value) != 10 or value[0] != _CACHE_VERSION:
        return None
    _, paths, size_bytes, kinds, deleted, opaque, contents, keys, ratio, truncated = value
    if not (_strings(paths) and isinstance(size_bytes, bytes) and isinstance(kinds, bytes)
            and len(size_bytes) == 8 * len(paths) == 8 * len(kinds) and max(kinds, default=0) < len(_KINDS)
            and _strings(deleted) and _strings(opaque) and _strings(keys) and _strings(truncated)
            and isinstance(contents, dict) and all(isinstance(k, str) and isinstance(v, bytes)
                                                   for k, v in contents.items())
            and (ratio is None or isinstance(ratio, float))):
        return None
    sizes = array.array("q")
    sizes.frombytes(size_bytes)
    files = {path: FileEntry(size, _KINDS[kind]) for path, size, kind in zip(paths, sizes, kinds, strict=True)}
    return LayerIndex(files, frozenset(deleted), frozenset(opaque), contents, frozenset(keys), ratio,
                      frozenset(truncated))


def cached_layer(digest: str, use_disk: bool) -> LayerIndex | None:
    """The layer's index from memory, else from disk when `use_disk`; None is a miss."""
    if digest in _LAYERS:
        _LAYERS.move_to_end(digest)
        return _LAYERS[digest]
    if not use_disk:
        return None
    value = load_sealed(_cache_path(digest), tuple)
    index = _from_columns(value) if value is not None else None
    if index is not None:
        _remember(digest, index)
    return index


def store_layer(digest: str, index: LayerIndex, use_disk: bool) -> None:
    """Remember a complete index (in memory, and on disk when `use_disk`); an incomplete one is not kept."""
    if index.unindexed is not None:
        return
    _remember(digest, index)
    if use_disk:
        store_sealed(_cache_path(digest), _columns(index))
