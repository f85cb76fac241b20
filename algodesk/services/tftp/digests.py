"""md5 digests of served files, computed once per version and kept: generated ``.md5`` answers.

A device asks for ``X.md5`` on every boot; for a 2 GiB zip the digest took 3.5 s each time.
Digests are kept by path and version (size, mtime, inode, device), read in chunks from the file
(never mapped, never held whole), on the opener thread of the request that needs one. Engine
worker processes share what one of them computed (``SharedCopies.digest``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

from algodesk.services.tftp.snapshot import SharedCopies

KEPT = 1024
"""Digests remembered (a few KiB): far more files than any provisioning folder holds."""
_CHUNK = 1 << 20


class DiskDigests:
    """Lowercase hex md5 of files on disk, by version; safe to use from several threads."""

    def __init__(self, kept: int = KEPT, shared: SharedCopies | None = None) -> None:
        self._kept = kept
        self._shared = shared
        self._digests: OrderedDict[tuple[Path, int, int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def md5(self, path: Path, fd: int, before: os.stat_result) -> str:
        """The digest of the file open as ``fd`` (``path`` names it, for the memory; ``before``
        is its status when opened: ``paths.open_confined``).

        Raises:
            OSError: the system's reason, or EAGAIN when the file changed while it was read.
        """
        with open(os.dup(fd), "rb") as handle:
            key = (path, before.st_size, before.st_mtime_ns, before.st_ino, before.st_dev)
            with self._lock:
                known = self._digests.get(key)
                if known is not None:
                    self._digests.move_to_end(key)
                    return known
            version = (before.st_size, before.st_mtime_ns, before.st_ino, before.st_dev)
            shared = self._shared.digest(version) if self._shared is not None else None
            if shared is not None:
                self._remember(key, shared)
                return shared
            digest = hashlib.md5(usedforsecurity=False)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            after = os.fstat(handle.fileno())
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise OSError(errno.EAGAIN, "file changed while being read; ask again")
        value = digest.hexdigest()
        if self._shared is not None:
            self._shared.keep_digest(version, value)
        self._remember(key, value)
        return value

    def _remember(self, key: tuple[Path, int, int, int, int], value: str) -> None:
        with self._lock:
            self._digests[key] = value
            while len(self._digests) > self._kept:
                self._digests.popitem(last=False)
