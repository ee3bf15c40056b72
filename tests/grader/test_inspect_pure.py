"""Layer indexing and merging without Docker: whiteouts, opaque dirs, the dpkg and passwd readers."""

from __future__ import annotations

import io
import tarfile

from grader.engine.image_files import dpkg_installed as _dpkg_installed
from grader.engine.image_files import ids as _ids
from grader.engine.inspect import _instruction
from grader.engine.layers import index_layer_tar, merge_layers


def layer_tar(entries: dict[str, bytes | None]) -> io.BytesIO:
    """A layer tar as `docker save` writes it; None makes a directory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_whiteouts_and_opaque_dirs_are_applied_in_order() -> None:
    bottom = index_layer_tar(layer_tar({"app": None, "app/a.txt": b"aaaa", "app/cache": None,
                                        "app/cache/x": b"x" * 10, "etc/passwd": b"root:x:0:0::/root:/bin/sh\n"}))
    top = index_layer_tar(layer_tar({"app/.wh.a.txt": b"", "app/cache/.wh..wh..opq": b"", "app/cache/y": b"y"}))
    assert top.deleted == frozenset({"app/a.txt"}) and top.opaque == frozenset({"app/cache"})
    merged = merge_layers([bottom, top])
    assert "app/a.txt" not in merged and "app/cache/x" not in merged
    assert merged["app/cache/y"].layer == 1 and merged["app/cache/y"].size == 1
    assert bottom.contents["etc/passwd"].startswith(b"root")


def test_deleting_a_directory_removes_everything_under_it() -> None:
    bottom = index_layer_tar(layer_tar({"root/.npm/_cacache/a": b"1", "root/.npm/_cacache/b/c": b"2"}))
    top = index_layer_tar(layer_tar({"root/.npm/.wh._cacache": b""}))
    merged = merge_layers([bottom, top])
    assert not any(path.startswith("root/.npm/_cacache") for path in merged)


def test_private_keys_are_found_by_content() -> None:
    key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"
    index = index_layer_tar(layer_tar({"app/id_ed25519": key, "app/cert.pem": b"-----BEGIN CERTIFICATE-----"}))
    assert index.private_keys == frozenset({"app/id_ed25519"})


def test_dpkg_status_lists_installed_packages_only() -> None:
    status = (b"Package: gcc-12\nStatus: install ok installed\n\n"
              b"Package: make\nStatus: deinstall ok config-files\n\nPackage: libc6\nStatus: install ok installed\n")
    assert _dpkg_installed([status]) == frozenset({"gcc-12", "libc6"})


def test_passwd_maps_names_to_uids() -> None:
    assert _ids(b"root:x:0:0::/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/sh\n") == {"root": 0, "node": 1000}


def test_history_lines_become_instructions() -> None:
    assert _instruction("/bin/sh -c #(nop) COPY dir:ab in /app ") == "COPY dir:ab in /app"
    assert _instruction("/bin/sh -c npm ci") == "RUN npm ci"
    assert _instruction("RUN /bin/sh -c npm ci # buildkit") == "RUN /bin/sh -c npm ci"


def test_a_saved_image_with_gzip_layer_blobs_is_indexed() -> None:
    """The containerd image store (Docker Desktop) saves OCI layouts whose layer blobs may be gzipped."""
    import gzip
    import json

    from grader.engine import tar_stream as layers

    layer = gzip.compress(layer_tar({"app/a.txt": b"hello", "etc/passwd": b"root:x:0:0::/:/bin/sh\n"}).getvalue())
    config = json.dumps({"rootfs": {"diff_ids": ["sha256:abc"]}}).encode()
    manifest = json.dumps([{"Config": "blobs/sha256/cfg", "Layers": ["blobs/sha256/l1"]}]).encode()
    saved = layer_tar({"blobs/sha256/l1": layer, "blobs/sha256/cfg": config, "manifest.json": manifest}).getvalue()
    indexed, found_config = layers.index_saved_stream(io.BytesIO(saved))
    assert set(indexed["sha256:abc"].files) >= {"app/a.txt", "etc/passwd"} and found_config["rootfs"]
