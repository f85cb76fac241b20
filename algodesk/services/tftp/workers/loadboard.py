"""Transfers in flight per engine, shared by a server's worker processes through one memory page.

Busy-polling (``busypoll``) is for a server with a single transfer in flight; a worker knows only
its own. Each worker writes its count into its slot and sums all slots. Counts are a byte each
(capped): only "one or more than one" is ever asked.
"""

from __future__ import annotations

import mmap
import os

SLOTS = 64


class LoadBoard:
    """One slot per engine; ``index`` is this engine's."""

    def __init__(self, fd: int, index: int) -> None:
        if not 0 <= index < SLOTS:
            raise ValueError(f"slot {index} out of 0..{SLOTS - 1}")
        self._map = mmap.mmap(fd, SLOTS)
        self._index = index

    @staticmethod
    def create() -> int:
        """A new board's descriptor (zeroed), to hand to the workers."""
        fd = os.memfd_create("algodesk-tftp-load", 0)
        os.ftruncate(fd, SLOTS)
        return fd

    def publish(self, count: int) -> None:
        """This engine's transfers in flight."""
        self._map[self._index] = min(count, 255)

    def total(self) -> int:
        """Transfers in flight in every engine of the server."""
        return sum(self._map[:SLOTS])

    def close(self) -> None:
        """Unmap the board."""
        self._map.close()
