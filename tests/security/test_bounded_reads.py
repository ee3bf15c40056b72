"""The grader reads an image only within its own bounds (grader/engine/layer_index.py), without Docker: huge files
a check reads, too many paths, too long paths, huge tar headers, a stream cut short; and the checks fail with the
reason instead of passing on part of the image."""

from __future__ import annotations

import io
import os
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grader"))

from factories import make_evidence, make_image  # noqa: E402

from grader.checks.contents import no_secrets  # noqa: E402
from grader.checks.security import no_compilers  # noqa: E402
from grader.engine.image_files import dpkg_installed, ids, read_package_facts  # noqa: E402
from grader.engine.layer_index import (  # noqa: E402
    CONTENT_MAX_BYTES,
    HEADER_MAX_BYTES,
    MAX_PATH_LENGTH,
    IndexBudget,
)
from grader.engine.layers import SaveStreamError, index_layer_tar, index_overlay_dir, merge_layers  # noqa: E402


class _Zeros(io.RawIOBase):
    """`size` zero bytes, made as they are read (a multi-GB member costs no memory to write)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview) -> int:  # type: ignore[override]
        count = min(len(target), self.left)
        target[:count] = b"\0" * count
        self.left -= count
        return count


def _tar(members: list[tarfile.TarInfo], data: dict[str, io.RawIOBase | bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in members:
            payload = data.get(info.name)
            tar.addfile(info, io.BytesIO(payload) if isinstance(payload, bytes) else payload)
    buffer.seek(0)
    return buffer


def _file(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def test_a_huge_passwd_in_a_layer_tar_is_read_only_up_to_the_bound() -> None:
    size = CONTENT_MAX_BYTES + 3_000_000
    index = index_layer_tar(_tar([_file("etc/passwd", size)], {"etc/passwd": _Zeros(size)}))
    assert len(index.contents["etc/passwd"]) == CONTENT_MAX_BYTES and index.truncated == {"etc/passwd"}
    facts = read_package_facts([index], merge_layers([index]))
    assert facts.truncated and "/etc/passwd (read 16.8 MB of 19.8 MB" in facts.truncated[0]


def test_a_cut_last_line_is_dropped_not_misread() -> None:
    assert ids(b"root:x:0:0::/:/bin/sh\napp:x:10", truncated=True) == {"root": 0}
    assert ids(b"root:x:0:0::/:/bin/sh\napp:x:10", truncated=False) == {"root": 0, "app": 10}
    status = b"Package: libc6\nStatus: install ok installed\n\nPackage: gcc-12\nStatus: deinstall ok conf"
    assert dpkg_installed([status], truncated=False) == frozenset({"libc6"})  # the status as it reads
    assert dpkg_installed([status], truncated=True) == frozenset({"libc6", "gcc-12"})  # cut: counted, to be safe


def test_paths_past_the_budget_are_not_indexed_and_the_layer_says_so() -> None:
    members = [_file(f"app/f{i}", 1) for i in range(150)]
    index = index_layer_tar(_tar(members, {m.name: b"x" for m in members}), IndexBudget(entries=100))
    assert len(index.files) == 100 and index.unindexed is not None and "paths" in index.unindexed


def test_a_path_longer_than_the_bound_is_not_kept() -> None:
    long_name = "app/" + "d" * (MAX_PATH_LENGTH + 10) + "/.env"
    index = index_layer_tar(_tar([_file(long_name, 3), _file("app/ok", 1)], {long_name: b"S=1", "app/ok": b"x"}))
    assert set(index.files) == {"app/ok"} and index.unindexed is not None and "longer than" in index.unindexed


def test_a_pax_header_over_the_bound_is_skipped_unread() -> None:
    info = _file("app/a", 1)
    info.pax_headers = {"comment": "c" * (HEADER_MAX_BYTES + 10)}
    index = index_layer_tar(_tar([info, _file("app/b", 1)], {"app/a": b"a", "app/b": b"b"}))
    assert "app/b" in index.files and index.unindexed is not None and "tar header" in index.unindexed


def test_a_tar_stream_cut_short_raises_instead_of_returning_part_of_an_index() -> None:
    whole = _tar([_file("app/a", 4000), _file("app/b", 1)], {"app/a": b"a" * 4000, "app/b": b"b"}).getvalue()
    with pytest.raises(SaveStreamError):
        index_layer_tar(io.BytesIO(whole[:3000]))


def test_the_overlay_walk_reads_a_sparse_2_gb_passwd_only_up_to_the_bound(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    with open(tmp_path / "etc" / "passwd", "wb") as handle:
        handle.truncate(2 << 30)
    index = index_overlay_dir(str(tmp_path))
    assert len(index.contents["etc/passwd"]) == CONTENT_MAX_BYTES and "etc/passwd" in index.truncated
    assert index.files["etc/passwd"].size == 2 << 30


def test_the_overlay_walk_stops_below_the_longest_path_and_past_the_budget(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(MAX_PATH_LENGTH // 200 + 2):
        deep = deep / ("d" * 199)
        os.mkdir(deep)
    (deep / ".env").write_text("SECRET=1")
    index = index_overlay_dir(str(tmp_path))
    assert index.unindexed is not None and "longer than" in index.unindexed
    assert all(len(path) <= MAX_PATH_LENGTH for path in index.files)
    many = tmp_path / "many"
    many.mkdir()
    for i in range(50):
        (many / str(i)).touch()
    index = index_overlay_dir(str(many), IndexBudget(entries=20))
    assert len(index.files) == 20 and index.unindexed is not None


def test_no_secrets_fails_when_not_every_path_was_indexed() -> None:
    image = replace(make_image(), unindexed="layer 2: the image holds more than 400,000 paths")
    outcome = no_secrets(make_evidence(image=image))
    assert not outcome.passed and "cannot tell whether no layer holds a secret" in outcome.message
    assert "400,000 paths" in outcome.message


def test_no_compilers_fails_when_the_dpkg_database_was_read_in_part() -> None:
    image = replace(make_image(), truncated_files=("/var/lib/dpkg/status (read 16.8 MB of 3 GB)",))
    outcome = no_compilers(make_evidence(image=image))
    assert not outcome.passed and "/var/lib/dpkg/status" in outcome.message
    passwd_only = replace(make_image(), truncated_files=("/etc/passwd (read 16.8 MB of 3 GB)",))
    assert no_compilers(make_evidence(image=passwd_only)).passed
