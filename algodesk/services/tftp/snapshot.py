"""A private copy of a big file, safe to map while other programs change the original.

A mapped file that another program truncates in place (``cp new old`` does) kills the process
with SIGBUS the moment a transfer touches a page past the new end; Python cannot catch that.
Big files are therefore copied first into a file nobody else can name (``O_TMPFILE``, or an
unlinked temporary file) and that copy is mapped: every transfer of that version gets the
consistent old bytes, as smaller files (read whole) already do.

The copy is cheap where the filesystem can share blocks (a reflink on btrfs/XFS, copy_file_range
on NFS 4.2) and costs disk space for the file's size otherwise, freed when that version is no
longer kept (``files.KEPT_COPIES``: it serves the next device without a second copy). On Windows a mapped file cannot be truncated by others (the call fails), so
the original is mapped as before.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import sys
import tempfile
from pathlib import Path

_FICLONE = 0x40049409  # linux/fs.h: share every block of one file with another
_CHUNK = 8 << 20


class ChangedWhileCopied(OSError):
    """The original was shorter than its size when copied: it is being rewritten."""


def map_private_copy(source: int, size: int, folder: Path) -> mmap.mmap:
    """A read-only map of ``size`` bytes of the open file ``source``, taken from a private copy.

    Raises:
        ChangedWhileCopied: the file shrank while it was copied (ask again).
        OSError: no room for the copy, or the system's reason.
    """
    if sys.platform == "win32":
        return mmap.mmap(source, 0, access=mmap.ACCESS_READ)
    copy = _private_file(folder)
    try:
        copied = _copy(source, copy, size)
        if copied != size:
            raise ChangedWhileCopied(errno.EAGAIN, "file changed while being read; ask again")
        return mmap.mmap(copy, size, access=mmap.ACCESS_READ)
    finally:
        os.close(copy)  # the map keeps the copy; it is freed with the map


def _private_file(folder: Path) -> int:
    """An open file with no name: beside the original where allowed (same filesystem, so a
    reflink can share its blocks), else in the temporary folder."""
    tmpfile = getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        with contextlib.suppress(OSError):
            return os.open(folder, tmpfile | os.O_RDWR, 0o600)
    with tempfile.TemporaryFile() as handle:  # already unlinked on POSIX
        return os.dup(handle.fileno())


def _copy(source: int, target: int, size: int) -> int:
    """Copy up to ``size`` bytes; returns how many the source still had."""
    with contextlib.suppress(OSError, ImportError):
        import fcntl

        fcntl.ioctl(target, _FICLONE, source)
        copied = os.fstat(target).st_size
        if copied >= size:
            os.truncate(target, size)  # grown meanwhile: this version is the first size bytes
            return size
        return copied
    copied = 0
    kernel_copy = hasattr(os, "copy_file_range")
    while copied < size:
        count = min(_CHUNK, size - copied)
        moved = 0
        if kernel_copy:
            try:
                moved = os.copy_file_range(source, target, count, copied, copied)
            except OSError:
                kernel_copy = False  # not across these filesystems: copy through memory
                continue
        else:
            chunk = os.pread(source, count, copied)
            moved = os.pwrite(target, chunk, copied) if chunk else 0
        if moved == 0:
            break  # the source ended early: it was truncated
        copied += moved
    return copied
