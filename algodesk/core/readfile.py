"""Reading a file the user named: only a regular file, only up to a config's size, stamped.

A name on the command line may be a FIFO (open and read would wait forever for a writer), a
device (``/dev/zero`` never ends) or a huge file: each is refused before anything is read. The
stamp taken from the open descriptor lets a later write tell whether someone else changed the
file in between (``set`` in place while a program appends to it).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_CONFIG_BYTES = 4 << 20
"""The largest config read: a full device backup is about 16 KiB; 4 MiB leaves room for any
hand-made file and keeps a mistaken name (a firmware image, a disk) from filling memory."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotReadable(OSError):
    """The file is not one we read: not regular, too large, or changed; ``strerror`` says why."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """What identifies one version of a file: device, inode, size and modification time."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> Stamp:
        """The stamp of ``status``."""
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def read_regular(path: Path | str, limit: int = MAX_CONFIG_BYTES) -> tuple[bytes, Stamp]:
    """The bytes of the regular file ``path`` (links followed) and the stamp they were read at.

    Raises:
        NotReadable: not a regular file, or larger than ``limit``.
        OSError: the system's reason (missing, no permission, ...).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer to appear.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        status = os.fstat(fd)
        _check_kind(status, path)
        if status.st_size > limit:
            raise NotReadable(
                0, f"larger than {_size(limit)} ({_size(status.st_size)}): not a config", str(path)
            )
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while we read
                raise NotReadable(0, f"larger than {_size(limit)}: not a config", str(path))
        return b"".join(chunks), Stamp.of(status)
    finally:
        os.close(fd)


def changed_since(path: Path | str, stamp: Stamp) -> bool:
    """Whether ``path`` (links followed) is no longer the version ``stamp`` was taken from."""
    try:
        return Stamp.of(os.stat(path)) != stamp
    except FileNotFoundError:
        return True


def _check_kind(status: os.stat_result, path: Path | str) -> None:
    if stat.S_ISREG(status.st_mode):
        return
    if stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a file")
    raise NotReadable(0, f"not a regular file ({kind}); not read", str(path))


def _size(count: int) -> str:
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count} bytes"
