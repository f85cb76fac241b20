"""Short human spellings of times, sizes and speeds for table cells."""

from __future__ import annotations

import time
from functools import lru_cache

from algodesk.core.names import MacError, format_mac
from algodesk.core.wording import count

__all__ = ["ago", "clock", "count", "duration", "listening_on", "mac", "size", "speed", "stamp"]


def clock(when: float) -> str:
    """``14:03:27`` in local time."""
    return time.strftime("%H:%M:%S", time.localtime(when))


def stamp(when: float) -> str:
    """``2026-05-09 14:03:27`` in local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


def size(count: int | None) -> str:
    """``812 B``, ``14.2 KB``, ``31.0 MB`` (decimal units, as file managers show)."""
    if count is None:
        return ""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def speed(per_second: float | None) -> str:
    """``1.2 MB/s``."""
    return "" if per_second is None else f"{size(round(per_second))}/s"


def ago(when: float, now: float) -> str:
    """``just now``, ``42 s ago``, ``3 min ago``, or the clock time when older than an hour."""
    seconds = max(0.0, now - when)
    if seconds < 2:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    return clock(when)


@lru_cache(maxsize=4096)
def mac(bare: str) -> str:
    """``00:22:EE:01:02:03`` (or the input when it is not a MAC)."""
    try:
        return format_mac(bare)
    except MacError:
        return bare


def duration(seconds: float | None) -> str:
    """``0.42 s``."""
    return "" if seconds is None else f"{seconds:.2f} s"


def listening_on(address: str) -> str:
    """``all interfaces`` for a wildcard bind address, else the address itself."""
    return "all interfaces" if address in ("", "0.0.0.0", "::") else address
