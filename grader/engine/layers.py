"""Image layers as the grader sees them: what each adds, deletes (whiteouts) and hides (opaque dirs), merged.

The work is split by reader, and this module gathers it (import from here):
- grader/engine/layer_index.py: `LayerIndex`, and the bounds that keep indexing inside the grader's memory;
- grader/engine/overlay_walk.py: `index_overlay_dir` walks one overlay2 `diff` directory in place (fast);
- grader/engine/tar_stream.py: `index_layer_tar` / `index_saved_image` stream `docker save` (everywhere else);
- grader/engine/layer_cache.py: indexes cached by diff id, in memory and on disk.

`merge_layers` applies them bottom-up: the file system a container sees.
"""

from __future__ import annotations

from grader.engine.layer_cache import LAYER_CACHE_DIR, cached_layer, clear_layer_cache, store_layer
from grader.engine.layer_index import WANTED_CONTENTS, WANTED_DIRS, IndexBudget, LayerIndex, unindexed_layer
from grader.engine.overlay_walk import index_overlay_dir
from grader.engine.tar_stream import SaveStreamError, TarMember, index_layer_tar, index_saved_image, iter_tar
from grader.model import MergedEntry

__all__ = [
    "LAYER_CACHE_DIR",
    "WANTED_CONTENTS",
    "WANTED_DIRS",
    "IndexBudget",
    "LayerIndex",
    "SaveStreamError",
    "TarMember",
    "cached_layer",
    "clear_layer_cache",
    "index_layer_tar",
    "index_overlay_dir",
    "index_saved_image",
    "iter_tar",
    "merge_layers",
    "store_layer",
    "unindexed_layer",
]


def merge_layers(layers: list[LayerIndex]) -> dict[str, MergedEntry]:
    """Apply layers bottom-up with whiteouts and opaque directories: the file system a container sees."""
    merged: dict[str, MergedEntry] = {}
    for number, layer in enumerate(layers):
        doomed_dirs = set(layer.opaque)
        for path in layer.deleted:
            entry = merged.pop(path, None)
            if entry is None or entry.kind == "dir":  # None: a tar without parent entries; be safe
                doomed_dirs.add(path)
        if doomed_dirs:
            for path in [p for p in merged if _under_any(p, doomed_dirs)]:
                del merged[path]
        for path, file in layer.files.items():
            merged[path] = MergedEntry(file.size, file.kind, number)
    return merged


def _under_any(path: str, directories: set[str]) -> bool:
    head = path
    while "/" in head:
        head = head.rsplit("/", 1)[0]
        if head in directories:
            return True
    return False
