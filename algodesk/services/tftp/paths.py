"""Confinement of requested names to the served root, and lookup with case fallback."""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from algodesk.core.events import RefusalReason

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PathRefused(Exception):
    """A request that must be answered with an error: ``reason`` says which.

    ``near`` names a file that matches the request but for case, when the server does not fall
    back to it (names are case-sensitive on the customer's server, guide §5.4).
    """

    def __init__(self, reason: RefusalReason, detail: str, near: str = "") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.near = near


# What an OS error while resolving or opening a name means to the client (tftpd-hpa maps errno
# the same way: ENOENT "file not found", EACCES "access violation"); other errors say busy.
_OS_REFUSALS = {
    errno.ENOENT: (RefusalReason.NOT_FOUND, "no such file"),
    errno.ENOTDIR: (RefusalReason.NOT_FOUND, "no such file"),
    errno.EISDIR: (RefusalReason.NOT_FOUND, "no such file"),
    errno.ENAMETOOLONG: (RefusalReason.NOT_FOUND, "file name too long"),
    errno.EACCES: (RefusalReason.ACCESS, "access violation"),
    errno.EPERM: (RefusalReason.ACCESS, "access violation"),
    errno.ELOOP: (RefusalReason.ACCESS, "too many symbolic links"),
}


def refusal_for(error: OSError) -> PathRefused:
    """The refusal an OS error met while serving a name stands for (never a traceback)."""
    known = _OS_REFUSALS.get(error.errno or 0)
    if known is not None:
        return PathRefused(*known)
    reason = (error.strerror or str(error)).lower()
    return PathRefused(RefusalReason.BUSY, reason)


@dataclass(frozen=True, slots=True)
class DiskMatch:
    """A file found under the root: its path, its name relative to the root, how it was found."""

    path: Path
    served: str
    case_fallback: bool


def split_name(name: str) -> tuple[str, ...]:
    """Check a requested name and split it into path components.

    ``\\`` counts as a separator; empty and ``.`` components are dropped. Raises ``PathRefused``
    (access) for control characters, absolute paths, drive letters or streams (``:``) and ``..``.
    """
    if _CONTROL.search(name):
        raise PathRefused(RefusalReason.ACCESS, "control character in file name")
    unified = name.replace("\\", "/")
    if unified.startswith("/"):
        raise PathRefused(RefusalReason.ACCESS, "absolute path")
    if ":" in unified:
        raise PathRefused(RefusalReason.ACCESS, "drive letter or ':' in file name")
    parts = tuple(part for part in unified.split("/") if part not in ("", "."))
    if ".." in parts:
        raise PathRefused(RefusalReason.ACCESS, "'..' in file name")
    if not parts:
        raise PathRefused(RefusalReason.NOT_FOUND, "no file name")
    return parts


def _lookup_casefold(folder: Path, part: str) -> str | None:
    wanted = part.casefold()
    try:
        with os.scandir(folder) as entries:
            matches = sorted(entry.name for entry in entries if entry.name.casefold() == wanted)
    except OSError:
        return None
    return matches[0] if matches else None


def near_by_case(root: Path, parts: tuple[str, ...]) -> str:
    """The file under ``root`` that ``parts`` names but for case ("" when none)."""
    folder, found_parts = root, []
    for part in parts:
        step = folder / part
        if not os.path.lexists(step):
            found = _lookup_casefold(folder, part)
            if found is None:
                return ""
            part, step = found, folder / found
        found_parts.append(part)
        folder = step
    if not folder.is_file():
        return ""
    return "/".join(found_parts)


def find_on_disk(root: Path, parts: tuple[str, ...], *, case_fallback: bool) -> DiskMatch:
    """The regular file ``parts`` names under ``root`` (already resolved).

    Symlinks are followed but the target must stay inside the root. Raises ``PathRefused``;
    without ``case_fallback``, a refusal for a file that exists but for case names it (``near``).
    """
    candidate = root.joinpath(*parts)
    served_parts = list(parts)
    used_fallback = False
    if not case_fallback and not os.path.lexists(candidate):
        near = near_by_case(root, parts)
        if near and Path(os.path.realpath(root / near)).is_relative_to(root):
            raise PathRefused(RefusalReason.NOT_FOUND, "no such file (names are exact)", near)
    if case_fallback and not os.path.lexists(candidate):
        folder = root
        for index, part in enumerate(parts):
            step = folder / part
            if not os.path.lexists(step):
                found = _lookup_casefold(folder, part)
                if found is None:
                    break
                served_parts[index] = found
                used_fallback = True
                step = folder / found
            folder = step
        candidate = root.joinpath(*served_parts)
    real = Path(os.path.realpath(candidate))
    if real != root and not real.is_relative_to(root):
        raise PathRefused(RefusalReason.ACCESS, "resolves outside the served folder")
    if not real.is_file():
        raise PathRefused(RefusalReason.NOT_FOUND, "no such file")
    return DiskMatch(real, "/".join(served_parts), used_fallback)


def open_confined(root: Path, match: DiskMatch) -> tuple[int, os.stat_result]:
    """Open the file ``match`` names and prove it is inside ``root``; returns the descriptor
    and its status (the version that is read: the callers need not ask again).

    ``find_on_disk`` checks a name, but a folder on the way may be swapped for a link to the
    outside before the open. Where the OS opens relative to a directory descriptor (Linux,
    macOS), the resolved name is walked from the root's descriptor one component at a time with
    ``O_NOFOLLOW``: a link put anywhere on the way fails the open (ELOOP/ENOTDIR), so there is
    no moment between check and open to race. Elsewhere (Windows, where a folder holding an
    open file cannot be renamed) the opened file is checked instead: the name must still
    resolve inside the root to this very file (same device and inode).

    Raises ``PathRefused`` (or ``OSError``, which ``refusal_for`` turns into one).
    """
    # Non-blocking: a FIFO put in place of the file must not hold the opener (refused below).
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    walk = _WALK_FLAGS is not None and match.path.is_relative_to(root)
    fd = _open_beneath(root, match.path, flags) if walk else os.open(match.path, flags)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise PathRefused(RefusalReason.NOT_FOUND, "no such file")
        if not walk:
            real = Path(os.path.realpath(match.path))
            if real != root and not real.is_relative_to(root):
                raise PathRefused(RefusalReason.ACCESS, "resolves outside the served folder")
            now = os.stat(real)
            if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
                raise PathRefused(RefusalReason.ACCESS, "resolves outside the served folder")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, opened


# Flags to walk a path one folder at a time without following links, where the OS can.
_WALK_FLAGS = (
    os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    if os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
    else None
)


def _open_beneath(root: Path, path: Path, flags: int) -> int:
    """Open ``path`` (resolved, under ``root``) from the root's descriptor, following no link."""
    assert _WALK_FLAGS is not None
    *folders, name = path.relative_to(root).parts
    current = os.open(root, _WALK_FLAGS & ~os.O_NOFOLLOW)
    try:
        for folder in folders:
            step = os.open(folder, _WALK_FLAGS, dir_fd=current)
            os.close(current)
            current = step
        return os.open(name, flags | os.O_NOFOLLOW, dir_fd=current)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            # The name was resolved without links: one met now was put there since.
            raise PathRefused(
                RefusalReason.ACCESS, "changed to a link while being opened"
            ) from None
        raise
    finally:
        os.close(current)
