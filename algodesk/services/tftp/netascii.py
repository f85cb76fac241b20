"""The netascii form of a file (RFC 764: LF -> CR LF, CR -> CR NUL), converted as it is sent.

Converting a whole file up front cost three times its size in memory and blocked the engine
(a 1 GiB file: 3 GiB, 11 s). Here an index of where each source chunk starts in the converted
form is built once per file version (one counting pass, on an opener thread), and a transfer
converts the few chunks its blocks fall in, keeping the last ones for the next blocks and for
retransmissions.
"""

from __future__ import annotations

import bisect
import mmap
from collections import OrderedDict

CHUNK = 1 << 16
"""Source bytes converted at a time; a block (at most 65,464 bytes) spans two chunks at most."""
_KEPT = 4


def converted_starts(source: bytes | mmap.mmap) -> list[int]:
    """Where each ``CHUNK`` of ``source`` starts in the netascii form; the last entry is the
    whole converted size."""
    view = memoryview(source)
    starts = [0]
    total = 0
    try:
        for offset in range(0, len(view), CHUNK):
            piece = bytes(view[offset : offset + CHUNK])
            total += len(piece) + piece.count(b"\n") + piece.count(b"\r")
            starts.append(total)
    finally:
        view.release()
    return starts


class NetasciiStream:
    """Slices of the netascii form of ``source`` (as a memoryview of it would give them)."""

    def __init__(self, source: bytes | mmap.mmap, starts: list[int]) -> None:
        """``starts`` comes from :func:`converted_starts` of this ``source``."""
        self._source = memoryview(source)
        self._starts = starts
        self._kept: OrderedDict[int, bytes] = OrderedDict()

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, item: slice) -> bytes:
        start, stop, _step = item.indices(len(self))
        pieces = []
        index = bisect.bisect_right(self._starts, start) - 1
        position = start
        while position < stop:
            base = self._starts[index]
            chunk = self._chunk(index)
            pieces.append(chunk[position - base : stop - base])
            position = base + len(chunk)
            index += 1
        return b"".join(pieces)

    def release(self) -> None:
        """Let go of the source (as ``memoryview.release``)."""
        self._kept.clear()
        self._source.release()

    def _chunk(self, index: int) -> bytes:
        chunk = self._kept.get(index)
        if chunk is None:
            raw = bytes(self._source[index * CHUNK : (index + 1) * CHUNK])
            chunk = raw.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")
            self._kept[index] = chunk
            if len(self._kept) > _KEPT:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(index)
        return chunk


Blocks = memoryview | NetasciiStream
"""What a transfer slices its blocks from: the file's bytes, or their netascii form."""
