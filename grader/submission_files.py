"""Read a learner's Dockerfile and .dockerignore without trusting the file system they hand us.

A submission is untrusted: its Dockerfile may be a symlink to /proc/self/environ (which would put the grading
machine's environment into the build context), a FIFO that blocks `open()` forever, a device, a 10 GB file, or
unreadable. Each file is opened with O_NOFOLLOW | O_NONBLOCK relative to its folder, checked with fstat to be a
regular file of at most MAX_BYTES, and decoded as UTF-8 (a BOM is dropped, as Docker does). Anything else raises
UnsafeFile naming the file and the fix, so one bad folder costs one learner's grade, never the class run.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from grader.errors import UnsafeFile

__all__ = ["MAX_BYTES", "decode_text", "digest", "present", "read_bytes", "read_optional_text", "read_text"]

MAX_BYTES = 1_000_000
_BOM = "\ufeff"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def _open_fd(path: Path) -> int:
    """An fd for `path`'s last component, opened without following links and without blocking on a FIFO."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fix = f"Replace {path} with a regular file (not a link) inside the submission folder."
    try:
        return os.open(path, flags)
    except OSError as exc:
        try:
            kind = _kind(os.lstat(path).st_mode)
        except OSError:
            kind = exc.strerror or type(exc).__name__
        raise UnsafeFile(f"Cannot read {path}: it is {kind} ({exc.strerror}). {fix}") from None


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; UnsafeFile for links, FIFOs, devices, big files."""
    fd = _open_fd(path)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path} is {_kind(info.st_mode)}, not a regular file. Submit a plain text file.")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{path} is {info.st_size:,} bytes; the limit is {max_bytes:,}. "
                             "A Dockerfile or .dockerignore is a few kB: submit the right file.")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 16):
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFile(f"{path} grew past {max_bytes:,} bytes while it was read. Submit a small file.")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeFile(f"Cannot read {path} ({exc.strerror or exc}). Check its permissions.") from None
    finally:
        os.close(fd)


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 text with a leading BOM dropped (Docker drops it too); UnsafeFile naming the line otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnsafeFile(f"{path}, line {line}: byte 0x{data[exc.start]:02x} is not UTF-8. Save the file as UTF-8 "
                         "(in JupyterLab or VS Code: 'Save with encoding', UTF-8).", line=line) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise UnsafeFile(f"{path}, line {line}: the file holds a NUL byte; it is not a text file. "
                         "Save it as plain UTF-8 text.", line=line)
    return text[1:] if text.startswith(_BOM) else text


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A learner's text file, read safely (see the module docstring)."""
    return decode_text(read_bytes(path, max_bytes), path)


def read_optional_text(path: Path, max_bytes: int = MAX_BYTES) -> str | None:
    """Like read_text, but None when nothing at all is at `path` (a dangling link is still refused)."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnsafeFile(f"Cannot look at {path} ({exc.strerror}). Check the folder's permissions.") from None
    return read_text(path, max_bytes)


def present(path: Path) -> bool:
    """Whether anything (a file, a link, a FIFO...) sits at `path`, without following it or raising."""
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def digest(path: Path) -> str:
    """SHA-256 of a submitted file, or a marker saying why it could not be read (the marker is stable)."""
    if not present(path):
        return "<missing>"
    try:
        return hashlib.sha256(read_bytes(path)).hexdigest()
    except UnsafeFile as exc:
        return "<unsafe:" + hashlib.sha256(exc.message.encode()).hexdigest()[:16] + ">"
