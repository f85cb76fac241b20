"""Words for numbers, shared by the command line and the window: ``1 note``, ``3 notes``."""

from __future__ import annotations


def count(number: int, noun: str, plural: str = "") -> str:
    """``1 device``, ``3 devices`` (``plural`` for a noun that does not just take an ``s``)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


MEASURABLE_SECONDS = 0.1
"""Below this a transfer's duration is mostly timer noise: no speed is said for it."""


def measured_rate(size: int, seconds: float | None) -> float | None:
    """Bytes per second, or None when the transfer was too short to say (a 33-byte md5 file
    "in 0.00 s" has no meaningful speed)."""
    if seconds is None or seconds < MEASURABLE_SECONDS:
        return None
    return size / seconds
