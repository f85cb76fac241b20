"""md5 files as Algo devices read them (domain.md §7, guide §5.5).

The vendor documents one form: the bare hash, copied into a file named like the checked file with
its extension replaced by ``.md5``. We write that (lowercase, a newline). People also make md5
files by hand in other forms; :func:`read_md5` names the form it finds so a check can say what to
do, and :func:`verify` only counts a form that starts with the hash (the vendor's, or ``md5sum``
output, which starts with it): a form the vendor does not document is never silently equal to it.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from algodesk.core.fileio import atomic_write

_HEX = rb"[0-9A-Fa-f]{32}"
_BARE = re.compile(rb"\s*(" + _HEX + rb")\s*")
_MD5SUM = re.compile(rb"\s*(" + _HEX + rb")[ \t]+\*?\S.*", re.S)
_BSD = re.compile(rb"\s*MD5 ?\(.*\) ?= ?(" + _HEX + rb")\s*", re.S)
_CERTUTIL = re.compile(
    rb"\s*MD5 hash of .*?:\s*((?:[0-9A-Fa-f]{2} ?){16})\s*(?:CertUtil:.*)?", re.S
)
_ANY_HASH = re.compile(rb"(?<![0-9A-Fa-f])(" + _HEX + rb")(?![0-9A-Fa-f])")
_CHUNK = 1 << 20


class Md5Form(StrEnum):
    """The shape of an md5 file's content."""

    BARE = "bare hash"
    MD5SUM = "md5sum output (hash and file name)"
    BSD = "macOS md5 output (MD5 (file) = hash)"
    CERTUTIL = "certutil output"
    BOM = "a UTF-8 byte-order mark before the hash (Notepad)"
    UTF16 = "UTF-16 text (PowerShell redirect)"
    NONE = "no MD5 hash (32 hex digits)"

    @property
    def starts_with_hash(self) -> bool:
        """Whether a device reading the file's first 32 bytes finds the hash there."""
        return self in (Md5Form.BARE, Md5Form.MD5SUM)


@dataclass(frozen=True, slots=True)
class Md5Reading:
    """What an md5 file holds: the hash (lowercase, None when there is none) and its form."""

    digest: str | None
    form: Md5Form

    @property
    def device_digest(self) -> str | None:
        """The hash a device finds: only a form that starts with it counts (see the module)."""
        return self.digest if self.form.starts_with_hash else None


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


def read_md5(data: bytes) -> Md5Reading:
    """The hash an md5 file holds and the form it is written in."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16").encode("ascii", "replace")
        except UnicodeDecodeError:
            return Md5Reading(None, Md5Form.NONE)
        return Md5Reading(_first_hash(text), Md5Form.UTF16)
    if data.startswith(codecs.BOM_UTF8):
        inner = read_md5(data[len(codecs.BOM_UTF8) :])
        return Md5Reading(inner.digest, Md5Form.BOM if inner.digest else Md5Form.NONE)
    for form, pattern in (
        (Md5Form.BARE, _BARE),
        (Md5Form.MD5SUM, _MD5SUM),
        (Md5Form.BSD, _BSD),
        (Md5Form.CERTUTIL, _CERTUTIL),
    ):
        if match := pattern.fullmatch(data):
            return Md5Reading(match.group(1).replace(b" ", b"").decode().lower(), form)
    return Md5Reading(None, Md5Form.NONE)


def _first_hash(text: bytes) -> str | None:
    match = _ANY_HASH.search(text.replace(b" ", b"") if b"hash of" in text else text)
    return match.group(1).decode().lower() if match else None


def parse_md5(data: bytes) -> str | None:
    """The hash a device finds in an md5 file (lowercase), or None.

    Only forms that start with the hash count (:attr:`Md5Form.starts_with_hash`).
    """
    return read_md5(data).device_digest


def md5_name(filename: str) -> str:
    """The md5 file a device asks for: ``algop8188.conf`` -> ``algop8188.md5`` (guide §5.4)."""
    stem, dot, _ext = filename.rpartition(".")
    return f"{stem}.md5" if dot else f"{filename}.md5"


def verify(md5_data: bytes, content: bytes) -> bool:
    """Whether ``md5_data`` (an md5 file's bytes) matches ``content`` as a device reads it."""
    expected = parse_md5(md5_data)
    return expected is not None and expected == md5_hex(content)


def write_md5(path: Path | str, *, md5sum_style: bool = False) -> Path:
    """Write the md5 file beside ``path`` (atomically) and return its path."""
    path = Path(path)
    target = path.with_name(md5_name(path.name))
    atomic_write(target, format_md5(md5_file(path), path.name, md5sum_style=md5sum_style))
    return target


def write_md5_in(folder: Path | str, relative: str) -> Path:
    """Write the md5 of ``folder/relative`` beside it; ``relative`` must stay inside ``folder``.

    What the GUI's "Write X.md5" does with a finding's or diagnosis's ``md5_for``. Raises
    ``ValueError`` for a name leading out of the folder, ``OSError`` when it cannot be written.
    """
    root = Path(folder).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise ValueError(f"{relative!r} is not a file in {root}")
    return write_md5(target)
