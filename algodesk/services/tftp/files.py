"""What the engine serves: a shared read-once file cache, virtual files and generated md5 files.

A file served to many devices at once is read (or, when big, copied privately and the copy
mapped: snapshot.py) once; every transfer slices the same buffer. Entries are keyed by path, size, mtime and inode, so an edited file is read
again while transfers of the old version finish on the old bytes. With engine worker processes,
files from ``SHARE_FROM`` bytes are mapped from one copy for all workers (``SharedCopies``).
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from algodesk.core import md5 as md5_files
from algodesk.core.events import RefusalReason, Source
from algodesk.services.tftp.digests import DiskDigests
from algodesk.services.tftp.netascii import NetasciiStream, converted_starts
from algodesk.services.tftp.paths import (
    DiskMatch,
    PathRefused,
    find_on_disk,
    open_confined,
    refusal_for,
    split_name,
)
from algodesk.services.tftp.snapshot import (
    ChangedWhileCopied,
    SharedCopies,
    Version,
    map_private_copy,
)

_T = TypeVar("_T")
log = logging.getLogger(__name__)
KEPT_COPIES = 2
"""Private copies of big files (``snapshot``) kept while no transfer reads them. Copying one
again costs a full read and write of the file (256 MiB: 76 ms of an opener thread and as much
written to disk) and a bench asks for one firmware device after device. They take disk space,
not memory, and go when their file changes, beyond the newest few, and when the server stops."""
SHARE_FROM = 1 << 20
"""With worker processes, files from this size are served from the workers' one shared copy
instead of being read whole by each of them (a 50 MB firmware held once, not once a worker)."""
_MD5_CANDIDATE_EXTENSIONS = (".conf", ".zip", ".db", ".txt")
_FIRMWARE_EXTENSIONS = (".sfw", ".fw")


class Content:
    """Bytes of one version of a file, shared by every transfer serving it."""

    __slots__ = (
        "_md5",
        "_netascii_starts",
        "_on_close",
        "data",
        "key",
        "mapped",
        "secret",
        "size",
        "users",
    )

    def __init__(
        self,
        data: bytes | mmap.mmap,
        key: tuple[int, ...] = (),
        *,
        secret: bool = False,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.data = data
        self._on_close = on_close
        """Called once when the cache drops this content (a shared copy's name goes)."""
        self.secret = secret
        """Whether the bytes hold (or are a digest of) a secret: no digest of them is shown."""
        self.size = len(data)
        self.key = key
        self.mapped = isinstance(data, mmap.mmap)
        self.users = 0
        """Transfers reading this content (counted by the disk cache)."""
        self._md5: str | None = None
        self._netascii_starts: list[int] | None = None

    def md5(self) -> str:
        """Lowercase hex md5 of the bytes (computed once)."""
        if self._md5 is None:
            self._md5 = md5_files.md5_hex(self.data)  # type: ignore[arg-type]
        return self._md5

    def prepare_netascii(self) -> None:
        """Index the netascii form (one pass; done on an opener thread, not the engine's)."""
        if self._netascii_starts is None:
            self._netascii_starts = converted_starts(self.data)

    def netascii(self) -> NetasciiStream:
        """The bytes as netascii (LF -> CR LF, CR -> CR NUL), converted as they are sliced."""
        self.prepare_netascii()
        assert self._netascii_starts is not None
        return NetasciiStream(self.data, self._netascii_starts)

    def close(self) -> None:
        """Unmap a mapped file; views still alive keep it until they are released."""
        if isinstance(self.data, mmap.mmap):
            with contextlib.suppress(BufferError):
                self.data.close()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()


@dataclass(frozen=True, slots=True)
class Opened:
    """A request resolved to bytes: what is served, from where, and how it was found."""

    content: Content
    served: str
    source: Source
    case_fallback: bool = False
    cached: bool = True
    """Whether ``content`` belongs to the disk cache (and must be released to it)."""

    def shown_md5(self, limit: int) -> str:
        """The md5 a transfer-started event shows: none for a secret (its digest would verify
        guesses of it), the digest a generated md5 file holds, else the bytes' own md5 up to
        ``limit`` bytes (computed once per version: the opener thread asks first)."""
        content = self.content
        if content.secret:
            return ""
        if self.source is Source.AUTO_MD5:
            return bytes(content.data).strip().decode("ascii")
        return content.md5() if content.size <= limit else ""


class FileCache:
    """Disk files read once and shared; unused files stay cached up to a byte budget (the
    private copies of big files: up to ``KEPT_COPIES`` of them).

    Opened on the engine's opener thread (``opener``), released on the engine thread: the
    bookkeeping is under a lock, the read itself is not (the engine never waits for a disk).
    """

    def __init__(
        self, *, mmap_threshold: int, cache_bytes: int, shared: SharedCopies | None = None
    ) -> None:
        self._mmap_threshold = mmap_threshold
        self.shared = shared
        """The worker processes' shared copies (None: one engine, every copy its own)."""
        self._share_from = min(mmap_threshold, SHARE_FROM)
        self._cache_bytes = cache_bytes
        self._current: dict[Path, Content] = {}
        self._idle: OrderedDict[Path, Content] = OrderedDict()
        self._idle_bytes = 0  # of the files read into memory (the copies are counted apart)
        self._idle_copies: OrderedDict[Path, Content] = OrderedDict()
        self._lock = threading.Lock()
        self._reading: dict[Path, threading.Event] = {}  # paths being read, by one thread each

    def open(self, path: Path, fd: int, status: os.stat_result) -> Content:
        """The content of the file open as ``fd`` (``path``, opened and checked by
        ``paths.open_confined``, which gives its ``status``), counted as used until ``release``.
        The version and the bytes are that open file's, never whatever the name leads to by now.

        Many devices ask for the same firmware at once: one thread reads it, the others wait
        for that read and share it (never a copy per opener thread).
        """
        while True:
            key = (status.st_size, status.st_mtime_ns, status.st_ino, status.st_dev)
            with self._lock:
                content = self._current.get(path)
                if content is not None and content.key == key:
                    self._take_idle(path)
                    content.users += 1
                    return content
                reading = self._reading.get(path)
                if reading is None:
                    reading = self._reading[path] = threading.Event()
                    break
            reading.wait()
            status = os.fstat(fd)  # then look again: read by now, or changed meanwhile
        try:
            fresh = self._read(path, key, fd)
            with self._lock:
                content = self._current.get(path)
                if content is not None:
                    self._forget(path, content)
                self._current[path] = fresh
                fresh.users += 1
                return fresh
        finally:
            with self._lock:
                del self._reading[path]
            reading.set()

    def release(self, path: Path, content: Content) -> None:
        """One transfer of ``content`` ended."""
        with self._lock:
            self._release(path, content)

    def _release(self, path: Path, content: Content) -> None:
        content.users -= 1
        if content.users > 0:
            return
        if self._current.get(path) is not content:
            content.close()
        elif isinstance(content.data, mmap.mmap):
            if hasattr(mmap, "MADV_DONTNEED"):
                # Out of this process's resident pages; the copy's pages stay in the page cache.
                content.data.madvise(mmap.MADV_DONTNEED)
            self._idle_copies[path] = content
            while len(self._idle_copies) > KEPT_COPIES:
                self._drop_idle(next(iter(self._idle_copies)))
        else:
            self._idle[path] = content
            self._idle_bytes += content.size
            self._evict()

    def users(self) -> int:
        """Transfers currently holding a cached file (for tests and stats)."""
        with self._lock:
            return sum(content.users for content in self._current.values())

    def clear(self) -> None:
        """Drop every idle entry (used files are dropped when released)."""
        with self._lock:
            for path in [*self._idle, *self._idle_copies]:
                self._drop_idle(path)

    def _read(self, path: Path, key: Version, fd: int) -> Content:
        with open(os.dup(fd), "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if self.shared is not None and size >= self._share_from and size == key[0] > 0:
                try:
                    data, unpublish = self.shared.map(handle.fileno(), key)
                    return Content(data, key, on_close=unpublish)
                except ChangedWhileCopied:
                    raise
                except OSError as error:  # no room where the copies go: this worker's own
                    log.warning(
                        "tftp: no shared copy of %s (%s); copying it privately", path, error
                    )
            if size >= self._mmap_threshold and size > 0:
                # Never the original: truncated in place by another program, it would SIGBUS.
                return Content(map_private_copy(handle.fileno(), size, path.parent), key)
            return Content(handle.read(), key)

    def _forget(self, path: Path, content: Content) -> None:
        if path in self._idle or path in self._idle_copies:
            self._drop_idle(path)
        else:
            del self._current[path]
            if content.users == 0:
                content.close()

    def _take_idle(self, path: Path) -> Content | None:
        """Take ``path`` off the idle lists (used again, or dropped); None when not idle."""
        content = self._idle_copies.pop(path, None)
        if content is None:
            content = self._idle.pop(path, None)
            if content is not None:
                self._idle_bytes -= content.size
        return content

    def _drop_idle(self, path: Path) -> None:
        content = self._take_idle(path)
        assert content is not None
        if self._current.get(path) is content:
            del self._current[path]
        content.close()

    def _evict(self) -> None:
        while self._idle_bytes > self._cache_bytes and self._idle:
            self._drop_idle(next(iter(self._idle)))


class VirtualFiles:
    """In-memory files keyed by normalised name; safe to change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, Content] = {}

    def set(self, name: str, data: bytes) -> str:
        """Register ``data`` under ``name``; returns the normalised name. Raises ``ValueError``."""
        try:
            key = "/".join(split_name(name))
        except PathRefused as error:
            raise ValueError(f"not a servable name {name!r}: {error.detail}") from None
        with self._lock:
            # Files served from memory are the ones holding secrets (stage-1 configs and their
            # md5 files): their digests would be password verifiers.
            self._files[key] = Content(bytes(data), secret=True)
        return key

    def remove(self, name: str) -> None:
        """Forget ``name`` (no error when absent)."""
        with contextlib.suppress(PathRefused), self._lock:
            self._files.pop("/".join(split_name(name)), None)

    def clear(self) -> None:
        """Forget every virtual file."""
        with self._lock:
            self._files.clear()

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            return sorted(self._files)

    def data(self, name: str) -> bytes:
        """The bytes registered under the normalised ``name`` (KeyError when absent)."""
        with self._lock:
            return bytes(self._files[name].data)

    def near(self, key: str) -> str:
        """A registered name equal to ``key`` but for case ("" when none)."""
        found = self.find(key, case_fallback=True)
        return found[0] if found is not None and found[0] != key else ""

    def find(self, key: str, *, case_fallback: bool) -> tuple[str, Content] | None:
        """The name and content registered for ``key`` (exact, then case-insensitive)."""
        with self._lock:
            content = self._files.get(key)
            if content is not None:
                return key, content
            if case_fallback:
                wanted = key.casefold()
                for name in sorted(self._files):
                    if name.casefold() == wanted:
                        return name, self._files[name]
        return None


class FileStore:
    """Resolves requested names to content: virtual files, then disk, then generated md5."""

    def __init__(self, cache: FileCache, virtual: VirtualFiles) -> None:
        self.cache = cache
        self.virtual = virtual
        self.digests = DiskDigests(shared=cache.shared)

    def open(
        self,
        root: Path | None,
        name: str,
        *,
        case_fallback: bool,
        auto_md5: bool,
        auto_md5_firmware: bool,
        netascii: bool = False,
    ) -> tuple[Opened, Path | None]:
        """Resolve ``name``; returns what to serve and the disk path to release it with.

        With ``netascii``, the content's netascii index is built here too (off the engine).
        """
        parts = split_name(name)
        try:
            opened, path = self._open_plain(root, parts, case_fallback)
        except PathRefused as refused:
            wanted_md5 = parts[-1].lower().endswith(".md5")
            generated = None
            if refused.reason is RefusalReason.NOT_FOUND and auto_md5 and wanted_md5:
                generated = self._generate_md5(root, parts, case_fallback, auto_md5_firmware)
            if generated is None:
                raise
            opened, path = generated, None
        if netascii:
            try:
                opened.content.prepare_netascii()
            except BaseException:
                if path is not None:
                    self.cache.release(path, opened.content)
                raise
        return opened, path

    def _open_plain(
        self, root: Path | None, parts: tuple[str, ...], case_fallback: bool
    ) -> tuple[Opened, Path | None]:
        found = self.virtual.find("/".join(parts), case_fallback=case_fallback)
        if found is not None:
            served, content = found
            opened = Opened(content, served, Source.VIRTUAL, served != "/".join(parts), False)
            return opened, None
        near = "" if case_fallback else self.virtual.near("/".join(parts))
        if near:
            raise PathRefused(RefusalReason.NOT_FOUND, "no such file (names are exact)", near)
        match, content = _read_on_disk(root, parts, case_fallback, self.cache.open)
        return Opened(content, match.served, Source.DISK, match.case_fallback), match.path

    def _generate_md5(
        self, root: Path | None, parts: tuple[str, ...], case_fallback: bool, firmware: bool
    ) -> Opened | None:
        stem = parts[-1][: -len(".md5")]
        if not stem:
            return None
        if stem.lower().endswith(tuple(_MD5_CANDIDATE_EXTENSIONS + _FIRMWARE_EXTENSIONS)):
            candidates = [stem]
        else:
            extensions = _MD5_CANDIDATE_EXTENSIONS + (_FIRMWARE_EXTENSIONS if firmware else ())
            candidates = [stem + extension for extension in extensions]
        for candidate in candidates:
            if candidate.lower().endswith(_FIRMWARE_EXTENSIONS) and not firmware:
                continue
            try:
                digest, served, fallback, secret = self._digest(
                    root, (*parts[:-1], candidate), case_fallback
                )
            except PathRefused:
                continue
            served_parts = served.split("/")
            served_parts[-1] = md5_files.md5_name(served_parts[-1])
            if candidate == stem:
                served_parts[-1] = f"{served.split('/')[-1]}.md5"
            return Opened(
                Content(md5_files.format_md5(digest), secret=secret),
                "/".join(served_parts),
                Source.AUTO_MD5,
                fallback,
                False,
            )
        return None

    def _digest(
        self, root: Path | None, parts: tuple[str, ...], case_fallback: bool
    ) -> tuple[str, str, bool, bool]:
        """The md5 of the file ``parts`` names, what it is served as, whether found by case
        fallback, and whether it holds a secret. A disk file's digest is kept by version."""
        found = self.virtual.find("/".join(parts), case_fallback=case_fallback)
        if found is not None:
            served, content = found
            return content.md5(), served, served != "/".join(parts), content.secret
        match, digest = _read_on_disk(root, parts, case_fallback, self.digests.md5)
        return digest, match.served, match.case_fallback, False


def _read_on_disk(
    root: Path | None,
    parts: tuple[str, ...],
    case_fallback: bool,
    read: Callable[[Path, int, os.stat_result], _T],
) -> tuple[DiskMatch, _T]:
    """Find the file ``parts`` names under ``root``, open it confined (``open_confined``) and
    ``read(path, fd, status)`` it; every OS error becomes the refusal it stands for."""
    if root is None:
        raise PathRefused(RefusalReason.NOT_FOUND, "no such file (no folder served)")
    try:
        match = find_on_disk(root, parts, case_fallback=case_fallback)
        fd, status = open_confined(root, match)
    except OSError as error:
        raise refusal_for(error) from None
    try:
        return match, read(match.path, fd, status)
    except OSError as error:
        raise refusal_for(error) from None
    finally:
        os.close(fd)
