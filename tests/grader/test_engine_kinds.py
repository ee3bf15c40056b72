"""Where learners run Docker, without an engine: which engine the grader thinks it talks to, the containerd image
store's sizes, and a containerd store's `docker save` (an OCI layout with gzip and zstd layer blobs, no
manifest.json) read from one stream. No engine here can make such a save (docker.io 20.10 has no containerd image
store), so the layout is made by hand, as the OCI image spec lays it out; tests/grader/test_remote_engine.py grades
through a real second engine."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import replace
from typing import Any

import pytest
import zstandard
from test_result_schema import graded_report, validate

from grader.engine.engine_kind import CLASSIC, CONTAINERD, kind_from, store_sizes
from grader.engine.layers import merge_layers
from grader.engine.tar_stream import ZSTD_MAGIC, ZSTD_MISSING, SaveStreamError, index_saved_stream
from grader.model import ImageRead
from grader.reporters import render
from grader.reporters.terminal import read_line

CONTAINERD_INFO = {"Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]}
CLASSIC_INFO = {"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]}


@pytest.mark.parametrize(("base_url", "transport", "local"), [
    ("http+docker://localhost", "unix", True),  # docker-py's URL for unix:///var/run/docker.sock
    ("npipe:////./pipe/docker_engine", "npipe", True),
    ("http://127.0.0.1:2375", "tcp", False),  # may be `ssh -L` to another machine
    ("https://localhost:2376", "tcp", False),
    ("http://10.1.2.3:2375", "tcp", False),
    ("https://build-box.example:2376", "tcp", False),
    ("ssh://learner@build-box.example", "ssh", False),
])
def test_the_transport_says_whether_the_engine_may_share_our_files(base_url: str, transport: str,
                                                                   local: bool) -> None:
    kind = kind_from(base_url, CLASSIC_INFO)
    assert (kind.transport, kind.local, kind.image_store) == (transport, local, CLASSIC)


def test_the_containerd_image_store_is_read_from_docker_info() -> None:
    kind = kind_from("http+docker://localhost", CONTAINERD_INFO)
    assert kind.image_store == CONTAINERD and kind.storage_driver == "overlayfs"
    assert kind_from("http+docker://localhost", {}).image_store == CLASSIC


def test_containerd_sizes_are_the_unpacked_and_content_sizes_of_available_image_manifests() -> None:
    """The shape of `GET /images/{id}/json?manifests=1` (API 1.48): an image manifest, its attestation, and a
    platform that was not pulled. Size (the API's own) is neither number, so it is not used."""
    inspected: dict[str, Any] = {"Size": 258_541_025, "Manifests": [
        {"Available": True, "Kind": "image", "Size": {"Total": 258_541_025, "Content": 64_275_937},
         "ImageData": {"Platform": {"os": "linux"}, "Size": {"Unpacked": 194_265_088}}},
        {"Available": True, "Kind": "attestation", "Size": {"Total": 2_000, "Content": 2_000}},
        {"Available": False, "Kind": "image", "Size": {"Total": 0, "Content": 60_000_000},
         "ImageData": {"Size": {"Unpacked": 0}}},
    ]}
    sizes = store_sizes(inspected)
    assert sizes is not None and (sizes.unpacked, sizes.content) == (194_265_088, 64_275_937)
    assert store_sizes({"Size": 1}) is None  # the classic store: the API's Size is the unpacked size


# --------------------------------------------------------------------------------------------- OCI layout
def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _blob(data: bytes) -> tuple[str, str]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return digest, "blobs/sha256/" + digest.split(":")[1]


def oci_layout(layers: list[tuple[dict[str, bytes], str]]) -> bytes:
    """A saved image as the containerd image store writes one: oci-layout, index.json -> manifest -> config and
    layer blobs (each compressed as asked), and no Docker manifest.json."""
    members: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    diff_ids, descriptors = [], []
    for files, compression in layers:
        raw = _tar(files)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        blob = {"gzip": gzip.compress, "zstd": zstandard.ZstdCompressor().compress}[compression](raw)
        digest, path = _blob(blob)
        members[path] = blob
        descriptors.append({"mediaType": f"application/vnd.oci.image.layer.v1.tar+{compression}", "digest": digest,
                            "size": len(blob)})
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created_by": "RUN make"} for _ in layers]}).encode()
    config_digest, config_path = _blob(config)
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": config_digest}, "layers": descriptors}).encode()
    manifest_digest, manifest_path = _blob(manifest)
    members.update({config_path: config, manifest_path: manifest, "index.json": json.dumps(
        {"schemaVersion": 2, "manifests": [{"digest": manifest_digest}]}).encode()})
    return _tar(dict(sorted(members.items())))  # blobs come first, by digest, as the engine writes them


LAYERS = [({"etc/passwd": b"root:x:0:0::/root:/bin/sh\n", "app/.env": b"SECRET=1\n", "app/a.txt": b"a" * 100},
           "gzip"),
          ({"app/.wh..env": b"", "etc/passwd": b"root:x:0:0::/root:/bin/sh\nnode:x:1000:1000::/home:/bin/sh\n"},
           "zstd")]


def test_an_oci_layout_with_gzip_and_zstd_layers_is_read_from_one_stream() -> None:
    archive = oci_layout(LAYERS)
    indexes, config = index_saved_stream(io.BufferedReader(io.BytesIO(archive)))
    assert list(indexes) == config["rootfs"]["diff_ids"] and len(indexes) == 2
    first, second = indexes.values()
    assert first.files["app/a.txt"].size == 100 and "app/.env" in second.deleted
    merged = merge_layers([first, second])
    assert "app/.env" not in merged and "app/a.txt" in merged
    assert b"node:x:1000" in second.contents["etc/passwd"]


def test_a_zstd_layer_without_the_decoder_fails_with_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as on a machine where it is not installed
    with pytest.raises(SaveStreamError) as raised:
        index_saved_stream(io.BufferedReader(io.BytesIO(oci_layout(LAYERS))))
    assert str(raised.value) == ZSTD_MISSING and "zstandard" in ZSTD_MISSING and "bootstrap" in ZSTD_MISSING


def test_a_cut_zstd_layer_is_an_engine_failure_not_a_traceback() -> None:
    archive = oci_layout(LAYERS)
    with tarfile.open(fileobj=io.BytesIO(archive)) as opened:
        zstd_blob = next(m for m in opened if m.size and archive[m.offset_data:m.offset_data + 4] == ZSTD_MAGIC)
    cut = bytearray(archive)
    cut[zstd_blob.offset_data + zstd_blob.size // 2:zstd_blob.offset_data + zstd_blob.size] = \
        b"\0" * (zstd_blob.size - zstd_blob.size // 2)
    with pytest.raises(SaveStreamError, match="zstd layer"):
        index_saved_stream(io.BufferedReader(io.BytesIO(bytes(cut))))


# --------------------------------------------------------------------------------------------- the report
def test_the_report_says_how_the_image_was_read() -> None:
    read = ImageRead(source="save", reason="the engine is reached over ssh: its storage is not this machine's",
                     image_store=CONTAINERD, transport="ssh", content_bytes=64_275_937)
    report = replace(graded_report(), image_read=read)
    data = json.loads(render(report, "json"))
    validate(data)
    assert data["image"]["read"] == {"source": "save", "reason": read.reason, "image_store": "containerd",
                                     "transport": "ssh", "content_bytes": 64_275_937}
    assert "one streamed docker save" in render(report, "table")
    assert read_line(read).startswith("Image read through one streamed docker save (the engine is reached over ssh")
    assert "containerd image store, 64.3 MB of compressed content" in read_line(read)
