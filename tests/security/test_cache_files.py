"""A cache file cut short, changed or foreign is a miss, never a wrong answer; a failed write leaves nothing
(grader/engine/cache_files.py and its users: layer indexes, container runs, baselines, build times). No Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine import cache_files, layer_cache
from grader.engine.cache_files import load_json, load_sealed, store_json, store_sealed
from grader.engine.layer_index import LayerIndex
from grader.model import FileEntry


def _index() -> LayerIndex:
    return LayerIndex({"app": FileEntry(0, "dir"), "app/a.js": FileEntry(12, "file")}, frozenset({"tmp/x"}),
                      frozenset({"app"}), {"etc/passwd": b"root:x:0:0::/:/bin/sh\n"}, frozenset(), 0.3,
                      frozenset({"etc/passwd"}))


def test_a_sealed_value_round_trips_and_any_cut_or_changed_byte_is_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "v.pickle"
    assert store_sealed(path, ("run", 1, (2, 3)))
    assert load_sealed(path, tuple) == ("run", 1, (2, 3))
    whole = path.read_bytes()
    for cut in (len(whole) - 1, len(whole) // 2, 5, 0):
        path.write_bytes(whole[:cut])
        assert load_sealed(path, tuple) is None, cut
    changed = bytearray(whole)
    changed[len(changed) // 2] ^= 1
    path.write_bytes(bytes(changed))
    assert load_sealed(path, tuple) is None
    path.write_bytes(whole)
    assert load_sealed(path, dict) is None  # a value of another kind


def test_a_layer_index_file_cut_short_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layer_cache, "LAYER_CACHE_DIR", tmp_path)
    layer_cache.clear_layer_cache()
    layer_cache.store_layer("sha256:ab", _index(), use_disk=True)
    layer_cache.clear_layer_cache()  # memory only: the file stays
    assert layer_cache.cached_layer("sha256:ab", use_disk=True) == _index()
    (file,) = tmp_path.glob("*.pickle")
    file.write_bytes(file.read_bytes()[:-40])
    layer_cache.clear_layer_cache()
    assert layer_cache.cached_layer("sha256:ab", use_disk=True) is None


def test_an_incomplete_layer_index_is_never_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layer_cache, "LAYER_CACHE_DIR", tmp_path)
    layer_cache.clear_layer_cache()
    partial = LayerIndex({}, frozenset(), frozenset(), {}, frozenset(), unindexed="a bound was reached")
    layer_cache.store_layer("sha256:cd", partial, use_disk=True)
    assert layer_cache.cached_layer("sha256:cd", use_disk=True) is None and not list(tmp_path.iterdir())


def test_a_write_that_fails_midway_leaves_neither_a_file_nor_a_temporary(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "runs" / "r.pickle"
    assert store_sealed(path, ("old",))

    def crash(source: object, target: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache_files.os, "replace", crash)
    assert not store_sealed(path, ("new",))
    assert load_sealed(path, tuple) == ("old",) and [p.name for p in path.parent.iterdir()] == ["r.pickle"]


def test_json_caches_cut_short_or_not_objects_are_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "build-times.json"
    assert store_json(path, {"fastapi:ab": 12.5})
    assert load_json(path) == {"fastapi:ab": 12.5}
    path.write_text('{"fastapi:ab": 1')
    assert load_json(path) is None
    path.write_text("[1, 2]")
    assert load_json(path) is None


def test_a_cut_short_baseline_file_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.engine import baseline

    monkeypatch.setattr(baseline, "BASELINE_DIR", tmp_path)
    (tmp_path / "fastapi.json").write_text('{"image_id": "sha256:ab", "size_bytes": 1')
    assert baseline.cached_baseline(None, "fastapi") is None  # type: ignore[arg-type]
