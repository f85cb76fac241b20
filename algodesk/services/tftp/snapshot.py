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

Engine worker processes (``workers``) share one copy per version instead of one each
(``SharedCopies``): with two workers a 50 MB firmware was held twice in memory.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import mmap
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from algodesk.core.md5 import Md5Form, read_md5

_FICLONE = 0x40049409  # linux/fs.h: share every block of one file with another
_CHUNK = 8 << 20


class ChangedWhileCopied(OSError):
    """The original shrank or changed while it was copied: it is being rewritten."""


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


Version = tuple[int, ...]
"""A file's version as the file cache keys it: (size, mtime in ns, inode, device)."""


class SharedCopies:
    """Private copies made once for every engine worker process of one server.

    The parent makes a folder only it and its workers know (``tempfile.mkdtemp``: mode 0700,
    a random name) and removes it when the server stops. A worker that needs a version maps the
    copy another worker published there under the version's name; else it copies the file
    under a temporary name and publishes that with ``link``, which fails when the name exists
    (another worker was quicker: theirs is used). No program outside ours can name the folder,
    so none truncates a copy in it: the SIGBUS protection of a private copy holds. A name found
    there that is not a regular file of ours with the version's size is never mapped. Removing a
    published name (a worker no longer keeps that version) leaves every map of it intact; a
    worker that needs the version again copies it again.

    The md5 of a version that one worker computed for a generated ``.md5`` answer is kept
    there too (``digest``), so a big zip is read for it once per server, not once per worker.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def map(self, source: int, version: Version) -> tuple[mmap.mmap, Callable[[], None]]:
        """A read-only map of the shared copy of ``version`` of the open file ``source``, and
        what to call when this worker drops it (the copy's name goes, if it is still ours).

        Raises:
            ChangedWhileCopied: the file changed while it was copied (ask again).
            OSError: no room for the copy, the folder is gone, or the system's reason.
        """
        size = version[0]
        name = self.folder / _version_name(version)
        found: tuple[int, tuple[int, int] | None] | None = _open_published(name, size)
        if found is None:
            found = self._publish(source, version, name)
        fd, identity = found
        try:
            mapped = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)  # the map keeps the copy
        if identity is None:
            return mapped, _nothing
        return mapped, functools.partial(_unpublish, name, identity)

    def digest(self, version: Version) -> str | None:
        """The md5 a worker kept for ``version`` (``keep_digest``); None when none did."""
        try:
            fd = os.open(self._digest_name(version), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not _ours(os.fstat(fd)):
                return None
            text = os.read(fd, 33)
        except OSError:
            return None
        finally:
            os.close(fd)
        reading = read_md5(text)  # written bare by keep_digest; anything else is not ours
        return reading.digest if reading.form is Md5Form.BARE else None

    def keep_digest(self, version: Version, value: str) -> None:
        """Keep the md5 of ``version`` for the other workers (silently not, when it cannot)."""
        with contextlib.suppress(OSError):
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".md5-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(value.encode("ascii"))
                os.replace(temporary, self._digest_name(version))  # atomic: read whole or not
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)

    def _digest_name(self, version: Version) -> Path:
        return self.folder / f"{_version_name(version)}.md5"

    def _publish(
        self, source: int, version: Version, name: Path
    ) -> tuple[int, tuple[int, int] | None]:
        """Copy ``version`` and publish the copy as ``name``; returns the open copy to map (ours
        or, when another worker published first, theirs) and its identity (None: ours, left
        unpublished because a file that is not a copy holds the name)."""
        size, mtime = version[0], version[1]
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".copy-")
        try:
            copied = _copy(source, fd, size)
            after = os.fstat(source)
            if copied != size or (after.st_size, after.st_mtime_ns) != (size, mtime):
                # Written meanwhile: the copy may mix versions, and others would take it as this
                # one. Not published; the client asks again and gets the version then on disk.
                raise ChangedWhileCopied(errno.EAGAIN, "file changed while being read; ask again")
            try:
                os.link(temporary, name)
            except FileExistsError:
                theirs = _open_published(name, size)
                if theirs is not None:
                    os.close(fd)
                    return theirs
                return fd, None
            mine = os.fstat(fd)
            return fd, (mine.st_dev, mine.st_ino)
        except BaseException:
            os.close(fd)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _version_name(version: Version) -> str:
    size, mtime, inode, device = version
    return f"{device}-{inode}-{size}-{mtime}"


def _ours(status: os.stat_result) -> bool:
    return stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid()


def _open_published(name: Path, size: int) -> tuple[int, tuple[int, int]] | None:
    """The published copy ``name`` opened, with its identity; None when there is none. A file
    there that is not a regular file of ours of ``size`` bytes is removed, never mapped."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symbolic link (to the original, it would SIGBUS)
            with contextlib.suppress(OSError):
                os.unlink(name)
        if error.errno in (errno.ENOENT, errno.ELOOP):
            return None
        raise
    status = os.fstat(fd)
    if _ours(status) and status.st_size == size:
        return fd, (status.st_dev, status.st_ino)
    os.close(fd)
    _unpublish(name, (status.st_dev, status.st_ino))
    return None


def _unpublish(name: Path, identity: tuple[int, int]) -> None:
    """Remove ``name`` if it is still the file ``identity`` (another may have replaced it)."""
    with contextlib.suppress(OSError):
        status = os.lstat(name)
        if (status.st_dev, status.st_ino) == identity:
            os.unlink(name)


def _nothing() -> None:
    """Nothing to undo: the copy was never published."""


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
