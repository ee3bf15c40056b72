"""Cache files that a crash cannot poison: written whole or not at all, and checked before they are believed.

Every cache the grader keeps on disk (layer indexes, container runs, naive baselines, build times) goes through
here. A writer fills a temporary file of its own beside the target (a unique name: parallel grades of a class
never share one) and renames it into place (`os.replace` is atomic on one file system), so a grade killed at any
instant leaves either the old file or the new one, never half of one. A sealed file also ends with the SHA-256 of
what it holds: a file cut short or changed by anything but this module is a miss, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["MAX_CACHE_FILE_BYTES", "load_json", "load_sealed", "store_json", "store_sealed", "write_atomic"]

T = TypeVar("T")
_MAGIC = b"DDW-CACHE-1\n"
_DIGEST_BYTES = 32
#: A cache file larger than this is not ours (the largest layer index the grader keeps is ~60 MB): a miss.
MAX_CACHE_FILE_BYTES = 256 << 20


def write_atomic(path: Path, write: Callable[[Any], None]) -> bool:
    """Call `write(handle)` on a fresh temporary file beside `path`, then rename it over `path`.

    Returns False when the cache could not be written (a full or read-only disk only costs time); the temporary
    file never outlives a failure, and a crash leaves at most a stray `.tmp-*` file, which no reader opens."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
        return True
    except (OSError, pickle.PicklingError):
        Path(temporary).unlink(missing_ok=True)
        return False


def store_sealed(path: Path, value: object) -> bool:
    """Pickle `value` with a header and a SHA-256 trailer, atomically (see `load_sealed`).

    The pickler runs in fast mode (no memo): a layer index is a tree of ~10^5 strings, and the memo would cost more
    memory than the index itself. Values stored here hold no cycles."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    try:
        pickler.dump(value)
    except (pickle.PicklingError, RecursionError, ValueError, TypeError):
        return False
    payload = buffer.getbuffer()

    def write(handle: Any) -> None:
        handle.write(_MAGIC)
        handle.write(payload)
        handle.write(hashlib.sha256(payload).digest())

    return write_atomic(path, write)


def _read_small(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CACHE_FILE_BYTES + 1)
    except OSError:
        return None
    return data if len(data) <= MAX_CACHE_FILE_BYTES else None


def load_sealed(path: Path, kind: type[T]) -> T | None:
    """The value `store_sealed` wrote, when the file is whole (header, digest) and holds a `kind`; else None.

    Only files this module wrote under the grader's own state folder are unpickled, and only after their digest
    matched: a truncated, foreign or moved-class file is a miss."""
    data = _read_small(path)
    if data is None or not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _DIGEST_BYTES:
        return None
    payload, digest = memoryview(data)[len(_MAGIC):-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if hashlib.sha256(payload).digest() != digest:
        return None
    try:
        value = pickle.loads(payload)  # noqa: S301 - our own file, its digest checked above
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError, IndexError):
        return None
    return value if isinstance(value, kind) else None


def store_json(path: Path, value: object) -> bool:
    """Write JSON atomically (a crash leaves the old file or the new one)."""
    text = json.dumps(value, sort_keys=True).encode()
    return write_atomic(path, lambda handle: handle.write(text))


def load_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from `path`, or None when it is missing, cut short, too large or not an object."""
    data = _read_small(path)
    try:
        value = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
