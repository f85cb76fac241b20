"""Turning dirty rows into as few ``dataChanged`` ranges as possible."""

from __future__ import annotations

from collections.abc import Iterable


def contiguous_ranges(rows: Iterable[int], *, gap: int = 0) -> list[tuple[int, int]]:
    """Rows (any order, repeats allowed) -> sorted contiguous ``(first, last)`` ranges; ranges
    fewer than ``gap`` unchanged rows apart are joined (a repaint signal each costs more than
    rows said changed that did not)."""
    ranges: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if ranges and row <= ranges[-1][1] + 1 + gap:
            ranges[-1] = (ranges[-1][0], row)
        else:
            ranges.append((row, row))
    return ranges
