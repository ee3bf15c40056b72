"""Hand-made Reports and ImageFacts for the notebook tests (no Docker)."""

from __future__ import annotations

from grader.engine.inspect import LayerIndex, merge_layers
from grader.model import (
    ArticleNumbers,
    CheckResult,
    Comparison,
    FileEntry,
    ImageFacts,
    LayerFacts,
    Report,
    Status,
)


def check(id: str, status: Status, points: float, max_points: float, hint: str | None = None) -> CheckResult:
    return CheckResult(id=id, title=id.title(), status=status, points=points, max_points=max_points,
                       measured="1.20 GB", threshold="<= 200 MB", message=f"{id} message", hint=hint,
                       lesson="lessons/02-multi-stage-node.ipynb#Result")


def report(size: int = 1_200_000_000) -> Report:
    checks = (check("builds", Status.PASS, 5, 5), check("size", Status.FAIL, 0, 20, "Use a slim base."),
              check("lint", Status.SKIPPED, 0, 0))
    comparison = Comparison(article=ArticleNumbers(1_200_000_000, 180_000_000, 510, 135, 130, 18),
                            naive_bytes=1_270_000_000, current_bytes=size, reduction_percent=5.0, cold_build_s=None,
                            warm_build_s=None, compressed_bytes_estimate=size // 2, pull_seconds_estimate=None,
                            bandwidth_mbps=100)
    return Report(exercise="node-api", checks=checks, image_size_bytes=size, comparison=comparison,
                  compressed_bytes_estimate=size // 2)


def layer(files: dict[str, int], instruction: str, deleted: frozenset[str] = frozenset(),
          base: bool = False) -> LayerFacts:
    entries = {path: FileEntry(size, "file") for path, size in files.items()}
    return LayerFacts(digest=f"sha256:{abs(hash(instruction)):064x}", size_bytes=sum(files.values()),
                      instruction=instruction, from_base=base, files=entries, deleted=deleted,
                      opaque_dirs=frozenset())


def facts(*layers: LayerFacts) -> ImageFacts:
    merged = merge_layers([LayerIndex(dict(layer.files), layer.deleted, layer.opaque_dirs, {}, frozenset())
                           for layer in layers])
    return ImageFacts(image_id="sha256:" + "ab" * 32, size_bytes=sum(layer.size_bytes for layer in layers), user="",
                      healthcheck=None, env=(), exposed_ports=(), cmd=None, entrypoint=None, workdir="/app",
                      layers=layers, merged=merged)


GCC_FACTS = facts(
    layer({"bin/sh": 100_000}, "base", base=True),
    layer({"usr/bin/gcc-12": 180_000_000, "usr/lib/libfoo.so": 3_000_000}, "RUN apt-get install gcc"),
    layer({"var/lib/dpkg/status": 2_000}, "RUN apt-get remove gcc", deleted=frozenset({"usr/bin/gcc-12"})),
)
