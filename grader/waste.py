"""Layer waste: the one rule for "bytes a layer ships that the final file system never shows".

The `layer-waste` check and the notebook's layer explorer both read `wasted_bytes_per_layer`, so a learner sees
the same number in the check table and in the explorer.
"""

from __future__ import annotations

from grader.model import ImageFacts

__all__ = [
    "BASE_WASTE_LABEL",
    "wasted_bytes",
    "wasted_bytes_per_layer",
]


def _deleted_by_learner(image: ImageFacts, path: str) -> bool:
    """True when one of the learner's layers deletes `path` (a whiteout) or hides a folder above it (opaque)."""
    prefixes = {path}
    head = path
    while "/" in head:
        head = head.rsplit("/", 1)[0]
        prefixes.add(head)
    return any(prefixes & layer.deleted or (prefixes - {path}) & layer.opaque_dirs
               for layer in image.layers[image.base_layer_count:])


def wasted_bytes_per_layer(image: ImageFacts) -> tuple[int, ...]:
    """Per layer (bottom first): bytes written there and overwritten or deleted by a later layer.

    A file is wasted when the final file system gets it from a later layer, or not at all. A base-image file
    counts only when a learner layer replaced or deleted it: a base file that a later *base* layer replaced is
    the base's own churn, 0 for the learner.
    """
    first = image.base_layer_count
    waste = []
    for index, layer in enumerate(image.layers):
        total = 0
        for path, entry in layer.files.items():
            if entry.kind == "dir" or entry.size == 0:
                continue
            final = image.merged.get(path)
            if final is not None and final.layer == index:
                continue
            if layer.from_base and (final is None and not _deleted_by_learner(image, path)
                                    or final is not None and final.layer < first):
                continue
            total += entry.size
        waste.append(total)
    return tuple(waste)


BASE_WASTE_LABEL = "base image (replaced or deleted by your layers)"


def wasted_bytes(image: ImageFacts) -> dict[str, int]:
    """The same waste grouped by the instruction that wrote it (base layers under one label)."""
    grouped: dict[str, int] = {}
    for layer, size in zip(image.layers, wasted_bytes_per_layer(image), strict=True):
        if size:
            label = BASE_WASTE_LABEL if layer.from_base else layer.instruction
            grouped[label] = grouped.get(label, 0) + size
    return grouped
