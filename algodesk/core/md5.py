"""md5 files as Algo devices read them (domain.md §7).

Written as a bare lowercase hash and a newline by default; ``md5sum`` format (``hash  name``) on
request. Reading accepts both, in any case, with CRLF or trailing white space.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from algodesk.core.fileio import atomic_write

_HASH = re.compile(rb"^\s*([0-9A-Fa-f]{32})(?:\s+\*?(.*?))?\s*$", re.S)
_CHUNK = 1 << 20


def md5_hex(data: bytes) -> str:
    """Lowercase hex MD5 of ``data``."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path | str) -> str:
    """Lowercase hex MD5 of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def format_md5(hexdigest: str, filename: str | None = None, *, md5sum_style: bool = False) -> bytes:
    """The bytes of an md5 file for ``hexdigest``."""
    digest = hexdigest.lower()
    if md5sum_style:
        if not filename:
            raise ValueError("md5sum format needs the file name")
        return f"{digest}  {filename}\n".encode()
    return f"{digest}\n".encode()


def parse_md5(data: bytes) -> str | None:
    """The hash an md5 file holds (lowercase), or None if it holds none.

    Only the first non-empty line counts; it may be a bare hash or ``hash  name``.
    """
    for raw in data.splitlines():
        if raw.strip():
            match = _HASH.match(raw)
            return match.group(1).decode().lower() if match else None
    return None


def md5_name(filename: str) -> str:
    """The md5 file a device asks for: ``algop8188.conf`` -> ``algop8188.md5``."""
    stem, dot, _ext = filename.rpartition(".")
    return f"{stem}.md5" if dot else f"{filename}.md5"


def verify(md5_data: bytes, content: bytes) -> bool:
    """Whether ``md5_data`` (an md5 file's bytes) matches ``content``."""
    expected = parse_md5(md5_data)
    return expected is not None and expected == md5_hex(content)


def write_md5(path: Path | str, *, md5sum_style: bool = False) -> Path:
    """Write the md5 file beside ``path`` (atomically) and return its path."""
    path = Path(path)
    target = path.with_name(md5_name(path.name))
    atomic_write(target, format_md5(md5_file(path), path.name, md5sum_style=md5sum_style))
    return target
