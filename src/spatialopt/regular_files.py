"""Reading only regular files.

A FIFO named where a file is expected would block a reader forever, and a
device or a directory is never what the user meant. So a file is opened
without blocking, its kind is checked on the open descriptor (no window
between a check and the open), and anything but a regular file is refused
with an error that says what the path is.
"""

from __future__ import annotations

import errno
import os
import stat

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotARegularFileError(OSError):
    """The path exists but is a directory, FIFO, socket or device."""


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def read_regular_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``; raises :class:`NotARegularFileError` (an ``OSError``) unless it is a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
            raise NotARegularFileError(code, f"it is {kind_of(mode)}, not a regular file", os.fspath(path))
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_regular_text(path: str | os.PathLike[str], encoding: str = "utf-8") -> str:
    """The text of ``path`` (strict decoding; a BOM is not removed)."""
    return read_regular_bytes(path).decode(encoding)
