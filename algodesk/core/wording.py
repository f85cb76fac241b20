"""Words for numbers, shared by the command line and the window: ``1 note``, ``3 notes``."""

from __future__ import annotations


def count(number: int, noun: str, plural: str = "") -> str:
    """``1 device``, ``3 devices`` (``plural`` for a noun that does not just take an ``s``)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
