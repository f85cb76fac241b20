"""Atomic file writes: every file algodesk writes goes through here.

A provisioning folder is often read by someone else too (tftpd-hpa, a stage-2 web server running
as another user), so a save must not change who may read the file: replacing a file keeps its
mode (and its owner and group where we may set them); a new file gets the mode the umask (or the
folder's default ACL) gives any new file. Only files that hold a secret by their nature (an
explicit stage-1 export with a password) are written for the owner alone, on request.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from algodesk.core.readfile import Stamp, changed_since

SECRET_MODE = 0o600
"""The mode of a file written with ``secret=True``: read and write for its owner only."""


class SymlinkOutsideFolder(OSError):
    """The target is a symbolic link that leads out of its own folder; it is not followed."""


class ChangedWhileEditing(OSError):
    """The file is no longer the version that was read: replacing it would lose the change."""


def atomic_write(
    path: Path | str, data: bytes, *, secret: bool = False, if_unchanged: Stamp | None = None
) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, then replace.

    A crash (even ``kill -9``) leaves either the old file or the new one, never an empty or
    half-written one. A symbolic link inside the folder is written through (the link stays a
    link); one that leads out of the folder is refused with ``SymlinkOutsideFolder``.

    Args:
        path: the file to write.
        data: its whole new content.
        secret: the content holds a secret: the file is made readable by its owner only.
        if_unchanged: the stamp of the version read; when the file changed since (another
            program appended to it), nothing is written and ``ChangedWhileEditing`` is raised.
            Checked just before the replace, to keep the window as small as it can be.

    Returns:
        The path written (``path`` itself, even when it is a link).

    Raises:
        OSError: naming ``path`` (never the temporary file) and the system's reason.
    """
    path = Path(path)
    target = _write_target(path)
    try:
        existing: os.stat_result | None = target.stat()
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise _naming(error, path) from None
    tmp = _create_temp(target, path, SECRET_MODE if secret else 0o666)
    try:
        with os.fdopen(tmp[0], "wb") as handle:
            handle.write(data)
            handle.flush()
            if secret:
                _chmod(handle.fileno(), tmp[1], SECRET_MODE)
            elif existing is not None:
                _keep_owner_and_mode(handle.fileno(), tmp[1], existing)
            os.fsync(handle.fileno())
        if if_unchanged is not None and changed_since(target, if_unchanged):
            raise ChangedWhileEditing(0, "changed while editing; nothing written", str(path))
        os.replace(tmp[1], target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp[1])
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise
    _sync_folder(target.parent)
    return path


def _write_target(path: Path) -> Path:
    """The file to replace: ``path``, or where its symbolic link leads within the folder."""
    if not path.is_symlink():
        return path
    resolved = path.resolve()
    folder = path.parent.resolve()
    if not resolved.is_relative_to(folder):
        raise SymlinkOutsideFolder(
            0,
            f"is a link to {resolved}, outside its folder; not written through "
            "(write to the real file, or remove the link)",
            str(path),
        )
    return resolved


def _create_temp(target: Path, named: Path, mode: int) -> tuple[int, str]:
    """A new, exclusive temporary file beside ``target``; the kernel applies the umask to it."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _attempt in range(100):
        name = str(target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp"))
        try:
            return os.open(name, flags, mode), name
        except FileExistsError:
            continue
        except OSError as error:
            raise _naming(error, named) from None
    raise _naming(FileExistsError(17, "no free temporary file name"), named)


def _keep_owner_and_mode(fd: int, name: str, existing: os.stat_result) -> None:
    if hasattr(os, "fchown"):
        # Root may give the file back to its owner; anyone may keep a group they belong to.
        # Where neither is allowed the new file stays ours, which is what any editor does.
        with contextlib.suppress(OSError):
            os.fchown(fd, existing.st_uid, existing.st_gid)
        if existing.st_gid != os.fstat(fd).st_gid:
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, existing.st_gid)
    _chmod(fd, name, stat.S_IMODE(existing.st_mode))


def _chmod(fd: int, name: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before Python 3.13: only the read-only bit exists, by name.
        os.chmod(name, mode)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the system allows opening a folder."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _naming(error: OSError, path: Path) -> OSError:
    """The same error, naming the file the caller asked for instead of a temporary one."""
    if isinstance(error, SymlinkOutsideFolder):
        return error
    copy = type(error)(error.errno, error.strerror or str(error), str(path))
    return copy
